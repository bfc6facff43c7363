"""Board commands: hil boards, build, flash, ping."""

from __future__ import annotations

import argparse
import sys
import time

from ..board_status import board_rows
from ..boards import load_board
from ..build import build
from ..engine.pack import pack_file
from ..engine.runner import write_model_slot
from ..progress import Progress
from ..targets.base import FLASH_WITH_FLASHER
from ..targets.flash import flash, require_flasher
from ..targets.registry import capabilities
from . import board_arguments, command, emit, open_dut
from .user_firmware import firmware_arguments, flash_user_firmware, wants_user_firmware


@command(
    "boards",
    "list the known boards and where each can run here",
    lambda p: p.add_argument("--json", action="store_true"),
)
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
    emit(args, rows, "\n".join(lines).rstrip())
    return 0


@command("build", "build a board's firmware", lambda p: board_arguments(p))
def cmd_build(args: argparse.Namespace) -> int:
    firmware = build(load_board(args.board), args.emulator, Progress.for_command(args.json))
    data = {
        "board": firmware.board,
        "emulator": firmware.emulator,
        "pio_env": firmware.pio_env,
        "elf": str(firmware.elf),
        "bin": str(firmware.bin),
        "bin_bytes": firmware.size_bytes,
    }
    emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items()))
    return 0


def _flash_arguments(parser: argparse.ArgumentParser) -> None:
    board_arguments(parser, "none")
    parser.add_argument("--model", help="also write this .tflite, packed, into the board's flash model slot")
    firmware_arguments(parser)


@command("flash", "build and flash the firmware (and a model into the model slot) onto a real board", _flash_arguments)
def cmd_flash(args: argparse.Namespace) -> int:
    board = load_board(args.board)
    flashes = capabilities(board, args.emulator).flash == FLASH_WITH_FLASHER
    if flashes and wants_user_firmware(args):
        return flash_user_firmware(args)
    if not flashes:
        print(f"nothing to flash: --emulator={args.emulator} loads the firmware at boot", file=sys.stderr)
        return 0
    require_flasher(board)  # before a build that would be wasted
    packed = pack_file(args.model, board, "none") if args.model else None  # refuses what does not fit
    progress = Progress.for_command(args.json)
    firmware = build(board, "none", progress)
    with progress.step(f"flashing {board.name} with {board.upload_tool}"):
        flash(board, firmware, args.probe, args.port)
    data: dict[str, object] = {"board": board.name, "flashed": str(firmware.hex)}
    if packed:
        write_model_slot(board, packed.image, args.probe, args.port, progress)
        data.update(
            model=args.model, model_bytes=len(packed.image), slot_addr=f"0x{board.memory.model_slot.origin:08x}"
        )
    emit(
        args,
        data,
        f"flashed {firmware.hex}" + (f"; {args.model} in the model slot at {data['slot_addr']}" if packed else ""),
    )
    return 0


def _human(key: str, value: object) -> str:
    if key.endswith("_addr") and isinstance(value, int):
        return f"0x{value:08x}"
    if key.endswith("_size") and isinstance(value, int):
        return f"{value} ({value // 1024} KiB)"
    return str(value)


@command("ping", "boot or reach a board and print its handshake", lambda p: board_arguments(p))
def cmd_ping(args: argparse.Namespace) -> int:
    with open_dut(args) as dut:
        start = time.perf_counter()
        rounds = 10
        for _ in range(rounds):
            dut.echo(b"ping")
        round_trip_ms = (time.perf_counter() - start) / rounds * 1000
        data = {**dut.describe(), "round_trip_ms": round(round_trip_ms, 2)}
    text = "\n".join(f"{key:<22} {_human(key, value)}" for key, value in data.items() if value is not None)
    emit(args, data, text)
    return 0
