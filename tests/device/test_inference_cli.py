"""hil run end to end: device against tflite-micro, JSON report, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"

pytestmark = pytest.mark.skipif(not HELLO.exists(), reason="shared models not available")


def _hil(hil_options, *args: str) -> subprocess.CompletedProcess:
    hil_options.require("emulated", why="runs `hil run` with its own emulator")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--board",
            hil_options.board,
            "--emulator",
            hil_options.emulator,
            "--model",
            str(HELLO),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hil_run_reports_exact_match_as_json(hil_options):
    done = _hil(hil_options, "--inputs", "5", "--seed", "3", "--per-layer", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["inferences"] == 5
    assert report["timer_kind"] == "instructions" and report["per_inference"] > 0
    (output,) = report["outputs"]
    assert output["exact_matches"] == output["elements"] == 5
    assert "first_diverging_layer" not in report
    # hello_world's three FULLY_CONNECTED outputs (16, 16, 1 elements) are compared too
    assert [layer["elements"] for layer in report["layers"]] == [16, 16, 1]
    assert report["compared_elements"] == report["exact_elements"] == 5 + 33


def test_hil_run_with_an_input_file(hil_options, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.array([[42]], np.int8))
    done = _hil(hil_options, "--input", str(x))
    assert done.returncode == 0, done.stderr
    assert "1/1 exact" in done.stdout
    assert "PASS: compared 1 elements of 1 graph outputs, 1 exact" in done.stdout


def test_hil_run_bad_input_is_exit_2(hil_options, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 3), np.float32))
    done = _hil(hil_options, "--input", str(x))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "must be int8" in done.stderr
