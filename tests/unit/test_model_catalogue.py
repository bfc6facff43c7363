"""models/: the project's own models match their generators; the README catalogue is current."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.model import load_model
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS

ROOT = Path(__file__).resolve().parents[2]
SHARED = SHARED_MODELS


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_tiny_conv_files_are_what_make_py_makes():
    result = run_script("models/tiny_conv/make.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_tiny_conv_int8_runs_and_agrees_with_its_float_twin():
    int8 = load_model(ROOT / "models/tiny_conv/tiny_conv_int8.tflite")
    float32 = load_model(ROOT / "models/tiny_conv/tiny_conv_float.tflite")
    assert int8.opcodes == [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "RESHAPE",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    assert int8.opcodes == float32.opcodes
    x_in = int8.tensors[int8.inputs[0]]
    assert x_in.dtype == np.int8 and int8.tensors[int8.outputs[0]].dtype == np.int8
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (8, 6, 6)).repeat(4, axis=1).repeat(4, axis=2)[..., None]
    scale, zero_point = float(x_in.quant.scale[0]), int(x_in.quant.zero_point[0])
    with Reference(int8) as q_ref, Reference(float32) as f_ref:
        for image in images.astype(np.float32):
            x = image[None]
            q = np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)
            probs = (q_ref.run([q])[0].astype(np.float32) + 128) / 256
            np.testing.assert_allclose(probs, f_ref.run([x])[0], atol=0.05)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no models in {SHARED}")
def test_readme_catalogue_is_current():
    result = run_script("models/catalogue/make.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
