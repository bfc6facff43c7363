"""Float models from ../shared/models, quantized by `hil quantize`, run bit-exact on the device."""

import numpy as np
import pytest

from harness.model import load_model
from harness.model.quantize import quantize_model
from harness.shared_models import SHARED_MODELS

SHARED = SHARED_MODELS
FLOAT_MODELS = {
    "hello_world_float": ("tflm_examples/hello_world_float.tflite", (0.0, 6.28)),
    "ad01_fp32": ("mlperf_tiny/ad01_fp32.tflite", (0.0, 1.0)),
    "pretrainedResnet": ("mlperf_tiny/pretrainedResnet.tflite", (0.0, 1.0)),
}


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_quantized_float_model_runs_bit_exact_on_the_device(name, run_model, tmp_path):
    relative, (low, high) = FLOAT_MODELS[name]
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared models live beside the repository)")
    float_bytes = path.read_bytes()
    model = load_model(float_bytes)
    shape = (16, *model.tensors[model.inputs[0]].shape[1:])
    calibration = np.random.default_rng(0).uniform(low, high, size=shape).astype(np.float32)
    int8_bytes, report = quantize_model(float_bytes, calibration)
    assert report.layers, "the quantizer reports every layer"
    int8_path = tmp_path / f"{name}_int8.tflite"
    int8_path.write_bytes(int8_bytes)
    result = run_model(int8_path, count=3, seed=7)
    assert result.verdict.passed, result.describe()
