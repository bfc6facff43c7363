"""Host study: QAS against plain int8 SGD, each with its learning rate tuned on a grid, over seeds.

The VWW task of `hil train` (the last two depthwise-separable blocks + a new head, the scheme the
planner picks at 256 KB with the backbone on the device), trained by the bit-exact host reference
(docs/training_spec.md). Per seed: its own generated images, split into training, validation
and held-out sets. For each method and each learning-rate factor (applied to every layer's rate)
the run trains `--steps` steps and measures accuracy every `--every` steps; the factor is chosen
per method by the mean validation accuracy of the last two checkpoints over the seeds, and the
held-out accuracy of the chosen factor is reported (same metric). Also reported: the fraction of
weight updates with a nonzero gradient that int8 rounding turns into no change at all, and each
method again with stochastic rounding of its weight steps (the remedy; rounding seed = data seed).

    python benchmarks/qas_study.py [--seeds 3] [--steps 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness.training.reference as reference_module
from harness.training.planner import plan_sparse_update
from harness.training.reference import TrainingReference
from harness.training.run import make_task, task_setup
from harness.training.setup import TrainSetup

GRIDS = {"QAS": (0.1, 0.3, 1.0, 3.0), "plain int8 SGD": (1e2, 1e3, 1e4, 1e5, 1e6)}
# The remedy for updates lost to rounding: the same methods with stochastic rounding of the weight
# steps (TRAIN_FLAG_STOCHASTIC_ROUNDING, rounding_seed = the data seed), on the same grids.
STOCHASTIC = " + stochastic rounding"
METHODS = {**GRIDS, **{name + STOCHASTIC: grid for name, grid in GRIDS.items()}}
STATIC_BYTES = 78560  # the training firmware's static data (TRAIN_BEGIN reports it)


class RoundingCounter:
    """Counts weight updates whose gradient is nonzero and whose int8 step rounds to zero."""

    def __init__(self):
        self.nonzero = self.lost = 0
        self.original = reference_module._weight_step

    def __enter__(self):
        def counted(layer, acc, s_w, qas, base):
            step = self.original(layer, acc, s_w, qas, base)
            nonzero = np.asarray(acc) != 0
            self.nonzero += int(np.count_nonzero(nonzero))
            self.lost += int(np.count_nonzero(nonzero & (step == 0)))
            return step

        reference_module._weight_step = counted
        return self

    def __exit__(self, *exc):
        reference_module._weight_step = self.original


def run(setup: TrainSetup, data: dict, steps: int, every: int) -> dict:
    reference = TrainingReference(setup)
    val, test = [], []
    with RoundingCounter() as counter:
        for step in range(steps):
            n = step % len(data["train_y"])
            reference.step(data["train_x"][n], int(data["train_y"][n]))
            if (step + 1) % every == 0:
                val.append(reference.accuracy(data["val_x"], data["val_y"]))
                test.append(reference.accuracy(data["test_x"], data["test_y"]))
    return {
        "val": float(np.mean(val[-2:])),
        "test": float(np.mean(test[-2:])),
        "val_curve": val,
        "test_curve": test,
        "lost_fraction": counter.lost / max(counter.nonzero, 1),
    }


def seed_data(seed: int, train: int, val: int, test: int) -> dict:
    task = make_task("vww", train + val, test, seed)
    return {
        "train_x": task.train_x[:train],
        "train_y": task.train_y[:train],
        "val_x": task.train_x[train:],
        "val_y": task.train_y[train:],
        "test_x": task.test_x,
        "test_y": task.test_y,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--val", type=int, default=40)
    parser.add_argument("--test", type=int, default=60)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="default: all four")
    args = parser.parse_args()
    results: dict = {}
    for seed in range(args.seeds):
        data = seed_data(seed, args.train, args.val, args.test)
        setup = plan_sparse_update(
            task_setup("vww", seed, backbone="device"), STATIC_BYTES, 256 * 1024, 128 * 1024
        ).setup
        for method in args.methods:
            for factor in METHODS[method]:
                trained = setup.with_rates(method.startswith("QAS"), factor)
                trained.stochastic_rounding, trained.rounding_seed = method.endswith(STOCHASTIC), seed
                outcome = run(trained, data, args.steps, args.every)
                results.setdefault(method, {}).setdefault(factor, []).append(outcome)
                print(
                    f"seed {seed} {method:37s} lr x{factor:<8g} val {outcome['val']:.3f} test "
                    f"{outcome['test']:.3f} updates lost to rounding {outcome['lost_fraction']:.2f}",
                    flush=True,
                )
    summary = {}
    for method, by_factor in results.items():
        best = max(by_factor, key=lambda f: np.mean([o["val"] for o in by_factor[f]]))
        runs = by_factor[best]
        summary[method] = {
            "factor": best,
            "test_mean": float(np.mean([o["test"] for o in runs])),
            "test_per_seed": [o["test"] for o in runs],
            "lost_fraction": float(np.mean([o["lost_fraction"] for o in runs])),
        }
        print(
            f"{method}: chosen lr x{best:g}, held-out (mean of the last two checkpoints, "
            f"{len(runs)} seeds) {summary[method]['test_mean']:.3f} {summary[method]['test_per_seed']}, "
            f"updates lost to int8 rounding {summary[method]['lost_fraction']:.2f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"summary": summary, "runs": {m: {str(f): r for f, r in v.items()} for m, v in results.items()}},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
