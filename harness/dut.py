"""The device under test: one board variant, its target, and the link to its firmware.

`Dut.open()` is the whole walking skeleton: load the board file, build the firmware, boot it in
an emulator or reach the real board, wait for the firmware and shake hands. Tests, the CLI and
later services (inference, training, benchmarks) talk to the firmware through a Dut.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from . import build as firmware_build
from .boards import Board, Variant, load_board
from .errors import DeviceTimeout, HarnessError, LinkError, TargetError
from .farm.claim import Claim, claim_board
from .link import protocol
from .link.client import DEFAULT_TIMEOUT_S, Link
from .link.protocol import MessageType
from .progress import Progress
from .targets.qemu import QemuTarget
from .targets.renode import RenodeTarget
from .targets.renode import install_hint as renode_install_hint
from .targets.serial_port import SerialTarget
from .targets.transport import SerialTransport

BOOT_TIMEOUT_S = 10.0
REAL_BOARD_ANSWER_S = 3.0  # how long a real board may take to answer its first HELLO
HELLO_RETRY_S = 0.5


class Target(Protocol):
    def start(self) -> SerialTransport: ...
    def stop(self) -> None: ...
    def reset(self) -> None: ...
    def exit_reason(self) -> str: ...


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
        firmware: firmware_build.Firmware | None = None,
    ) -> Dut:
        board = load_board(board) if isinstance(board, str) else board
        progress = progress or Progress.quiet()
        # one session per real board or labgrid place (harness.farm); a place is a real board
        claim = claim_board(board, emulator, port, probe_serial, place, coordinator, lock_timeout, progress.say)
        emulator, port = ("none", claim.port) if claim else (emulator, port)
        variant = board.variant(emulator)
        try:
            target = _make_target(board, variant, port, baud, probe_serial, progress, extra_flags, qemu_args,
                                  firmware)
            with progress.step(f"connecting to {board.name} ({_where(variant, target)})"):
                transport = target.start()
        except BaseException:
            if claim:
                claim.release()
            raise
        dut = cls(board, variant, target, Link(transport, board.name, timeout, on_closed=target.exit_reason))
        dut.claim, dut.progress = claim, progress
        try:
            dut._handshake(wait_ready=emulator != "none")
        except BaseException:
            dut.close()
            raise
        return dut

    def _handshake(self, wait_ready: bool) -> None:
        if wait_ready:  # an emulator starts the firmware only once we are connected
            self.link.wait_for(MessageType.READY, BOOT_TIMEOUT_S)
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
                        f"board {self.board.name} does not answer on {self.target.port}: is the "
                        f"harness firmware flashed? Run: hil flash --board {self.board.name}"
                    ) from None

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
        self.link.wait_for(MessageType.READY, BOOT_TIMEOUT_S)
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


def _make_target(board: Board, variant: Variant, port: str | None, baud: int | None,
                 probe_serial: str | None, progress: Progress, extra_flags: list[str] | None = None,
                 qemu_args: Callable[[firmware_build.Firmware], list[str]] | None = None,
                 prebuilt: firmware_build.Firmware | None = None) -> Target:
    """`prebuilt`: a firmware of the user's own (docs/byo_firmware.md) instead of the harness's."""
    if variant.emulator == "none":
        return SerialTarget(board, port, baud, probe_serial)
    if variant.emulator == "renode":
        if shutil.which("renode") is None:
            raise TargetError(renode_install_hint())
        return RenodeTarget(board, variant, prebuilt or firmware_build.build(board, "renode", progress, extra_flags))
    firmware = prebuilt or firmware_build.build(board, variant.emulator, progress, extra_flags)
    return QemuTarget(board, variant, firmware, extra_args=qemu_args(firmware) if qemu_args else None)


def _where(variant: Variant, target: Target) -> str:
    if variant.emulator == "none":
        return getattr(target, "port", "serial")
    return f"{variant.emulator} {variant.machine}"


__all__ = ["Dut", "HelloInfo", "HarnessError"]
