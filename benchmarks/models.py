"""Per model: our planned arena next to tflite-micro's, flash used, and instructions per inference.

    python benchmarks/models.py [--board nucleo_f746] [--inputs 3] [--json] [MODEL.tflite ...]

Default models: every .tflite in ../shared/models that packs for the board. Columns:
  arena      the host-planned arena of the packed model (harness/engine/plan.py, 16-byte aligned)
  tflm_arena Reference.arena_bytes(): what the tflite-micro interpreter allocates on this 64-bit
             host (its bookkeeping is bigger than on a 32-bit MCU: an upper bound for the device)
  flash      bytes of the packed model in the flash model slot (weights + tables + parameters)
  weights    of which constant tensor data
  per_inf    instructions per inference on the emulator: the board timer's ticks times its
             units_per_tick under `-icount shift=0` (timer_kind "instructions"; never cycles);
             median over --inputs seeded inputs. On a real board the unit is the board's timer
             (cycles) and the column is labelled so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from harness.boards import load_board
from harness.engine.pack import pack_file
from harness.engine.session import InferenceSession
from harness.errors import HarnessError
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS

MODELS = SHARED_MODELS


def measure(board: str, emulator: str, model: Path, inputs: int) -> dict:
    packed = pack_file(model, load_board(board), emulator)
    with Reference(model) as reference:
        tflm_arena = reference.arena_bytes()
    start = time.perf_counter()
    with InferenceSession.open(board, emulator, model) as session:
        result = session.run_seeded(count=inputs, seed=7)
    return {
        "model": model.name,
        "arena": packed.arena_size,
        "tflm_arena": tflm_arena,
        "flash": len(packed.image),
        "weights": packed.constant_bytes,
        "timer_kind": result.timer_kind,
        "per_inference": int(np.median(result.instructions)),
        "exact": result.verdict.passed,
        "seconds": round(time.perf_counter() - start, 1),
    }


def default_models(board: str, emulator: str) -> list[Path]:
    chosen = []
    for path in sorted(MODELS.glob("*/*.tflite")):
        try:
            pack_file(path, load_board(board), emulator)
            chosen.append(path)
        except HarnessError as exc:
            print(f"skipping {path.name}: {exc}", file=sys.stderr)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--emulator", default="qemu")
    parser.add_argument("--inputs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        rows = [
            measure(args.board, args.emulator, m, args.inputs)
            for m in args.models or default_models(args.board, args.emulator)
        ]
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    kind = rows[0]["timer_kind"] if rows else "instructions"
    print(f"{'model':<34}{'arena':>9}{'tflm_arena':>12}{'flash':>9}{'weights':>9}{kind + '/inference':>26}{'match':>7}")
    for r in rows:
        print(
            f"{r['model']:<34}{r['arena']:>9}{r['tflm_arena']:>12}{r['flash']:>9}{r['weights']:>9}"
            f"{r['per_inference']:>26}{'yes' if r['exact'] else 'NO':>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
