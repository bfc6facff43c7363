"""Wall-clock of one test suite on one emulated board (-n 0) and spread over two (-n 2).

    python benchmarks/parallel.py [--board nucleo_f746] [--workers 2] [--json] [-- PYTEST ARGS...]

Each run is a fresh pytest session; with -n N every pytest-xdist worker boots its own QEMU
instance of the board, and the harness's summary ("hil board instances") names each instance
with its results, which this script reports next to the times. The firmware is built once
before timing, so neither run pays for compiling. Default suite: tests/device/test_link.py (link
tests on the session's `dut`, plus two that boot a fresh instance), device-bound rather than
compile-bound: test files that build firmware variants serialize on the build lock instead.
Wall-clock figures on a shared machine: expect noise, and compare runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from harness.boards import load_board
from harness.build import build

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = ["tests/device/test_link.py"]
INSTANCE_LINE = re.compile(r"^((?:gw\d+|main): \S+ .+): (.+)$")
OUTCOMES = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")


def run_suite(board: str, workers: int, pytest_args: list[str]) -> dict:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        f"--board={board}",
        "--emulator=qemu",
        "-n",
        str(workers),
        *pytest_args,
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    lines = result.stdout.splitlines()
    summary_at = next((i for i, line in enumerate(lines) if "hil board instances" in line), len(lines))
    instances = {m.group(1): m.group(2) for line in lines[summary_at + 1 :] if (m := INSTANCE_LINE.match(line))}
    final = lines[-1] if lines else ""
    return {
        "workers": workers,
        "seconds": round(seconds, 1),
        "exit_status": result.returncode,
        "outcomes": {kind: int(count) for count, kind in OUTCOMES.findall(final)},
        "board_instances": instances,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers of the parallel run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("pytest_args", nargs="*", help="the suite (after --), default: " + " ".join(DEFAULT_SUITE))
    args = parser.parse_args()
    suite = args.pytest_args or DEFAULT_SUITE

    build(load_board(args.board), "qemu")  # compile before timing
    serial = run_suite(args.board, 0, suite)
    parallel = run_suite(args.board, args.workers, suite)
    result = {
        "board": args.board,
        "suite": suite,
        "serial": serial,
        "parallel": parallel,
        "speedup": round(serial["seconds"] / parallel["seconds"], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for run in (serial, parallel):
        print(f"-n {run['workers']}: {run['seconds']:.1f} s, exit {run['exit_status']}, {run['outcomes']}")
        for label, outcome in run["board_instances"].items():
            print(f"    {label}: {outcome}")
    print(f"speedup with {args.workers} workers: {result['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
