"""harness.reference: the TFLM interpreter in a worker process."""

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.model import load_model
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import single_op_model

SHARED = SHARED_MODELS
needs_models = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no models in {SHARED}")


def test_run_returns_outputs_and_is_reusable():
    raw = single_op_model("FULLY_CONNECTED", "float32")
    model = load_model(raw)
    weights, bias = (model.tensors[i].data for i in model.operators[0].inputs[1:])
    rng = np.random.default_rng(0)
    with Reference(raw) as ref:
        for _ in range(3):
            x = rng.normal(size=(1, 16)).astype(np.float32)
            (y,) = ref.run([x])
            np.testing.assert_allclose(y, x @ weights.T + bias, rtol=1e-5, atol=1e-6)


def test_run_all_returns_every_tensor():
    raw = single_op_model("CONV_2D", "int8")
    model = load_model(raw)
    x = np.random.default_rng(1).integers(-128, 128, (1, 8, 8, 3), dtype=np.int8)
    with Reference(raw, preserve_all=True) as ref:
        values = ref.run_all([x])
        (output,) = ref.run([x])
    assert sorted(values) == list(range(len(model.tensors)))
    np.testing.assert_array_equal(values[model.inputs[0]], x)
    np.testing.assert_array_equal(values[model.outputs[0]], output)
    weights = model.operators[0].inputs[1]
    np.testing.assert_array_equal(values[weights], model.tensors[weights].data)


def test_run_all_needs_preserve_all():
    with Reference(single_op_model("LOGISTIC", "float32")) as ref, pytest.raises(HarnessError, match="preserve_all"):
        ref.run_all([np.zeros((1, 32), np.float32)])


@needs_models
@pytest.mark.parametrize("name", ["pretrainedResnet_quant", "ad01_int8"])
def test_arena_bytes_is_the_smallest_arena_that_works(name):
    # ad01's search passes arenas on which TFLM segfaults: the probes must survive that.
    path = SHARED / f"mlperf_tiny/{name}.tflite"
    with Reference(path) as ref:
        arena = ref.arena_bytes()
        x = np.zeros(ref.model.tensors[ref.model.inputs[0]].shape, np.int8)
        expected = ref.run([x])
    assert arena % 16 == 0
    with Reference(path, arena_size=arena) as ref:
        np.testing.assert_array_equal(ref.run([x])[0], expected[0])
    with pytest.raises(HarnessError, match="too small|crashed"):
        Reference(path, arena_size=arena - 16)


def test_a_crashing_interpreter_is_a_harness_error_naming_the_model():
    raw = single_op_model("CONV_2D", "int8")
    with pytest.raises(
        HarnessError,
        match=r"tiny\.tflite: reference interpreter crashed "
        r"\(killed by SIGSEGV\)",
    ):
        Reference(raw, name="tiny.tflite", arena_size=100)  # TFLM segfaults on this


@needs_models
def test_hybrid_model_is_refused_with_tflm_reason():
    with pytest.raises(HarnessError, match="Hybrid models are not supported"):
        Reference(SHARED / "mlperf_tiny/kws_ref_model_float32.tflite")


def test_wrong_input_dtype_shape_or_count():
    with Reference(single_op_model("ADD", "int8"), name="add") as ref:
        a = np.zeros((1, 4, 4, 3), np.int8)
        with pytest.raises(HarnessError, match="must be int8, got float32"):
            ref.run([a.astype(np.float32), a])
        with pytest.raises(HarnessError, match=r"has shape \[1, 4, 4, 3\], got \[5\]"):
            ref.run([a, np.zeros(5, np.int8)])
        with pytest.raises(HarnessError, match="takes 2 input"):
            ref.run([a])
        assert ref.run([a.reshape(48), a])[0].shape == (1, 4, 4, 3)  # same size reshapes


def test_closed_reference_refuses_work():
    ref = Reference(single_op_model("LOGISTIC", "int8"))
    ref.close()
    with pytest.raises(HarnessError, match="closed"):
        ref.run([np.zeros((1, 32), np.int8)])
    ref.close()  # twice is fine


def test_garbage_model_is_a_model_error_before_any_worker():
    from harness.model import ModelError

    with pytest.raises(ModelError):
        Reference(b"garbage garbage garbage")
