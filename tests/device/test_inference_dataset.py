"""Accuracy on labelled data (hil run --dataset, run_model(dataset=...)): the device's predictions
are those of tflite-micro element by element; the accuracies are measured, printed, not asserted.

person_detect on a seeded 40-image subset of scikit-image's LFW subset (faces vs non-faces), as a
folder of class folders through `hil run`; the anomaly detector ad01 with its float twin through
run_model on synthetic data (AUC). Full-set numbers: docs/inference.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
PERSON_DETECT = SHARED_MODELS / "tflm_examples" / "person_detect.tflite"
AD01 = SHARED_MODELS / "mlperf_tiny" / "ad01_int8.tflite"
AD01_FLOAT = SHARED_MODELS / "mlperf_tiny" / "ad01_fp32.tflite"

pytestmark = pytest.mark.skipif(not PERSON_DETECT.exists(), reason="shared models not available")


def test_person_detect_accuracy_on_lfw_device_equals_reference(hil_options, tmp_path):
    hil_options.require("emulated", why="runs `hil run` with its own emulator")
    pytest.importorskip("skimage", reason="scikit-image (the dev extra) provides the LFW subset")
    from lfw_person import lfw_person, write_folder

    write_folder(tmp_path / "lfw", *lfw_person(count=40, seed=7))
    done = subprocess.run(
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
            str(PERSON_DETECT),
            "--dataset",
            str(tmp_path / "lfw"),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (output,) = report["outputs"]
    assert report["passed"] and report["inferences"] == 40
    assert output["exact_matches"] == output["elements"] == 40 * 2
    accuracy = report["accuracy"]
    assert accuracy["metric"] == "top1" and accuracy["samples"] == 40
    assert accuracy["classes"] == ["0_no_person", "1_person"]
    assert accuracy["device"] == accuracy["reference"]
    print(
        f"person_detect top-1 on 40 LFW images: device {accuracy['device']:.3f}, reference {accuracy['reference']:.3f}"
    )


def test_anomaly_detector_auc_with_its_float_model(run_model, tmp_path):
    rng = np.random.default_rng(5)
    normal = rng.normal(0, 2, (6, 640))
    anomalous = rng.normal(0, 2, (6, 640)) + rng.choice([-12.0, 12.0], (6, 640))
    np.savez(
        tmp_path / "ad.npz", x=np.concatenate([normal, anomalous]).astype(np.float32), y=np.array([0] * 6 + [1] * 6)
    )
    result = run_model(AD01, dataset=tmp_path / "ad.npz", float_model=AD01_FLOAT)
    assert result.verdict.passed, result.describe()
    assert len(result.inference.device_outputs) == 12
    accuracy = result.accuracy
    assert accuracy.metric == "auc" and accuracy.device == accuracy.reference
    assert 0.0 <= accuracy.float_model <= 1.0
    print(result.describe())


def test_a_bad_dataset_is_refused_in_one_line_before_the_board_boots(hil_options, tmp_path):
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 5), np.float32), y=[0, 1, 0])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--board",
            hil_options.board,
            "--model",
            str(PERSON_DETECT),
            "--dataset",
            str(tmp_path / "bad.npz"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "bad.npz: x has shape [3, 5], want [N, 96, 96, 1]" in done.stderr
    assert "Traceback" not in done.stderr and "connecting" not in done.stderr
