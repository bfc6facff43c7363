"""Benchmark: the VWW transfer-learning task trained on the emulated board under a 256 KB budget.

Runs `hil train`'s workflow (harness/training/run.py): plans the sparse update, boots the
training firmware in QEMU, measures held-out accuracy on the device, trains N steps in lock step
with the bit-exact host reference (every loss compared), compares every weight and bias, measures
accuracy again and the device's peak SRAM next to the planner's prediction.

    python benchmarks/training.py [--board nucleo_f746] [--steps 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.commands.training import format_result, parse_bytes
from harness.errors import HarnessError
from harness.progress import Progress
from harness.training.run import run_training


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--emulator", default="qemu")
    parser.add_argument("--task", default="vww", choices=("vww", "toy"))
    parser.add_argument("--budget", type=parse_bytes, default=256 * 1024)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--train-samples", type=int, default=200)
    parser.add_argument("--test-samples", type=int, default=100)
    parser.add_argument("--backbone", choices=("host", "device"), default="host")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    args = parser.parse_args()
    try:
        result = run_training(
            args.board,
            args.emulator,
            args.task,
            args.budget,
            args.steps,
            args.train_samples,
            args.test_samples,
            say=Progress().say,
            backbone=args.backbone,
        )
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    print(format_result(result))
    print(f"wall time: {result['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
