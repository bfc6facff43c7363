"""The Target interface: where a firmware runs, what it can do there, and how it is opened.

A target is one way to run a board's firmware: a real board on a serial port, QEMU, Renode.
`harness.dut.Dut` opens one through the registry (harness/targets/registry.py) and talks to the
firmware over the byte stream `start()` returns; everything else asks the target's declared
`Capabilities` instead of testing its name. A new target is one module with a `Target` subclass
plus one registry entry (docs/targets.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..boards import Board, Variant
    from ..build import Firmware
    from ..progress import Progress
    from .transport import SerialTransport

FLASH_AT_BOOT, FLASH_WITH_FLASHER = "boot", "flasher"
CAPABILITY_TEXT = {  # for skip reasons: "needs a target that ..."
    "emulated": "is emulated (a fresh instance per open)",
    "preloads_model_slot": "loads the flash model slot at boot (qemu)",
    "counts_instructions": "counts instructions (qemu on Arm)",
    "needs_claim": "is a real board",
    "can_reset": "resets the machine from outside the firmware",
}


@dataclass(frozen=True)
class Capabilities:
    """What a target can do for one board (QEMU's AVR machine, say, counts no instructions)."""

    emulated: bool  # a private instance per open: the firmware starts once the harness is connected
    preloads_model_slot: bool  # takes the flash model slot's image at boot (Dut.open(slot_image=...))
    counts_instructions: bool  # deterministic instruction counts (QEMU's -icount and its TCG plugin)
    needs_claim: bool  # a shared real board: claimed for the session first (harness/farm/claim.py)
    can_reset: bool  # target.reset(): reset from outside the firmware (an emulator's machine reset)
    flash: str  # how firmware gets there: "boot" (loaded when it starts) or "flasher" (board's upload.command)

    def has(self, name: str) -> bool:
        if name not in CAPABILITY_TEXT:
            raise ValueError(f"unknown target capability {name!r}; known: {', '.join(CAPABILITY_TEXT)}")
        return bool(getattr(self, name))


@dataclass(frozen=True)
class TargetOptions:
    """What `Dut.open` hands a target; each takes the fields that concern it."""

    port: str | None = None  # a real board's serial port or pyserial URL
    baud: int | None = None
    probe_serial: str | None = None
    extra_flags: list[str] | None = None  # compiler flags of a firmware variant
    extra_args: Callable[[Firmware], list[str]] | None = None  # emulator arguments made from the firmware
    slot_image: bytes | None = None  # the flash model slot's content at boot (preloads_model_slot)
    firmware: Firmware | None = None  # a firmware built elsewhere (the user's) instead of the harness's


class Target(ABC):
    """One running firmware and the byte stream to it."""

    name: ClassVar[str]  # the --emulator value that selects it ("none" for a real board)
    label: ClassVar[str] = ""  # what `hil boards` calls it, when not its name
    board: Board
    transport: SerialTransport | None

    @classmethod
    @abstractmethod
    def capabilities(cls, board: Board) -> Capabilities: ...

    @classmethod
    @abstractmethod
    def create(cls, board: Board, variant: Variant, options: TargetOptions, progress: Progress) -> Target:
        """Builds what the target runs (a firmware) and returns it, not started yet."""

    @classmethod
    def availability(cls, board: Board) -> str:
        """One phrase for `hil boards`: can this board run on this target on this machine now."""
        return "available"

    @classmethod
    def missing_optional_tool(cls) -> str | None:
        """Why this optional target cannot run here (its program is not installed), or None."""
        return None

    @abstractmethod
    def start(self) -> SerialTransport: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def exit_reason(self) -> str:
        """A sentence for error messages: why the firmware stopped answering, or ""."""

    def where(self) -> str:
        """Where the firmware runs, for the "connecting to ..." step."""
        return self.name
