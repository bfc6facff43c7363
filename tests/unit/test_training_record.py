"""A `hil train --results` record as every other results record: a .tflite backbone recorded by
its path relative to the project and its SHA-256, the environment it ran in; and `hil report`
renders a file of training runs alone, or mixed with benchmark records, environment included."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from harness import resources
from harness.report.html import render_report
from harness.shared_models import resolve_path
from harness.training.record import training_record
from tests.unit.test_report_training import _result

REPO = Path(__file__).resolve().parents[2]
TINY_CONV = REPO / "models" / "tiny_conv" / "tiny_conv_int8.tflite"


def test_a_backbone_file_is_recorded_relative_to_the_project_with_its_digest(tmp_path, monkeypatch):
    backbone = tmp_path / "models" / "backbone.tflite"
    backbone.parent.mkdir()
    shutil.copy(TINY_CONV, backbone)
    monkeypatch.setattr(resources, "_project_dir", tmp_path)
    record = training_record({**_result([0.7, 0.6]), "model": str(backbone)}, "vww")
    assert record["model"] == "backbone.tflite" and record["model_path"] == "./models/backbone.tflite"
    assert record["model_sha256"] == hashlib.sha256(backbone.read_bytes()).hexdigest()
    assert resolve_path(record["model_path"]) == backbone


def test_a_built_in_task_is_recorded_by_name_with_its_environment():
    record = training_record({**_result([0.7, 0.6]), "model": "toy"}, "toy")
    assert record["model"] == "toy" and record["model_sha256"] is None and "model_path" not in record
    assert record["environment"]["harness"] and "qemu" in record["environment"]


def _bench_record() -> dict:
    return {
        "board": "nucleo_f746",
        "emulator": "qemu",
        "build_id": "abc 2026-12-01T00:00:00Z",
        "case": "hello_world_int8",
        "model": "hello_world_int8.tflite",
        "verdict": "pass",
        "metrics": {"timing": {"unit": "instructions", "total": 5400}, "memory": {"flash_bytes": 60000}},
        "environment": {"harness": "0.1.0", "qemu": "QEMU emulator version 7.2.0"},
    }


def test_the_report_renders_training_runs_alone_and_beside_benchmark_cases():
    training = training_record(_result([0.7, 0.6, 0.5]), "vww")
    alone = render_report([training], "t")
    assert "Training runs" in alone and "0 cases" in alone
    environment = alone[alone.index("<h2>Environment</h2>") : alone.index("<h2>Summary")]
    assert "nucleo_f746 (qemu)" in environment  # the training run's environment
    mixed = render_report([_bench_record(), training], "t")
    assert "1 cases" in mixed and "Training runs" in mixed and "<h3>hello_world_int8 — nucleo_f746" in mixed


def test_baseline_and_regress_from_a_results_file_hil_train_also_wrote(tmp_path, capsys):
    """`hil bench` and `hil train` may share a results file (the report shows both): a training
    run is not a benchmark case, so it is neither put into the baseline nor gated."""
    from harness.cli import main
    from harness.results import ResultsFile
    from tests.unit.test_project_home import _record

    results, baseline = tmp_path / "runs.jsonl", tmp_path / "baseline.json"
    ResultsFile(results).append(_record("bench_case", 10))
    ResultsFile(results).append(training_record(_result([0.7, 0.6]), "vww"))
    board = ["--board", "nucleo_f746", "--emulator", "qemu", "--results", str(results), "--baseline", str(baseline)]
    assert main(["baseline", "update", "--from-results", *board]) == 0
    assert list(json.loads(baseline.read_text())["cases"]) == ["bench_case"]
    capsys.readouterr()
    assert main(["regress", "--from-results", "--strict", "--json", *board]) == 0
    assert json.loads(capsys.readouterr().out)["new"] == []


def test_hil_train_reports_the_firmware_build_and_boot_on_its_progress(monkeypatch):
    """run_training hands its progress to Dut.open, so the training build is not silent."""
    from harness.progress import Progress
    from harness.training import run

    seen = {}

    def opened(*args, **kwargs):
        seen.update(kwargs)
        raise InterruptedError  # stands in for the board: nothing boots

    monkeypatch.setattr(run.Dut, "open", opened)
    progress = Progress.quiet()
    try:
        run.run_training("nucleo_f746", "qemu", "toy", 256 * 1024, 1, 4, 4, progress=progress)
    except InterruptedError:
        pass
    assert seen["progress"] is progress
