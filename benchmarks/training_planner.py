"""Host study: the planner by measured contribution against the planner by parameter count.

For the VWW task of `hil train` (the last two depthwise-separable blocks + a new head, backbone
weights in the flash slot) and each data set: the contribution analysis of `hil train --plan
measured` (harness/training/contribution.py: every piece trained alone with the head by the host
reference, gain in validation accuracy over the head alone), the scheme each planner picks under
each budget (memory counted as on the device: the training firmware's static data, its 128 KB
arena), and what each scheme reaches on the held-out set when the host reference trains it on
the whole training set (`--steps` steps; the mean of the analysis' checkpoints over the second
half). No device runs here: the reference is bit-exact with the device (tests/device).

    python benchmarks/training_planner.py [--steps 200] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.training.contribution import default_cache, measure_contributions, trained_accuracy
from harness.training.device import TRAINING_ARENA_BYTES
from harness.training.planner import PLAN_RATIOS, Plan, plan_sparse_update
from harness.training.run import make_task, task_setup

STATIC_BYTES = 78648  # the training firmware's static data (TRAIN_BEGIN reports it; docs/training.md)
BUDGETS = (256 * 1024, 141 * 1024)


def scheme_text(plan: Plan) -> str:
    rows = [row for row in plan.scheme if row["bias"] or row["channels"]]
    return "; ".join(
        f"{row['name']} {'bias' if row['bias'] else ''}{' + ' if row['bias'] and row['channels'] else ''}"
        f"{str(row['channels']) + '/' + str(row['in']) if row['channels'] else ''}"
        for row in rows
    )


def study(data: str, seed: int, steps: int) -> dict:
    task = make_task("vww", 200, 100, seed, data=data)
    started = time.perf_counter()
    contributions = measure_contributions(task.setup, task.train_x, task.train_y, PLAN_RATIOS, steps, default_cache())
    analysis_seconds = time.perf_counter() - started
    setup = task_setup("vww", seed, backbone="device")
    held_out = (task.train_x, task.train_y, task.test_x, task.test_y)
    rows = []
    for budget in BUDGETS:
        for method, given in (("parameters", None), ("measured", contributions)):
            plan = plan_sparse_update(setup, STATIC_BYTES, budget, TRAINING_ARENA_BYTES, contributions=given)
            rows.append(
                {
                    "budget": budget,
                    "method": method,
                    "scheme": scheme_text(plan),
                    "trained_parameters": plan.trained_parameters,
                    "predicted_peak": plan.predicted_peak,
                    "predicted_gain": contributions.scheme_gain(plan.scheme),
                    "held_out_accuracy": trained_accuracy(plan.setup, held_out, steps),
                }
            )
    return {
        "data": data,
        "seed": seed,
        "contributions": contributions.summary(),
        "analysis_seconds": round(analysis_seconds, 1),
        "plans": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [study(data, args.seed, args.steps) for data in ("stripes", "faces")]
    for result in results:
        c = result["contributions"]
        print(
            f"\n{result['data']}: head alone {c['baseline_accuracy']:.3f} on {c['validation_samples']} validation "
            f"samples; analysis {c['seconds']} s{' (cached)' if c['cached'] else ''}"
        )
        for piece in c["pieces"]:
            what = "bias" if piece["part"] == "bias" else f"weights {piece['channels']} ch"
            print(f"  {piece['name']:<22} {what:<15} {piece['accuracy']:.3f}  gain {piece['gain']:+.3f}")
        for row in result["plans"]:
            print(
                f"  {row['budget'] // 1024} KB {row['method']:<10} peak {row['predicted_peak']:>7} B, "
                f"{row['trained_parameters']:>6} parameters, predicted gain {row['predicted_gain']:+.3f}, "
                f"held-out {row['held_out_accuracy']:.3f}: {row['scheme']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
