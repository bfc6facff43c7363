"""Benchmark: SRAM of one VWW training step measured on the emulated board, for the update
schemes Lin et al. compare (full update, sparse update, each with and without operator
reordering).

Every variant trains the last two depthwise-separable blocks of the VWW backbone and the new
head, with the backbone run on the device's inference engine in every step (frozen weights read
from the flash model slot); each runs a few steps in lock step with the host reference (losses
and parameters bit-exact) and reports the device's painted high-water marks. A variant that
cannot fit the board's SRAM is reported from the exact arena plan instead, marked "planned".

    python benchmarks/training_memory.py [--board nucleo_f746] [--steps 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.boards import load_board
from harness.build import build
from harness.dut import Dut
from harness.training.backbone import DeviceBackbone, pack_backbone
from harness.training.device import (
    ENGINE_POOL_BYTES,
    TRAINING_ARENA_BYTES,
    DeviceTraining,
)
from harness.training.planner import evaluate, firmware_static_bytes, plan_sparse_update
from harness.training.reference import TrainingReference
from harness.training.run import check_parameters, lockstep, make_task, task_setup

LARGE_ARENA = 192 * 1024  # the full update's arena (a firmware variant; 320 KB SRAM in QEMU)


def firmware_flags(arena: int) -> list[str]:
    return [f"-DENGINE_POOL_SIZE={ENGINE_POOL_BYTES}", f"-DHIL_TRAINING_ARENA_BYTES={arena}"]


def full_update(setup):
    setup = setup.copy()
    for layer in setup.layers:
        if layer.kind != "avgpool":
            layer.train_bias, layer.train_channels = True, layer.in_shape[2]
    return setup


def variants(setup, static: int) -> list[tuple[str, object]]:
    sparse = plan_sparse_update(setup, static, 141 * 1024, TRAINING_ARENA_BYTES).setup
    out = []
    for name, base in (("full update", full_update(setup)), ("sparse update (the 141 KB plan)", sparse)):
        for reorder in (False, True):
            chosen = base.copy()
            chosen.defer_updates = not reorder
            out.append((f"{name}, {'with' if reorder else 'without'} operator reordering", chosen))
    return out


def measure(board: str, emulator: str, setup, task, packed, arena: int, steps: int) -> dict:
    flags = firmware_flags(arena)
    with Dut.open(board, emulator, timeout=60, extra_flags=flags, slot_image=packed.image) as dut:
        device = DeviceTraining(dut.link, 60)
        setup.budget_bytes = load_board(board).variant(emulator).memory.sram.size
        device.load(setup)
        engine = DeviceBackbone(dut, packed, device, task.blocks)
        reference = TrainingReference(setup)
        lockstep(device, reference, task.train_x, task.train_y, steps, device_input=engine.feeder(task.train_images))
        compared = check_parameters(device, reference)
        memory = device.memory()
    return {
        "measured": True,
        "peak_sram_bytes": memory["measured_peak"],
        "memory": memory,
        "losses_bit_exact": steps,
        "parameters_bit_exact": compared,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--emulator", default="qemu")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sram = load_board(args.board).variant(args.emulator).memory.sram.size
    setup = task_setup("vww", 0, backbone="device")
    task = make_task("vww", args.steps, 1, 0, backbone="device")
    packed = pack_backbone(task.backbone)
    standard = build(load_board(args.board), args.emulator, extra_flags=firmware_flags(TRAINING_ARENA_BYTES))
    rows = []
    for name, chosen in variants(setup, firmware_static_bytes(standard.elf, TRAINING_ARENA_BYTES)):
        arena = evaluate(chosen, 0, sram).arena["total"]
        capacity = TRAINING_ARENA_BYTES if arena <= TRAINING_ARENA_BYTES else LARGE_ARENA
        firmware = build(load_board(args.board), args.emulator, extra_flags=firmware_flags(capacity))
        static = firmware_static_bytes(firmware.elf, capacity)
        planned = evaluate(chosen, static, sram, capacity)
        row = {
            "variant": name,
            "arena_bytes": arena,
            "planned_peak": planned.predicted_peak,
            "trained_parameters": planned.trained_parameters,
        }
        if arena <= capacity and planned.predicted_peak <= sram:
            row.update(measure(args.board, args.emulator, chosen, task, packed, capacity, args.steps))
        else:
            row.update(
                {
                    "measured": False,
                    "peak_sram_bytes": planned.predicted_peak,
                    "why": f"needs {planned.predicted_peak} B, more than the board's {sram} B SRAM",
                }
            )
        rows.append(row)
        print(
            f"{name:58s} {'measured' if row['measured'] else 'planned ':8s} {row['peak_sram_bytes']:>9,} B "
            f"(arena {arena:,} B, {row['trained_parameters']:,} trained parameters)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
