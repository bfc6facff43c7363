"""Where each board can run on this machine right now: attached, QEMU, Renode."""
from __future__ import annotations

import shutil
from typing import Any

from .boards import Board, load_all_boards
from .targets.qemu import QEMU_BINARY
from .targets.serial_port import find_ports


def real_status(board: Board) -> str:
    if board.usb_vid is None:
        return "no USB probe to look for: name its port with --port"
    ports = find_ports(board)
    usb = f"{board.usb_vid:04X}:{board.usb_pid:04X}"
    return f"attached at {', '.join(ports)}" if ports else f"not attached (looked for USB {usb})"


def emulator_status(board: Board, emulator: str) -> str:
    if emulator not in board.variants:
        return "not supported by this board"
    variant = board.variants[emulator]
    binary = QEMU_BINARY[board.arch] if emulator == "qemu" else "renode"
    where = f"machine {variant.machine}" if emulator == "qemu" else "platform " + str(variant.extra.get("platform"))
    if shutil.which(binary) is None:
        return f"{binary} not installed ({where})"
    return f"available ({where}{', stand-in' if variant.stand_in else ''})"


def board_rows() -> list[dict[str, Any]]:
    rows = []
    for board in load_all_boards():
        qemu = board.variants.get("qemu")
        rows.append({
            "name": board.name, "title": board.title, "mcu": board.mcu, "core": board.core,
            "fpu": board.fpu, "flash_kb": board.memory.flash.size // 1024,
            "sram_kb": board.memory.sram.size // 1024,
            "available": {
                "real": real_status(board),
                "qemu": emulator_status(board, "qemu"),
                "renode": emulator_status(board, "renode"),
            },
            "stand_in": qemu.stand_in if qemu else None,
        })
    return rows
