"""Writes a firmware onto a real board with the flashing tool its board file names."""
from __future__ import annotations

import shlex
import shutil
import subprocess

from ..boards import Board
from ..build import Firmware
from ..errors import TargetError

INSTALL_HINT = {
    "pyocd": "pip install pyocd",
    "st-flash": "apt-get install stlink-tools",
    "openocd": "apt-get install openocd",
    "avrdude": "apt-get install avrdude",
}


def flash_command(board: Board, firmware: Firmware, probe_serial: str | None, port: str | None) -> list[str]:
    if not board.upload_command:
        raise TargetError(f"board {board.name} has no upload command in {board.path}")
    probe = ""
    if probe_serial and board.upload_probe_option:
        probe = board.upload_probe_option.format(probe_serial=probe_serial)
    text = board.upload_command.format(
        firmware_elf=firmware.elf, firmware_bin=firmware.bin, firmware_hex=firmware.hex,
        probe=probe, port=port or "",
    )
    return shlex.split(text)


def flash(board: Board, firmware: Firmware, probe_serial: str | None = None, port: str | None = None) -> None:
    command = flash_command(board, firmware, probe_serial, port)
    tool = command[0]
    if shutil.which(tool) is None:
        hint = INSTALL_HINT.get(tool, "install it")
        raise TargetError(f"flashing {board.name} needs {tool}, which is not installed: {hint}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TargetError(f"flashing {board.name} with {tool} failed (status {result.returncode}):\n{tail}")
