"""Where each board can run on this machine right now: attached, QEMU, Renode."""
from __future__ import annotations

import shutil
from typing import Any

from .boards import Board, load_all_boards
from .targets.flash import INSTALL_HINT
from .targets.qemu import QEMU_BINARY
from .targets.serial_port import find_ports


def flasher_status(board: Board) -> str:
    tool = board.upload_tool
    if not tool:
        return "no flashing tool in the board file"
    if shutil.which(tool):
        return f"flashes with {tool}"
    return f"flashes with {tool}, not installed ({INSTALL_HINT.get(tool, 'install it')})"


def real_status(board: Board) -> str:
    flasher = flasher_status(board)
    if board.usb_vid is None:
        return f"no USB IDs to look for: give its serial port with --port; {flasher}"
    ports = find_ports(board)
    usb = f"{board.usb_vid:04X}:{board.usb_pid:04X}"
    where = f"attached at {', '.join(ports)}" if ports else f"not attached (looked for USB {usb})"
    return f"{where}; {flasher}"


def emulator_status(board: Board, emulator: str) -> str:
    if emulator not in board.variants:
        return "not supported by this board"
    variant = board.variants[emulator]
    if emulator == "qemu":
        binary, where = QEMU_BINARY[board.arch], f"machine {variant.machine}"
        where += ", stand-in" if variant.stand_in else ""
    else:
        binary, where = "renode", f"platform {variant.extra.get('platform')}, the real board's image"
    if shutil.which(binary) is None:
        return f"{binary} not installed ({where})"
    return f"available ({where})"


def _notes(board: Board) -> str | None:
    """The stand-in explanation and any emulator note, for `hil boards`."""
    notes = [v.stand_in or v.extra.get("note") for v in board.variants.values()]
    return " ".join(note for note in notes if note) or None


def board_rows() -> list[dict[str, Any]]:
    rows = []
    for board in load_all_boards():
        rows.append({
            "name": board.name, "title": board.title, "mcu": board.mcu, "core": board.core,
            "fpu": board.fpu, "flash_kb": board.memory.flash.size // 1024,
            "sram_kb": board.memory.sram.size // 1024,
            "available": {
                "real": real_status(board),
                "qemu": emulator_status(board, "qemu"),
                "renode": emulator_status(board, "renode"),
            },
            "stand_in": _notes(board),
        })
    return rows
