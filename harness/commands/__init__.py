"""Subcommands of `hil`: one module per area, each registering with `@command`.

This package's own module holds the registry and the helpers every command shares;
`harness.cli` imports all modules in the package and dispatches.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..boards import EMULATORS
from ..dut import Dut
from ..progress import Progress

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], object], str]] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], object]):
    """Registers a subcommand: `arguments` adds its options, the function returns the exit status."""

    def register(function: Command) -> Command:
        COMMANDS[name] = (function, arguments, help_text)
        return function

    return register


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Prints `data` as JSON with --json, else the human-readable `text`."""
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def error_text(message: str, exit_status: int, kind: str, as_json: bool) -> str:
    """The one line an error prints on stderr: `error: ...`, or with --json one JSON object
    {"error": message, "exit_status": N, "type": "BoardError"} (stdout keeps only data)."""
    if as_json:
        return json.dumps({"error": message, "exit_status": exit_status, "type": kind})
    return f"error: {message}"


SEED_MAX = (1 << 32) - 1  # seeds are 32-bit on the device (TENSOR_FILL) and in the records


def seed(text: str) -> int:
    """argparse type of --seed: an integer in [0, 2**32 - 1]."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be between 0 and {SEED_MAX}: {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts (--inputs, --repeat, --layers, --baud): an integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def positive_seconds(text: str) -> float:
    """argparse type of --timeout: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text}")
    return value


def board_arguments(
    parser: argparse.ArgumentParser, emulator_default: str = "qemu", board_required: bool = True
) -> None:
    parser.add_argument("--board", required=board_required, help="board name (see `hil boards`)")
    parser.add_argument(
        "--emulator",
        choices=EMULATORS,
        default=emulator_default,
        help=f"run on an emulator, or 'none' for the real board (default {emulator_default})",
    )
    parser.add_argument("--port", help="serial port or pyserial URL of a real board")
    parser.add_argument("--baud", type=positive_int, help="baud rate (default: the board file's)")
    parser.add_argument("--probe", help="serial number of the board's debug probe")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=5.0,
        help="seconds to wait for each reply (default 5); INVOKE waits at least this "
        "long, and by default longer for bigger models (at least 60 s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def open_dut(args: argparse.Namespace) -> Dut:
    return Dut.open(
        args.board,
        args.emulator,
        port=args.port,
        baud=args.baud,
        probe_serial=args.probe,
        timeout=args.timeout,
        progress=Progress.for_command(args.json),
    )
