"""What `hil bench` measures: the firmware's self-test workload, or a model through the engine.

Each workload returns a results record (harness/results.py) whose metrics hold the timing of
every region the firmware timed and the memory figures.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..engine.compare import Verdict, compare_tensor
from ..environment import environment
from ..errors import CheckFailed
from ..results import new_record
from ..shared_models import portable_path
from .measured_dut import MeasuredDut
from .timing import REGION_INFERENCE, REGION_SELFTEST, RegionTiming

if TYPE_CHECKING:
    from .model_bench import ModelOutcome

SELFTEST_CASE = "selftest"


class ModelUnderBench(Protocol):
    """What bench_model needs of a model on a device: the harness's engine
    (model_bench.EngineBench) or a user's firmware (metrics/firmware_bench.FirmwareBench)."""

    def timed_run(self, m: MeasuredDut, seed: int) -> tuple[list[RegionTiming], str]:
        """One measured inference of input set 0 of `seed`: its region timings and how the
        layers were timed."""
        ...

    def judge(self, seed: int, name: str) -> ModelOutcome:
        """The verdict of that input against tflite-micro: every output, every layer it can."""
        ...

    def record_fields(self, m: MeasuredDut) -> dict[str, Any]:
        """What the record adds or overrides (the model's flash, the firmware's identity)."""
        ...


def timing_summary(timings: list[RegionTiming], total_region: int) -> dict[str, Any]:
    total = next((t for t in timings if t.region_id == total_region), None)
    return {
        "unit": total.unit if total else None,
        "source": total.source if total else None,
        "total": total.value if total else None,
        "regions": [t.as_dict() for t in timings],
    }


def repeat_tolerance(timing: RegionTiming, units_per_tick: int) -> int:
    """How far two runs of the same instructions may read apart. The plugin counts exactly (0).
    A timer counting in steps of `units_per_tick` instructions (the mps2's CMSDK timer under
    -icount: 40) reads each call as floor(end/step) - floor(start/step), within one step of the
    true count whatever the phase of the timer: so two equal runs differ by at most one step
    per call."""
    return timing.calls * units_per_tick if timing.source == "icount-timer" else 0


def _check_repeats(case: str, runs: list[list[RegionTiming]], emulated: bool, units_per_tick: int = 1) -> None:
    """On an emulator every repeat must count the same instructions (to the timer's resolution,
    see repeat_tolerance), or the proxy is useless."""
    if not emulated or len(runs) < 2:
        return
    for number, run in enumerate(runs[1:], 2):
        same = [t.region_id for t in run] == [t.region_id for t in runs[0]] and all(
            t.calls == f.calls and abs(t.value - f.value) <= repeat_tolerance(f, units_per_tick)
            for t, f in zip(run, runs[0])
        )
        if not same:
            raise CheckFailed(
                f"{case}: run {number} counted other instructions than run 1 (emulator counts must be deterministic)"
            )


def _record(
    m: MeasuredDut, case: str, timings: list[RegionTiming], total_region: int, repeat: int, **fields: Any
) -> dict[str, Any]:
    info, board = m.dut.info, m.dut.board
    common: dict[str, Any] = {
        "board": board.name,
        "emulator": m.dut.variant.emulator,
        "build_id": info.build_id if info else "",
        "case": case,
        "metrics": {"timing": timing_summary(timings, total_region), "memory": m.memory()},
        "repeat": repeat,
        "timing_note": m.plugin_note or None,
        "environment": environment(board.arch),
        "board_flash_bytes": m.dut.variant.memory.flash.size,
    }
    return new_record(**{**common, **fields})


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    """What a results record says of its verdict: pass/fail and what was compared to decide it."""
    return {
        "verdict": "pass" if verdict.passed else "fail",
        "bit_exact": verdict.passed,
        "compared": {"elements": verdict.elements, "exact": verdict.exact},
    }


def selftest_checksum(iterations: int, layers: int) -> int:
    """The checksum METRICS_SELFTEST must return (firmware/src/metrics/metrics.c: xorshift32 over
    part i's (i + 1) * iterations steps), computed on the host."""
    state = 2463534242
    for _ in range(iterations * layers * (layers + 1) // 2):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
    return state


def bench_selftest(
    m: MeasuredDut, iterations: int = 1000, layers: int = 4, repeat: int = 2, case: str = SELFTEST_CASE
) -> dict[str, Any]:
    """Times the self-test workload `repeat` times; every repeat's checksum is compared with the host's."""
    runs, checksums = [], []
    m.memory(repaint_stack=True)
    for _ in range(repeat):
        checksum, timings = m.measure(lambda: m.selftest(iterations, layers))
        runs.append(timings)
        checksums.append(checksum)
    _check_repeats(case, runs, m.dut.capabilities.emulated, _units_per_tick(m))
    expected = np.full(len(checksums), selftest_checksum(iterations, layers), np.uint32)
    verdict = Verdict([compare_tensor("checksum", np.array(checksums, np.uint32), expected)])
    return _record(
        m,
        case,
        runs[0],
        REGION_SELFTEST,
        repeat,
        model=case,
        model_sha256=None,
        seed=None,
        workload={"iterations": iterations, "layers": layers, "checksum": checksums[0]},
        **verdict_fields(verdict),
    )


def _units_per_tick(m: MeasuredDut) -> int:
    return m.dut.info.timer_units_per_tick if m.dut.info else 1


def model_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bench_model(
    m: MeasuredDut, subject: ModelUnderBench, model: Path, seed: int, repeat: int = 2, case: str | None = None
) -> dict[str, Any]:
    """Times one input per repeat on a loaded model, then checks every layer bit-exact once."""
    runs, how = [], ""
    m.memory(repaint_stack=True)
    for _ in range(repeat):
        timings, how = subject.timed_run(m, seed)
        runs.append(timings)
    _check_repeats(model.name, runs, m.dut.capabilities.emulated, _units_per_tick(m))
    outcome = subject.judge(seed, model.name)
    return _record(
        m,
        case or model.stem,
        runs[0],
        REGION_INFERENCE,
        repeat,
        model=model.name,
        model_path=portable_path(model),
        model_sha256=model_digest(model),
        seed=seed,
        mismatch=outcome.mismatch,
        layer_names=outcome.layer_names,
        layer_timing=how,
        **verdict_fields(outcome.verdict),
        **subject.record_fields(m),
    )
