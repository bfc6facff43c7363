"""The `hil` command.

    hil boards [--json]
    hil build --board B [--emulator E] [--json]
    hil flash --board B [--probe SERIAL] [--port P]
    hil ping  --board B [--emulator E] [--port P] [--baud N] [--json]

Exit status: 0 success, 1 a check failed (the device differs from the reference), 2 the run could
not be made (unknown board, no board attached, a board that does not answer, bad input).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from . import __version__
from .board_status import board_rows
from .boards import EMULATORS, load_board
from .build import build
from .dut import Dut
from .errors import HarnessError
from .progress import Progress
from .targets.flash import flash

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None]):
    def register(function: Command) -> Command:
        COMMANDS[name] = (function, arguments, help_text)
        return function

    return register


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _board_arguments(parser: argparse.ArgumentParser, emulator_default: str = "qemu") -> None:
    parser.add_argument("--board", required=True, help="board name (see `hil boards`)")
    parser.add_argument("--emulator", choices=EMULATORS, default=emulator_default,
                        help=f"run on an emulator, or 'none' for the real board (default {emulator_default})")
    parser.add_argument("--port", help="serial port or pyserial URL of a real board")
    parser.add_argument("--baud", type=int, help="baud rate (default: the board file's)")
    parser.add_argument("--probe", help="serial number of the board's debug probe")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each reply")
    parser.add_argument("--json", action="store_true", help="print JSON")


def open_dut(args: argparse.Namespace) -> Dut:
    return Dut.open(args.board, args.emulator, port=args.port, baud=args.baud,
                    probe_serial=args.probe, timeout=args.timeout, progress=Progress())


@command("boards", "list the known boards and where each can run here", lambda p: p.add_argument("--json", action="store_true"))
def cmd_boards(args: argparse.Namespace) -> int:
    rows = board_rows()
    lines = []
    for row in rows:
        lines.append(
            f"{row['name']:<16} {row['title']}\n"
            f"    {row['mcu']} ({row['core']}, FPU {row['fpu'] or 'none'}), "
            f"{row['flash_kb']} KB flash, {row['sram_kb']} KB SRAM\n"
            + "".join(f"    {where:<7} {status}\n" for where, status in row["available"].items())
            + (f"    note: {row['stand_in']}\n" if row.get("stand_in") else "")
        )
    _emit(args, rows, "\n".join(lines).rstrip())
    return 0


@command("build", "build a board's firmware", lambda p: _board_arguments(p))
def cmd_build(args: argparse.Namespace) -> int:
    firmware = build(load_board(args.board), args.emulator, Progress())
    data = {"board": firmware.board, "emulator": firmware.emulator, "pio_env": firmware.pio_env,
            "elf": str(firmware.elf), "bin": str(firmware.bin), "bin_bytes": firmware.size_bytes}
    _emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items()))
    return 0


@command("flash", "build and flash the firmware onto a real board", lambda p: _board_arguments(p, "none"))
def cmd_flash(args: argparse.Namespace) -> int:
    board = load_board(args.board)
    if args.emulator != "none":
        print(f"nothing to flash: --emulator={args.emulator} loads the firmware at boot", file=sys.stderr)
        return 0
    firmware = build(board, "none", Progress())
    with Progress().step(f"flashing {board.name} with {board.upload_tool}"):
        flash(board, firmware, args.probe, args.port)
    _emit(args, {"board": board.name, "flashed": str(firmware.hex)}, f"flashed {firmware.hex}")
    return 0


@command("ping", "boot or reach a board and print its handshake", lambda p: _board_arguments(p))
def cmd_ping(args: argparse.Namespace) -> int:
    with open_dut(args) as dut:
        start = time.perf_counter()
        rounds = 10
        for _ in range(rounds):
            dut.echo(b"ping")
        round_trip_ms = (time.perf_counter() - start) / rounds * 1000
        data = {**dut.describe(), "round_trip_ms": round(round_trip_ms, 2)}
    text = "\n".join(f"{key:<22} {value}" for key, value in data.items() if value is not None)
    _emit(args, data, text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description="Hardware-in-the-loop tests for ML on microcontrollers.")
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (function, arguments, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        arguments(command_parser)
        command_parser.set_defaults(function=function)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.function(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
