"""`hil train` from the command line (QEMU)."""

from __future__ import annotations

import json
import subprocess
import sys


def _hil(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_a_plan_over_budget_is_refused_before_the_board_boots(hil_options):
    result = _hil("train", "--board", hil_options.board, "--task", "toy", "--budget", "20KB", "--steps", "5")
    assert result.returncode == 2
    assert "plan needs" in result.stderr and "budget allows 20480" in result.stderr
    assert "connecting to" not in result.stderr and "Traceback" not in result.stderr


def test_hil_train_reports_bit_exact_training_and_memory(hil_options):
    hil_options.require("emulated", why="runs `hil train` with its own emulator")
    result = _hil(
        "train",
        "--board",
        hil_options.board,
        "--emulator",
        hil_options.emulator,
        "--task",
        "toy",
        "--steps",
        "20",
        "--train-samples",
        "40",
        "--test-samples",
        "30",
        "--plan",
        "parameters",  # the most parameters: the pointwise layer trains too (backward through the pool)
        "--eval-every",
        "5",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["losses_bit_exact"] == 20
    curve = data["accuracy_curve"]  # the device's held-out accuracy, the reference's at the same step
    assert [point["step"] for point in curve] == [0, 5, 10, 15, 20]
    assert all(point["device"] == point["reference"] for point in curve)
    assert (curve[0]["device"], curve[-1]["device"]) == (data["accuracy_before"], data["accuracy_after"])
    assert data["plan"]["method"] == "parameters"
    assert data["device_memory"]["measured_peak"] <= data["plan"]["budget"]
    assert data["device_plan"]["planned_peak"] == data["plan"]["predicted_peak"]
    assert data["accuracy_after"] > data["accuracy_before"]
    assert data["peak_sram_bytes"] == data["device_memory"]["measured_peak"] <= data["budget_bytes"]
    assert data["backbone_on_device"] is False  # the toy task has no backbone: samples come over the link
    assert data["trained_layers"] == ["pointwise", "head"] and data["parameters_bit_exact"] > 0
    assert len(data["losses"]) == 20 and sum(data["parameters_changed"].values()) > 0


def test_hil_train_with_stochastic_rounding_writes_a_record_the_report_charts(hil_options, tmp_path):
    hil_options.require("emulated", why="runs `hil train` with its own emulator")
    results, report = tmp_path / "results.jsonl", tmp_path / "report.html"
    common = ["--board", hil_options.board, "--emulator", hil_options.emulator, "--task", "toy"]
    sizes = ["--steps", "5", "--train-samples", "10", "--test-samples", "10", "--seed", "3"]
    extra = ["--stochastic-rounding", "--eval-every", "2", "--results", str(results), "--json"]
    result = _hil("train", *common, *sizes, *extra)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stochastic_rounding"] is True and data["losses_bit_exact"] == 5
    plan = data["plan"]  # the default: chosen by contributions measured on the host reference
    assert plan["method"] == "measured" and set(plan["layer_gains"]) == {"pointwise", "head"}
    assert len(plan["contributions"]["pieces"]) == 5 and plan["contributions"]["validation_samples"] == 2
    assert [point["step"] for point in data["accuracy_curve"]] == [0, 2, 4, 5]
    assert data["sram_region_bytes"] == 256 * 1024 >= data["peak_sram_bytes"]
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert record["case"] == "train toy stripes" and record["training"]["losses"] == data["losses"]
    shown = _hil("report", "--results", str(results), "--out", str(report))
    assert shown.returncode == 0, shown.stderr
    html = report.read_text()
    assert "Training runs" in html and html.count("<svg") == 2 and "loss per step" in html
    assert "every 2 steps" in html and "the reference equal at every checkpoint" in html
