"""Benchmarks as pytest tests: each records its numbers as JUnit properties and, with
--hil-baseline, fails on a regression against the board's baseline (see harness/pytest_metrics.py)."""
import pytest

from harness.metrics.workloads import bench_selftest


def test_selftest_workload_benchmark(hil_options, measured_dut, hil_metrics):
    if hil_options.emulator == "none":
        pytest.skip("the self-test baseline is for emulators")  # real boards: cycles vary with caches
    record = bench_selftest(measured_dut, iterations=1000, layers=4, repeat=2)
    assert record["verdict"] == "pass"
    hil_metrics(record)
