"""Per model: the host's arena plan next to its lower bound and to plain largest-first placement.

    python benchmarks/arena.py [--json] [MODEL.tflite ...]

Default models: every .tflite in ../shared/models that the engine packs. Host only (no device).
Columns:
  tensors   arena tensors (activations, model inputs and outputs)
  greedy    largest first, first-fit (TFLM's GreedyMemoryPlanner order): the plan before issue 14
  plan      the packed model's arena (harness/engine/plan.py)
  bound     the largest sum of live tensors at one operator, each rounded up to 16 bytes:
            no plan can be smaller
  over      plan - bound
  ms        time to plan
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from harness.engine import format as fmt
from harness.engine import plan
from harness.engine.lower import UnsupportedModel
from harness.engine.pack import pack_model
from harness.model.tflite import load_model
from harness.shared_models import SHARED_MODELS


def measure(path: Path) -> dict | None:
    model = load_model(path)
    try:
        packed = pack_model(model)
    except UnsupportedModel:
        return None
    sizes = {t.index: t.nbytes for t in packed.tensors if t.storage == fmt.STORAGE_ARENA}
    lives = plan.lifetimes(sizes, [(op.inputs, op.outputs) for op in packed.ops], model.inputs, model.outputs)
    start = time.perf_counter()
    _, size = plan.plan(lives)
    seconds = time.perf_counter() - start
    greedy = plan._arena_size(lives, plan._first_fit(plan._largest_first(lives)))
    bound = plan.lower_bound(lives)
    assert size == packed.arena_size
    return {
        "model": path.name,
        "tensors": len(lives),
        "greedy": greedy,
        "plan": size,
        "bound": bound,
        "over": size - bound,
        "ms": round(seconds * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = args.models or sorted(SHARED_MODELS.glob("*/*.tflite"))
    rows = [row for row in map(measure, paths) if row is not None]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<34}{'tensors':>8}{'greedy':>9}{'plan':>9}{'bound':>9}{'over':>7}{'ms':>8}")
    for r in rows:
        print(
            f"{r['model']:<34}{r['tensors']:>8}{r['greedy']:>9}{r['plan']:>9}{r['bound']:>9}{r['over']:>7}{r['ms']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
