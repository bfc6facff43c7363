"""Writes a firmware onto a real board with the flashing tool its board file names."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import time

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


def flash_command(board: Board, firmware: Firmware, probe_serial: str | None, port: str | None) -> list[str]:
    if not board.upload_command:
        raise TargetError(f"board {board.name} has no upload command in {board.path}")
    if "{port}" in board.upload_command and not port:  # avrdude, bossac: the board's own port
        port = resolve_port(board, None, probe_serial)
    probe = ""
    if probe_serial and board.upload_probe_option:
        probe = board.upload_probe_option.format(probe_serial=probe_serial)
    text = board.upload_command.format(
        firmware_elf=firmware.elf, firmware_bin=firmware.bin, firmware_hex=firmware.hex,
        probe=probe, port=port or "",
    )
    return shlex.split(text)


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
            raise TargetError(f"{board.name} did not come back on USB {board.usb_vid:04X}:{board.usb_pid:04X}"
                              f"{serial} within {timeout:.0f} s of flashing")
        time.sleep(0.2)


def flash(board: Board, firmware: Firmware, probe_serial: str | None = None, port: str | None = None) -> str | None:
    """Flashes and returns the board's serial port as found again afterwards (see wait_for_port)."""
    command = flash_command(board, firmware, probe_serial, port)
    tool = command[0]
    if shutil.which(tool) is None:
        hint = INSTALL_HINT.get(tool, "install it")
        raise TargetError(f"flashing {board.name} needs {tool}, which is not installed: {hint}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TargetError(f"flashing {board.name} with {tool} failed (status {result.returncode}):\n{tail}")
    return wait_for_port(board, probe_serial)
