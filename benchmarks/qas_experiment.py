"""Host experiment: quantized training with and without quantization-aware scaling (QAS).

Trains the VWW transfer task (harness/training/vww.py: the backbone's last depthwise and pointwise
layers and a new head, all fully updated as the planner chooses at 256 KB) with the bit-exact numpy
reference (docs/training_spec.md), once
with QAS and, without QAS, at the same learning rates and at learning rates multiplied by 1e2, 1e4
and 1e6 (no single factor fixes both the weights' s_W^-2 and the biases' s_W^-2 s_x^-2 mismatch).
Prints a text table of held-out accuracy along training and writes an SVG of the curves.

    python benchmarks/qas_experiment.py [--steps 400] [--svg qas_experiment.svg] [--task toy]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.training.planner import plan_sparse_update
from harness.training.reference import TrainingReference
from harness.training.run import make_task
from harness.training.setup import TrainSetup

COLOURS = ["#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd"]


def curve(setup: TrainSetup, task, steps: int, every: int) -> list[tuple[int, float, float]]:
    """(step, held-out accuracy, mean loss over the last `every` steps)."""
    reference = TrainingReference(setup)
    points = [(0, reference.accuracy(task.test_x, task.test_y), float("nan"))]
    losses = []
    for step in range(steps):
        n = step % len(task.train_y)
        losses.append(float(reference.step(task.train_x[n], task.train_y[n]).loss))
        if (step + 1) % every == 0:
            points.append((step + 1, reference.accuracy(task.test_x, task.test_y), float(np.mean(losses[-every:]))))
    return points


def svg(curves: dict[str, list[tuple[int, float, float]]], steps: int, title: str) -> str:
    width, height, left, top, plot_w, plot_h = 640, 360, 60, 40, 420, 260

    def x(step: int) -> float:
        return left + plot_w * step / steps

    def y(acc: float) -> float:
        return top + plot_h * (1 - acc)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="22" font-size="14">{title}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>',
    ]
    for acc in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(acc):.1f}" y2="{y(acc):.1f}" stroke="#eee"/>'
            f'<text x="{left - 8}" y="{y(acc) + 4:.1f}" text-anchor="end">{acc:.2f}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle">'
        "SGD steps (batch 1)</text>"
        f'<text x="{left + plot_w}" y="{top + plot_h + 16}" text-anchor="end">{steps}</text>'
        f'<text x="{left}" y="{top + plot_h + 16}">0</text>'
        f'<text x="16" y="{top + plot_h / 2}" transform="rotate(-90 16 {top + plot_h / 2})" '
        'text-anchor="middle">held-out accuracy</text>'
    )
    for i, (name, points) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(s):.1f},{y(a):.1f}" for s, a, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{top + 18 * i}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{left + plot_w + 30}" y="{top + 18 * i + 6}">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("vww", "toy"), default="vww")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--train-samples", type=int, default=200)
    parser.add_argument("--test-samples", type=int, default=100)
    parser.add_argument("--svg", type=Path, default=Path("qas_experiment.svg"))
    args = parser.parse_args()
    task = make_task(args.task, args.train_samples, args.test_samples, seed=0, blocks=1)  # the documented tail
    task.setup = plan_sparse_update(task.setup, static_bytes=0, budget=1 << 30).setup  # train all
    runs = {
        "QAS": (True, 1.0),
        "no QAS, lr x1": (False, 1.0),
        "no QAS, lr x1e2": (False, 1e2),
        "no QAS, lr x1e4": (False, 1e4),
        "no QAS, lr x1e6": (False, 1e6),
    }
    curves = {
        name: curve(task.setup.with_rates(qas, factor), task, args.steps, args.every)
        for name, (qas, factor) in runs.items()
    }
    steps = [s for s, _, _ in next(iter(curves.values()))]
    print(
        f"held-out accuracy ({args.task}, {len(task.test_y)} held-out samples; chance "
        f"{1 / task.setup.num_classes:.2f}); last column: mean loss of the last {args.every} steps"
    )
    print(f"{'run':<18}" + "".join(f"{s:>7}" for s in steps) + f"{'loss':>9}")
    for name, points in curves.items():
        print(f"{name:<18}" + "".join(f"{a:>7.2f}" for _, a, _ in points) + f"{points[-1][2]:>9.4f}")
    args.svg.write_text(svg(curves, args.steps, f"Quantized training with and without QAS ({args.task})"))
    print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
