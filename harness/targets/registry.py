"""Target name -> target class. Adding a target is one module and one line here.

Classes are imported when first asked for: the board loader needs only the names, and the
target modules import the board loader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import BoardError

if TYPE_CHECKING:
    from ..boards import Board
    from .base import Capabilities, Target

# name (the --emulator value, and a key under `emulators:` in a board file) -> module:class
TARGETS: dict[str, str] = {
    "none": "harness.targets.serial_port:SerialTarget",  # a real board on a serial port
    "qemu": "harness.targets.qemu:QemuTarget",
    "renode": "harness.targets.renode:RenodeTarget",
}
REAL_BOARD = "none"
TARGET_NAMES = tuple(TARGETS)


def target_class(name: str) -> type[Target]:
    if name not in TARGETS:
        raise BoardError(f"unknown target (--emulator) {name!r}; known: {', '.join(TARGETS)}")
    module, _, cls = TARGETS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def capabilities(board: Board, name: str) -> Capabilities:
    """What target `name` can do for `board`."""
    return target_class(name).capabilities(board)
