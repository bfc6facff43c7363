"""Where each board can run on this machine right now: attached, QEMU, Renode (`hil boards`).
Each target says it for itself (`Target.availability`)."""

from __future__ import annotations

from typing import Any

from .boards import Board, load_all_boards
from .targets.registry import TARGET_NAMES, target_class


def target_status(board: Board, name: str) -> str:
    if name not in board.variants:
        return "not supported by this board"
    return target_class(name).availability(board)


def _notes(board: Board) -> str | None:
    """The stand-in explanation and any emulator note, for `hil boards`."""
    notes = [v.stand_in or v.extra.get("note") for v in board.variants.values()]
    return " ".join(note for note in notes if note) or None


def board_rows() -> list[dict[str, Any]]:
    rows = []
    for board in load_all_boards():
        rows.append(
            {
                "name": board.name,
                "title": board.title,
                "mcu": board.mcu,
                "core": board.core,
                "fpu": board.fpu,
                "flash_kb": board.memory.flash.size // 1024,
                "sram_kb": board.memory.sram.size // 1024,
                "available": {target_class(name).label or name: target_status(board, name) for name in TARGET_NAMES},
                "stand_in": _notes(board),
            }
        )
    return rows
