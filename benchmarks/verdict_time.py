"""Time to a verdict: `hil run --inputs 20` over the 7 shared int8 models, and where the time goes.

    python benchmarks/verdict_time.py [--board nucleo_f746] [--inputs 20] [--jobs 2 | --separate] [--json]

Runs `hil run` in this process (harness.cli.main) over the shared int8 models (../shared/models,
harness/shared_models.py): one invocation with the 7 `--model`s (models that fit the flash model
slot together share one QEMU boot; `--jobs` boots at a time, default 2), or with --separate one
invocation per model (one boot each, as before). Prints the wall time next to the anchor of issue 14
(41-47 s on this 2-core machine, before: one boot per model, small int8 inputs uploaded, large ones
read back) and the time of each phase, measured by wrapping the functions that do it (exclusive
times: a phase nested in another is counted once):

  build check  harness.build.build (PlatformIO's up-to-date check, or a build)
  boot         the rest of Dut.open: QEMU start, READY, HELLO
  shutdown     Dut.close (QEMU stop)
  model load   MODEL_LOAD (the device validates the model: CRC over the image)
  inputs       TENSOR_FILL / TENSOR_WRITE / MODEL_WRITE (uploads and on-device generation)
  inference    INVOKE
  read back    TENSOR_READ (outputs, the once-per-boot generator check, per-layer values)
  reference    the main thread waiting for tflite-micro (its workers start during the boot and run
               while the device computes: the wait is what is left of their time)
  compare      compare.judge
  other        everything else (packing, Python, the handshake's other requests)

Wall-clock figures on a shared machine: other jobs slow QEMU down; run it twice and quote both.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import build as firmware_build
from harness.cli import main as hil
from harness.dut import Dut
from harness.engine import session as engine_session
from harness.link.client import Link
from harness.shared_models import SHARED_MODELS

MODELS = [
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/vww_96_int8.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "mlperf_tiny/ad01_int8.tflite",
    "tflm_examples/hello_world_int8.tflite",
    "tflm_examples/micro_speech_quantized.tflite",
    "tflm_examples/person_detect.tflite",
]
ANCHOR_S = (41, 47)
PHASE_OF_MESSAGE = {
    "MODEL_LOAD": "model load",
    "TENSOR_FILL": "inputs",
    "TENSOR_WRITE": "inputs",
    "MODEL_WRITE": "inputs",
    "INVOKE": "inference",
    "TENSOR_READ": "read back",
}
PHASES = [
    "build check",
    "boot",
    "shutdown",
    "model load",
    "inputs",
    "inference",
    "read back",
    "reference",
    "compare",
    "other",
]


class PhaseTimer:
    """Exclusive wall time per phase, per thread (a nested phase is taken out of its parent),
    summed over the threads: with two boots at a time the sum exceeds the wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        stack = self._local.__dict__.setdefault("stack", [])  # [phase, start, nested time]
        entry = [name, time.perf_counter(), 0.0]
        stack.append(entry)
        try:
            yield
        finally:
            stack.pop()
            spent = time.perf_counter() - entry[1]
            with self._lock:
                self.seconds[name] += spent - entry[2]
            if stack:
                stack[-1][2] += spent

    def wrap(self, owner: Any, attribute: str, phase: str | Callable[..., str]) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            name = phase(*args, **kwargs) if callable(phase) else phase
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


def instrument(timer: PhaseTimer) -> None:
    timer.wrap(firmware_build, "build", "build check")
    timer.wrap(Dut, "open", "boot")
    timer.wrap(Dut, "close", "shutdown")
    timer.wrap(Link, "call", lambda link, name, *a, **k: PHASE_OF_MESSAGE.get(name, "other"))
    timer.wrap(engine_session, "judge", "compare")
    # the reference's futures (worker start, one run per input set) are marked when submitted;
    # waiting on them is the "reference" phase, waiting on a boot's thread is not
    submit, future_result = engine_session.ThreadPoolExecutor.submit, engine_session.Future.result

    def marked_submit(pool: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        future = submit(pool, fn, *args, **kwargs)
        future.tflm = (
            fn is engine_session.Reference or getattr(fn, "__self__", None).__class__ is engine_session.Reference
        )
        return future

    def reference_wait(future: Any, *args: Any) -> Any:
        if not getattr(future, "tflm", False):
            return future_result(future, *args)
        with timer.phase("reference"):
            return future_result(future, *args)

    engine_session.ThreadPoolExecutor.submit = marked_submit  # type: ignore[method-assign]
    engine_session.Future.result = reference_wait  # type: ignore[method-assign]


def run(board: str, inputs: int, separate: bool, jobs: int) -> tuple[float, list[int], list[dict[str, Any]]]:
    models = [str(SHARED_MODELS / name) for name in MODELS]
    missing = [m for m in models if not Path(m).is_file()]
    if missing:
        raise SystemExit(f"shared model missing: {missing[0]} (see ../shared/models/README.md)")
    argv = ["run", "--board", board, "--emulator", "qemu", "--inputs", str(inputs), "--json"]
    invocations = (
        [[*argv, "--model", m] for m in models]
        if separate
        else [[*argv, "--jobs", str(jobs), *(a for m in models for a in ("--model", m))]]
    )
    statuses, reports = [], []
    start = time.perf_counter()
    for arguments in invocations:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            statuses.append(hil(arguments))
        data = json.loads(out.getvalue() or "[]")
        reports += data if isinstance(data, list) else [data]
    return time.perf_counter() - start, statuses, reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--separate", action="store_true", help="one `hil run` (one boot) per model")
    parser.add_argument("--jobs", type=int, default=2, help="hil run --jobs: boots at a time (default 2)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    timer = PhaseTimer()
    instrument(timer)
    wall, statuses, reports = run(args.board, args.inputs, args.separate, args.jobs)
    phases = {name: round(timer.seconds.get(name, 0.0), 2) for name in PHASES[:-1]}
    overlapped = not args.separate and args.jobs > 1
    if not overlapped:  # one thread: the phases add up to the wall time
        phases["other"] = round(wall - sum(phases.values()), 2)
    mode = (
        "one hil run per model"
        if args.separate
        else f"one hil run, shared boots, {args.jobs} at a time"
        + (" (phases summed over both boots' threads: they overlap)" if overlapped else "")
    )
    result = {
        "board": args.board,
        "models": len(MODELS),
        "inputs": args.inputs,
        "mode": mode,
        "wall_s": round(wall, 1),
        "anchor_s": list(ANCHOR_S),
        "phases_s": phases,
        "verdicts": {Path(r["model"]).name: r["passed"] for r in reports},
        "exit_statuses": statuses,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['models']} models x {args.inputs} inputs on {args.board} (qemu), {result['mode']}: "
            f"{wall:.1f} s (anchor before: {ANCHOR_S[0]}-{ANCHOR_S[1]} s); load average "
            f"{', '.join(f'{x:.1f}' for x in result['load_average'])} on {result['cpus']} CPUs"
        )
        for name, seconds in phases.items():
            print(f"  {name:<12} {seconds:6.2f} s" + ("" if overlapped else f"  {100 * seconds / wall:5.1f} %"))
        print(
            "  verdicts: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in result["verdicts"].items())
        )
    return 0 if all(status == 0 for status in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
