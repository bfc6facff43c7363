"""A real board on a serial port: found by its probe's USB IDs, or named by --port / a URL."""

from __future__ import annotations

import shutil
import time

from serial.tools import list_ports

from ..boards import Board, Variant
from ..errors import NoBoardFound, TargetError
from ..progress import Progress
from .base import FLASH_WITH_FLASHER, Capabilities, Target, TargetOptions
from .transport import SerialTransport

URL_SCHEMES = ("socket://", "rfc2217://")
NETWORK_CONNECT_S = 5.0


def _usb_id(board: Board) -> str:
    return f"{board.usb_vid:04X}:{board.usb_pid:04X}"


def find_ports(board: Board, probe_serial: str | None = None) -> list[str]:
    """Serial ports whose USB IDs (and serial number, if given) match the board's probe."""
    if board.usb_vid is None:
        return []
    return sorted(
        port.device
        for port in list_ports.comports()
        if port.vid == board.usb_vid
        and port.pid == board.usb_pid
        and (probe_serial is None or port.serial_number == probe_serial)
    )


def resolve_port(board: Board, port: str | None, probe_serial: str | None = None) -> str:
    if port:
        return port
    how_to = (
        "Attach the board by USB, name its port with --port (a device or a pyserial URL such as "
        "rfc2217://host:port), or run it emulated with --emulator=qemu"
    )
    if board.usb_vid is None:
        raise NoBoardFound(f"no port given for board {board.name}, which has no USB probe to look for. {how_to}.")
    ports = find_ports(board, probe_serial)
    wanted = _usb_id(board) + (f" with serial number {probe_serial}" if probe_serial else "")
    if not ports:
        raise NoBoardFound(f"no {board.name} board found: no serial port with USB ID {wanted}. {how_to}.")
    if len(ports) > 1:
        raise NoBoardFound(
            f"{len(ports)} {board.name} boards found ({', '.join(ports)}): choose one with --port "
            "or --probe SERIAL_NUMBER"
        )
    return ports[0]


def _flasher_status(board: Board) -> str:
    from .flash import INSTALL_HINT  # noqa: PLC0415 (flash.py imports this module)

    tool = board.upload_tool
    if not tool:
        return "no flashing tool in the board file"
    if shutil.which(tool):
        return f"flashes with {tool}"
    return f"flashes with {tool}, not installed ({INSTALL_HINT.get(tool, 'install it')})"


class SerialTarget(Target):
    """A board that is already running the harness firmware, reached through its UART."""

    name, label = "none", "real"

    def __init__(self, board: Board, port: str | None = None, baud: int | None = None, probe_serial: str | None = None):
        self.board = board
        self.port = resolve_port(board, port, probe_serial)
        self.baud = baud or board.baud
        self.transport: SerialTransport | None = None

    @classmethod
    def capabilities(cls, board: Board) -> Capabilities:
        return Capabilities(
            emulated=False,
            preloads_model_slot=False,
            counts_instructions=False,
            needs_claim=True,
            can_reset=False,
            flash=FLASH_WITH_FLASHER,
        )

    @classmethod
    def create(cls, board: Board, variant: Variant, options: TargetOptions, progress: Progress) -> SerialTarget:
        return cls(board, options.port, options.baud, options.probe_serial)

    @classmethod
    def availability(cls, board: Board) -> str:
        flasher = _flasher_status(board)
        if board.usb_vid is None:
            return f"no USB IDs to look for: give its serial port with --port; {flasher}"
        ports = find_ports(board)
        where = f"attached at {', '.join(ports)}" if ports else f"not attached (looked for USB {_usb_id(board)})"
        return f"{where}; {flasher}"

    def where(self) -> str:
        return self.port

    def start(self) -> SerialTransport:
        # A network port may be a moment away (a server starting): retry for a few seconds.
        deadline = time.monotonic() + (NETWORK_CONNECT_S if self.port.startswith(URL_SCHEMES) else 0)
        while True:
            try:
                self.transport = SerialTransport(self.port, self.baud)
                return self.transport
            except TargetError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def exit_reason(self) -> str:
        return f"; is the board still attached at {self.port}?"

    def reset(self) -> None:
        raise TargetError(f"{self.board.name} on {self.port}: reset it through the link (Dut.reset)")

    def stop(self) -> None:
        if self.transport:
            self.transport.close()
