"""The report's training section: a `hil train` record in a results file, rendered as a loss
curve and held-out accuracy chart with its bit-exact counts and peak SRAM against the budget."""

from __future__ import annotations

import re

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
