"""The device under test: one board variant, its target, and the link to its firmware.

`Dut.open()` is the whole walking skeleton: load the board file, build the firmware, boot it in
an emulator or reach the real board, wait for the firmware and shake hands. Tests, the CLI and
later services (inference, training, benchmarks) talk to the firmware through a Dut.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import build as firmware_build
from .boards import Board, Variant, load_board
from .errors import DeviceTimeout, HarnessError, LinkError, TargetError
from .farm.claim import Claim, claim_board
from .link import protocol
from .link.client import DEFAULT_TIMEOUT_S, Link
from .link.protocol import MessageType
from .progress import Progress
from .targets.base import Capabilities, Target, TargetOptions
from .targets.registry import REAL_BOARD, target_class

BOOT_TIMEOUT_S = 10.0
REAL_BOARD_ANSWER_S = 3.0  # how long a real board may take to answer its first HELLO
HELLO_RETRY_S = 0.5


@dataclass(frozen=True)
class HelloInfo:
    """The firmware's handshake."""

    protocol_version: int
    board: str
    build_id: str
    core_clock_hz: int
    flash_size: int
    sram_size: int
    model_slot_addr: int
    model_slot_size: int
    timer_kind: str  # "cycles" or "instructions"
    timer_units_per_tick: int
    max_payload: int
    max_message: int

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> HelloInfo:
        kind = "cycles" if reply["timer_kind"] == protocol.CONSTANTS["TIMER_KIND_CYCLES"] else "instructions"
        fields = {k: v for k, v in reply.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "timer_kind": kind})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Dut:
    def __init__(self, board: Board, variant: Variant, target: Target, link: Link):
        self.board, self.variant, self.target, self.link = board, variant, target, link
        self.info: HelloInfo | None = None
        self.claim: Claim | None = None
        self.progress = Progress.quiet()  # where long work on this device reports (bars, steps)

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        board: str | Board,
        emulator: str = "qemu",
        port: str | None = None,
        baud: int | None = None,
        probe_serial: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        progress: Progress | None = None,
        extra_flags: list[str] | None = None,
        qemu_args: Callable[[firmware_build.Firmware], list[str]] | None = None,
        lock_timeout: float | None = None,
        place: str | None = None,
        coordinator: str | None = None,
        slot_image: bytes | None = None,
        firmware: firmware_build.Firmware | None = None,
    ) -> Dut:
        """`slot_image`: the flash model slot's content from boot, on a target that preloads it
        (its capability `preloads_model_slot`; the target removes its copy when closed).
        `qemu_args(firmware)`: more emulator arguments made from the built firmware (the QEMU
        plugin's, which name the ELF). `firmware`: a firmware of the user's own, built elsewhere
        (docs/byo_firmware.md), which an emulator boots instead of building the harness's."""
        board = load_board(board) if isinstance(board, str) else board
        progress = progress or Progress.quiet()
        if slot_image is not None:  # refused before a board is claimed or a firmware built
            _check_preloads(board, REAL_BOARD if place else emulator)
        # one session per real board or labgrid place (harness.farm); a place is a real board
        claim = claim_board(board, emulator, port, probe_serial, place, coordinator, lock_timeout, progress.say)
        emulator, port = (REAL_BOARD, claim.port) if claim else (emulator, port)
        variant = board.variant(emulator)
        options = TargetOptions(port, baud, probe_serial, extra_flags, qemu_args, slot_image, firmware)
        target: Target | None = None
        try:
            target = _make_target(board, variant, options, progress)
            with progress.step(f"connecting to {board.name} ({target.where()})"):
                transport = target.start()
        except BaseException:
            if target:
                target.stop()  # a QEMU that did not connect, its work folder and slot image
            if claim:
                claim.release()
            raise
        dut = cls(board, variant, target, Link(transport, board.name, timeout, on_closed=target.exit_reason))
        dut.claim, dut.progress = claim, progress
        try:
            dut._handshake(wait_ready=dut.capabilities.emulated)
        except BaseException:
            dut.close()
            raise
        return dut

    def _handshake(self, wait_ready: bool) -> None:
        if wait_ready:  # an emulator starts the firmware only once we are connected
            self.link.wait_for(MessageType["READY"], BOOT_TIMEOUT_S)
            self.info = self.hello()
        else:
            self.info = self._hello_with_retries()
        if self.info.protocol_version != protocol.VERSION:
            raise LinkError(
                f"board {self.board.name} speaks link protocol v{self.info.protocol_version}, "
                f"this harness v{protocol.VERSION}: rebuild and flash the firmware"
            )
        self.link.max_payload = self.info.max_payload
        self.link.max_message = self.info.max_message

    def _hello_with_retries(self) -> HelloInfo:
        """A board that just reset drops what arrives before its UART is on: ask again."""
        deadline = time.monotonic() + REAL_BOARD_ANSWER_S
        while True:
            try:
                return HelloInfo.from_reply(self.link.call("HELLO", timeout=HELLO_RETRY_S))
            except DeviceTimeout:
                if time.monotonic() >= deadline:
                    raise TargetError(
                        f"board {self.board.name} does not answer on {self.target.where()}: is the "
                        f"harness firmware flashed? Run: hil flash --board {self.board.name}"
                    ) from None

    @property
    def capabilities(self) -> Capabilities:
        """What this device's target can do (harness/targets/base.py)."""
        return self.target.capabilities(self.board)

    # -- requests ------------------------------------------------------------------------------

    def hello(self) -> HelloInfo:
        return HelloInfo.from_reply(self.link.call("HELLO"))

    def echo(self, data: bytes) -> bytes:
        return self.link.call("ECHO", data=data)["data"]

    def discard(self, data: bytes) -> int:
        return self.link.call("DISCARD", data=data)["length"]

    def link_stats(self) -> dict[str, int]:
        return self.link.call("LINK_STATS")

    def reset(self) -> None:
        """Resets the firmware through the link and waits until it is ready again."""
        self.link.call("RESET")
        self.link.wait_for(MessageType["READY"], BOOT_TIMEOUT_S)
        self.info = self.hello()

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        self.target.stop()
        if self.claim:
            self.claim.release()

    def __enter__(self) -> Dut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {
            "board": self.board.name,
            "emulator": self.variant.emulator,
            "machine": self.variant.machine,
            "stand_in": self.variant.stand_in,
            **(self.info.as_dict() if self.info else {}),
        }


def _check_preloads(board: Board, emulator: str) -> None:
    if not target_class(emulator).capabilities(board).preloads_model_slot:
        raise HarnessError(
            f"--emulator={emulator} cannot load the flash model slot at boot (qemu "
            f"can); on {board.name} stream the model into RAM instead, or write the "
            f"slot with `hil flash --model`"
        )


def _make_target(board: Board, variant: Variant, options: TargetOptions, progress: Progress) -> Target:
    return target_class(variant.emulator).create(board, variant, options, progress)


__all__ = ["Dut", "HarnessError", "HelloInfo"]
