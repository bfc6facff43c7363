"""Benchmarks as pytest tests: each records its numbers as JUnit properties and, with
--hil-baseline, fails on a regression against the board's baseline (see harness/pytest_metrics.py)."""

import numpy as np

from harness.engine.pack import pack_file
from harness.metrics.model_bench import EngineBench, load
from harness.metrics.workloads import bench_model, bench_selftest, selftest_checksum
from harness.model import ModelBuilder, quant


def test_selftest_workload_benchmark(hil_options, measured_dut, hil_metrics):
    hil_options.require(
        "emulated", why="the self-test baseline is for emulators"
    )  # real boards: cycles vary with caches
    record = bench_selftest(measured_dut, iterations=1000, layers=4, repeat=2)
    assert record["verdict"] == "pass" and record["compared"] == {"elements": 2, "exact": 2}
    assert record["workload"]["checksum"] == selftest_checksum(1000, 4)  # the host's own xorshift32
    hil_metrics(record)


def _output_is_also_the_input(path):
    """x -> SOFTMAX -> y with graph outputs [y, x]: x is a graph output that no operator writes."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.int8, quant(0.1, 0))
    y = b.tensor("y", (1, 4), np.int8, quant(1 / 256, -128))
    b.operator("SOFTMAX", [x], [y])
    path.write_bytes(b.build([x], [y, x]))
    return path


def test_bench_and_run_compare_the_same_set(hil_options, measured_dut, run_model, tmp_path):
    """Every graph output (also one no operator writes) and every operator output, in both."""
    hil_options.require("emulated", why="the measured fixture's model is streamed; this checks the emulated pair")
    model = _output_is_also_the_input(tmp_path / "passthrough.tflite")
    packed = pack_file(model, measured_dut.dut.board, hil_options.emulator)
    record = bench_model(measured_dut, EngineBench(load(measured_dut, packed, None)), model, seed=1, repeat=1)
    assert record["verdict"] == "pass" and record["bit_exact"] is True
    assert record["compared"] == {"elements": 12, "exact": 12}  # y, x and SOFTMAX's y
    result = run_model(model, count=1, seed=1, per_layer=True)
    assert result.verdict.passed, result.describe()
    assert (result.verdict.elements, result.verdict.exact) == (12, 12)
    assert [c.name for c in result.verdict.outputs] == ["y", "x"]
