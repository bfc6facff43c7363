"""Writes a firmware, and a packed model into the flash model slot, onto a real board with the
flashing tool its board file names (`upload.command`, `upload.model_command`)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..boards import Board
from ..build import Firmware
from ..errors import TargetError
from .serial_port import find_ports, resolve_port

REENUMERATION_TIMEOUT_S = 15.0

INSTALL_HINT = {
    "pyocd": "pip install pyocd",
    "st-flash": "apt-get install stlink-tools",
    "openocd": "apt-get install openocd",
    "avrdude": "apt-get install avrdude",
    "bossac": "apt-get install bossa-cli",
}


def _command(board: Board, template: str, probe_serial: str | None, port: str | None, **files: object) -> list[str]:
    if "{port}" in template and not port:  # avrdude, bossac: the board's own port
        port = resolve_port(board, None, probe_serial)
    probe = ""
    if probe_serial and board.upload_probe_option:
        probe = board.upload_probe_option.format(probe_serial=probe_serial)
    slot = board.memory.model_slot
    return shlex.split(
        template.format(
            probe=probe,
            port=port or "",
            slot_addr=f"0x{slot.origin:08x}",
            slot_offset=f"0x{slot.origin - board.memory.flash.origin:x}",
            **files,
        )
    )


def flash_command(board: Board, firmware: Firmware, probe_serial: str | None, port: str | None) -> list[str]:
    if not board.upload_command:
        raise TargetError(f"board {board.name} has no upload command in {board.path}")
    return _command(
        board,
        board.upload_command,
        probe_serial,
        port,
        firmware_elf=firmware.elf,
        firmware_bin=firmware.bin,
        firmware_hex=firmware.hex,
    )


def model_flash_command(board: Board, files: dict[str, Path], probe_serial: str | None, port: str | None) -> list[str]:
    """The command that writes the slot image `files` (model_bin, model_hex) into the slot."""
    if not board.upload_model_command:
        raise TargetError(
            f"board {board.name} has no upload.model_command in {board.path}: its "
            f"model slot cannot be written; stream the model into RAM instead"
        )
    return _command(board, board.upload_model_command, probe_serial, port, **files)


def intel_hex(data: bytes, address: int) -> str:
    """`data` at `address` as Intel HEX (16-byte data records, extended linear address records
    where the upper 16 bits change), as avrdude's `:i` reads it."""
    lines, upper = [], None

    def record(kind: int, offset: int, payload: bytes) -> str:
        body = bytes([len(payload), offset >> 8, offset & 0xFF, kind]) + payload
        return ":" + body.hex().upper() + f"{(-sum(body)) & 0xFF:02X}"

    for start in range(0, len(data), 16):
        at = address + start
        if at >> 16 != upper:
            upper = at >> 16
            lines.append(record(4, 0, upper.to_bytes(2, "big")))
        lines.append(record(0, at & 0xFFFF, data[start : start + 16]))
    lines.append(record(1, 0, b""))
    return "\n".join(lines) + "\n"


def write_slot_files(board: Board, image: bytes, directory: Path | None = None) -> dict[str, Path]:
    """The slot image as the flashers take it: model_bin (raw, written at the slot address) and
    model_hex (Intel HEX that carries the slot address itself)."""
    slot = board.memory.model_slot
    if len(image) > slot.size:
        raise TargetError(
            f"packed model of {len(image)} bytes does not fit {board.name}'s model slot of {slot.size} bytes"
        )
    directory = directory or Path(tempfile.mkdtemp(prefix="hil-slot-"))
    files = {"model_bin": directory / "model_slot.bin", "model_hex": directory / "model_slot.hex"}
    files["model_bin"].write_bytes(image)
    files["model_hex"].write_text(intel_hex(image, slot.origin))
    return files


def require_flasher(board: Board, model: bool = False) -> None:
    """Refuses, before anything is built, when the board's flashing tool is not installed."""
    template = board.upload_model_command if model else board.upload_command
    if not template:
        what = "upload.model_command" if model else "upload command"
        raise TargetError(f"board {board.name} has no {what} in {board.path}")
    tool = shlex.split(template)[0]
    if shutil.which(tool) is None:
        raise TargetError(
            f"flashing {board.name} needs {tool}, which is not installed: {INSTALL_HINT.get(tool, 'install it')}"
        )


def wait_for_port(board: Board, probe_serial: str | None, timeout: float = REENUMERATION_TIMEOUT_S) -> str | None:
    """The board's serial port once it is listed again after flashing: a probe or a native-USB
    board may drop off USB and come back, perhaps under another device name. Found by the
    board's USB VID:PID and, when given, the probe's serial number (an ST-LINK's virtual COM
    port carries the probe's own serial). None when the board has no USB IDs, or when several
    boards match and no serial number says which."""
    if board.usb_vid is None:
        return None
    deadline = time.monotonic() + timeout
    while True:
        ports = find_ports(board, probe_serial)
        if len(ports) == 1:
            return ports[0]
        if time.monotonic() > deadline:
            if ports:
                return None
            serial = f" with serial number {probe_serial}" if probe_serial else ""
            raise TargetError(
                f"{board.name} did not come back on USB {board.usb_vid:04X}:{board.usb_pid:04X}"
                f"{serial} within {timeout:.0f} s of flashing"
            )
        time.sleep(0.2)


def _run(board: Board, command: list[str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        hint = INSTALL_HINT.get(tool, "install it")
        raise TargetError(f"flashing {board.name} needs {tool}, which is not installed: {hint}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TargetError(f"flashing {board.name} with {tool} failed (status {result.returncode}):\n{tail}")


def flash(board: Board, firmware: Firmware, probe_serial: str | None = None, port: str | None = None) -> str | None:
    """Flashes and returns the board's serial port as found again afterwards (see wait_for_port)."""
    _run(board, flash_command(board, firmware, probe_serial, port))
    return wait_for_port(board, probe_serial)


def flash_model(board: Board, image: bytes, probe_serial: str | None = None, port: str | None = None) -> str | None:
    """Writes a packed model (or a batch image) into the board's flash model slot; returns the
    board's serial port as found again afterwards. The firmware reads it with MODEL_LOAD(slot)."""
    _run(board, model_flash_command(board, write_slot_files(board, image), probe_serial, port))
    return wait_for_port(board, probe_serial)
