"""The user's project is the home: its boards, its baselines, paths relative to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import boards, resources, shared_models
from harness.baseline import baseline_path, load_baseline, write_baseline
from harness.results import ResultsFile, new_record

REPO = Path(__file__).resolve().parents[2]


def project_board(folder: Path, name: str, title: str = "a project's board") -> Path:
    """A board file of the user's own: the built-in nucleo_f746 under another name."""
    text = (resources.builtin_boards_dir() / "nucleo_f746.yaml").read_text()
    text = text.replace("name: nucleo_f746", f"name: {name}").replace("NUCLEO-F746ZG (Nucleo-144)", title)
    text = text.replace("pio_env: nucleo_f746_qemu", f"pio_env: {name}_qemu").replace(
        "pio_env: nucleo_f746", f"pio_env: {name}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def clean_search(monkeypatch, tmp_path):
    monkeypatch.setattr(boards, "_project_boards_dirs", [])
    monkeypatch.delenv("HIL_BOARDS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


def test_project_boards_sit_beside_the_built_in_ones_and_come_first(tmp_path, clean_search):
    project_board(tmp_path / "mine", "myf746")
    project_board(tmp_path / "mine", "uno", title="my own uno")
    boards.add_boards_dirs([tmp_path / "mine"])
    assert {"myf746", "uno", "nucleo_f746"} <= set(boards.known_boards())
    assert boards.load_board("myf746").variant("qemu").pio_env == "myf746_qemu"
    assert boards.load_board("uno").title == "my own uno"
    assert boards.load_board("nucleo_f746").path.parent == resources.builtin_boards_dir()


def test_boards_in_the_current_directory_and_hil_boards_dir(tmp_path, clean_search, monkeypatch):
    project_board(tmp_path / "boards", "here")
    project_board(tmp_path / "elsewhere", "there")
    monkeypatch.setenv("HIL_BOARDS_DIR", str(tmp_path / "elsewhere"))
    assert {"here", "there", "uno"} <= set(boards.known_boards())
    with pytest.raises(boards.BoardError, match="unknown board 'nowhere'; known boards: .*here"):
        boards.load_board("nowhere")


def test_baselines_default_to_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_project_dir", tmp_path)
    assert baseline_path("uno", "qemu") == tmp_path / "baselines" / "uno-qemu.json"


def _record(case: str, instructions: int) -> dict:
    metrics = {"timing": {"regions": [{"unit": "instructions", "name": "total", "instructions": instructions}]}}
    return new_record(board="nucleo_f746", emulator="qemu", build_id="b", case=case, metrics=metrics, bit_exact=True)


def test_baseline_update_merges_into_the_existing_file(tmp_path):
    path = tmp_path / "b.json"
    write_baseline(path, "nucleo_f746", "qemu", {"a": _record("a", 100), "b": _record("b", 200)})
    data = load_baseline(path)
    data["thresholds"] = {"default": 0.05}
    path.write_text(json.dumps(data))
    write_baseline(path, "nucleo_f746", "qemu", {"b": _record("b", 250)}, load_baseline(path))
    merged = load_baseline(path)
    assert sorted(merged["cases"]) == ["a", "b"] and merged["thresholds"] == {"default": 0.05}
    assert merged["cases"]["a"]["metrics"] == {"instructions.total": 100}
    assert merged["cases"]["b"]["metrics"] == {"instructions.total": 250}


def test_hil_baseline_update_writes_into_the_current_project_and_merges(tmp_path):
    results = tmp_path / "runs.jsonl"
    for case in ("first", "second"):
        ResultsFile(results).append(_record(case, 10))
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "baseline",
        "update",
        "--board",
        "nucleo_f746",
        "--emulator",
        "qemu",
        "--from-results",
        "--results",
        str(results),
    ]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    assert subprocess.run(command, cwd=tmp_path, env=env, capture_output=True).returncode == 0
    results.write_text("")
    ResultsFile(results).append(_record("third", 10))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = load_baseline(tmp_path / "baselines" / "nucleo_f746-qemu.json")
    assert sorted(written["cases"]) == ["first", "second", "third"]
    assert "1 cases measured, 3 in the baseline" in done.stdout


def test_model_paths_are_recorded_relative_to_the_project(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    monkeypatch.setattr(resources, "_project_dir", project)
    inside, beside = project / "models" / "m.tflite", tmp_path / "shared" / "x.tflite"
    assert shared_models.portable_path(inside) == "./models/m.tflite"
    assert shared_models.portable_path(beside) == "../shared/x.tflite"
    for path in (inside, beside):
        assert shared_models.resolve_path(shared_models.portable_path(path)).resolve() == path.resolve()


def test_older_shared_models_relative_paths_still_resolve():
    recorded = "mlperf_tiny/kws_ref_model.tflite"
    assert shared_models.resolve_path(recorded) == shared_models.SHARED_MODELS / recorded
    assert shared_models.resolve_path("/abs/m.tflite") == Path("/abs/m.tflite")
