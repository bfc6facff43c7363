"""The report's training section: a `hil train` record in a results file, rendered as a loss
curve and held-out accuracy chart with its bit-exact counts and peak SRAM against the budget."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from harness.report.html import render_report
from harness.results import ResultsFile
from harness.training.record import training_record


def _result(losses: list[float]) -> dict:
    """The fields of run_training's result that the record keeps (values as a run reports them)."""
    return {
        "board": "nucleo_f746",
        "emulator": "qemu",
        "model": "vww",
        "build_id": "abc123 2026-12-01 flags",
        "seed": 0,
        "data": "faces",
        "steps": len(losses),
        "qas": True,
        "losses": losses,
        "accuracy_before": 0.517,
        "accuracy_after": 0.617,
        "reference_accuracy_after": 0.617,
        "chance": 0.5,
        "test_samples": 60,
        "losses_bit_exact": len(losses),
        "parameters_bit_exact": 17_794,
        "trained_layers": ["conv2d_13", "head"],
        "peak_sram_bytes": 139_896,
        "budget_bytes": 144_384,
        "sram_region_bytes": 262_144,
        "backbone_on_device": True,
        "plan": {"not": "kept"},
    }


def test_a_training_record_from_a_results_file_renders_its_curves(tmp_path):
    losses = [0.70, 0.69, 0.66, 0.61, 0.55, 0.53]
    results = ResultsFile(tmp_path / "results.jsonl")
    results.append(training_record(_result(losses), "vww"))
    (record,) = list(results.records())
    assert "plan" not in record["training"]
    html = render_report([record], "t")
    section = html[html.index("Training runs") :]
    assert "train vww faces — nucleo_f746 (qemu)" in section
    charts = re.findall(r"<svg .*?</svg>", section)
    assert len(charts) == 2
    loss_chart, accuracy_chart = charts
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', loss_chart)]
    assert len(ys) == len(losses) and ys == sorted(ys)  # one point per step; falling loss: rising y
    assert "last 0.53, -24.29% vs first" in loss_chart
    assert "last 0.617, +19.34% vs first" in accuracy_chart
    assert len(re.findall(r"<circle ", accuracy_chart)) == 2  # before and after
    assert "6 step losses, 17794 parameters" in section
    assert "139,896 B of a 144,384 B budget; firmware linked to 262,144 B of SRAM" in section
    assert "0.517 before, 0.617 after" in section
    assert "0 cases" in html  # a training run is not counted as a benchmark case


def test_an_accuracy_curve_every_n_steps_is_recorded_and_charted(tmp_path):
    losses = [0.70, 0.69, 0.66, 0.61, 0.55]
    curve = [
        {"step": 0, "device": 0.5, "reference": 0.5},
        {"step": 2, "device": 0.55, "reference": 0.55},
        {"step": 4, "device": 0.6, "reference": 0.6},
        {"step": 5, "device": 0.617, "reference": 0.617},
    ]
    result = {**_result(losses), "eval_every": 2, "accuracy_curve": curve, "plan_method": "measured"}
    results = ResultsFile(tmp_path / "results.jsonl")
    results.append(training_record(result, "vww"))
    (record,) = list(results.records())
    assert record["training"]["accuracy_curve"] == curve and record["training"]["plan_method"] == "measured"
    assert record["training"]["accuracy_checkpoints"] == [[0, 0.5], [2, 0.55], [4, 0.6], [5, 0.617]]
    section = render_report([record], "t")
    section = section[section.index("Training runs") :]
    _, accuracy_chart = re.findall(r"<svg .*?</svg>", section)
    assert "every 2 steps" in accuracy_chart and len(re.findall(r"<circle ", accuracy_chart)) == 4
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', accuracy_chart)]
    assert ys == sorted(ys, reverse=True)  # rising accuracy: falling y
    assert "step 0: 0.500, step 2: 0.550, step 4: 0.600, step 5: 0.617 (the reference equal at every checkpoint)" in (
        section
    )
    curve[2]["reference"] = 0.58  # a record that says otherwise is shown as it is
    differing = render_report([training_record(result, "vww")], "t")
    assert "the reference differs at step 4" in differing


def test_device_and_reference_predictions_must_agree_sample_by_sample():
    from harness.training.run import checkpoint_due, prediction_mismatch

    assert prediction_mismatch([0, 1, 1], [0, 1, 1]) is None
    assert prediction_mismatch([0, 1, 1], [0, 0, 1]) == "held-out sample 1: device predicts 1, reference 0"
    assert "2 held-out samples" in (prediction_mismatch([0, 1], [0, 1, 1]) or "")
    assert [done for done in range(1, 8) if checkpoint_due(done, 7, 3)] == [3, 6, 7]
    assert [done for done in range(1, 8) if checkpoint_due(done, 7, None)] == [7]


@pytest.mark.parametrize(
    "value, problem",
    [("21", "--eval-every 21: must be between 1 and --steps (20)"), ("0", "must be at least 1: 0")],
)
def test_an_eval_interval_outside_the_steps_is_refused_in_one_line_before_anything_builds(value, problem):
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "train", "--board", "nucleo_f746", "--task", "toy"]
        + ["--steps", "20", "--eval-every", value],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and problem in result.stderr and "Traceback" not in result.stderr
    assert "building" not in result.stderr.lower() and result.stderr.strip().splitlines()[-1].endswith(problem)
