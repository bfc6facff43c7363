"""harness.model.writer: round trips, single-operator models, and what TFLM makes of them."""

import numpy as np
import pytest

from harness.model import ModelBuilder, ModelError, load_model, quant, write_model
from harness.model.writer import BUFFER_ALIGNMENT
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import SINGLE_OP_CASES, single_op_model

SHARED = SHARED_MODELS
MODELS = [p for p in sorted(SHARED.glob("*/*.tflite")) if "kws_ref_model_float32" not in p.name]
needs_models = pytest.mark.skipif(not MODELS, reason=f"no models in {SHARED}")


def assert_same_content(a, b):
    assert (a.inputs, a.outputs, a.description) == (b.inputs, b.outputs, b.description)
    assert len(a.tensors) == len(b.tensors) and len(a.operators) == len(b.operators)
    for x, y in zip(a.tensors, b.tensors):
        assert (x.name, x.shape, x.dtype) == (y.name, y.shape, y.dtype)
        assert (x.data is None) == (y.data is None)
        if x.data is not None:
            np.testing.assert_array_equal(x.data, y.data)
        assert (x.quant is None) == (y.quant is None)
        if x.quant is not None:
            np.testing.assert_array_equal(x.quant.scale, y.quant.scale)
            np.testing.assert_array_equal(x.quant.zero_point, y.quant.zero_point)
            assert x.quant.axis == y.quant.axis
    for x, y in zip(a.operators, b.operators):
        assert (x.opcode, x.inputs, x.outputs, x.options) == (y.opcode, y.inputs, y.outputs, y.options)


def random_inputs(model, seed=0):
    rng = np.random.default_rng(seed)
    values = []
    for i in model.inputs:
        t = model.tensors[i]
        if t.dtype == np.int8:
            values.append(rng.integers(-128, 128, t.shape, dtype=np.int8))
        else:
            values.append(rng.uniform(-1, 1, t.shape).astype(t.dtype))
    return values


@needs_models
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_round_trip_keeps_content_and_results(path):
    original = load_model(path)
    written = write_model(original)
    copy = load_model(written)
    assert_same_content(original, copy)
    assert write_model(copy) == written  # deterministic
    inputs = random_inputs(original)
    with Reference(original) as a, Reference(copy) as b:
        for x, y in zip(a.run(inputs), b.run(inputs)):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(("opcode", "dtype"), SINGLE_OP_CASES)
def test_single_op_models_round_trip_and_run(opcode, dtype):
    raw = single_op_model(opcode, dtype, seed=3)
    model = load_model(raw)
    assert [op.opcode for op in model.operators] == [opcode]
    assert write_model(model) == raw
    with Reference(raw) as ref:
        outputs = ref.run(random_inputs(model))
    out = model.tensors[model.outputs[0]]
    assert outputs[0].shape == out.shape and outputs[0].dtype == out.dtype


def test_float_ops_compute_what_numpy_computes():
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 2, 3), np.float32)
    y = b.tensor("y", (1, 2, 2, 3), np.float32)
    s = b.tensor("sum", (1, 2, 2, 3), np.float32)
    m = b.tensor("mean", (1, 1, 1, 3), np.float32)
    axis = b.constant("axis", np.array([1, 2], np.int32))
    b.operator("ADD", [x, y], [s], fused_activation_function="RELU")
    b.operator("MEAN", [s, axis], [m], keep_dims=True)
    rng = np.random.default_rng(5)
    a_val, c_val = (rng.normal(size=(1, 2, 2, 3)).astype(np.float32) for _ in range(2))
    with Reference(b.build([x, y], [m])) as ref:
        got = ref.run([a_val, c_val])[0]
    expected = np.maximum(a_val + c_val, 0).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_buffers_are_aligned():
    raw = single_op_model("FULLY_CONNECTED", "int8")
    model = load_model(raw)
    for t in model.tensors:
        if t.data is not None:
            offset = raw.find(t.data.tobytes())
            assert offset % BUFFER_ALIGNMENT == 0, t.name


def test_builder_options_and_quantization_survive():
    b = ModelBuilder("options")
    x = b.tensor("x", (1, 6, 6, 2), np.int8, quant(0.5, -1))
    y = b.tensor("y", (1, 3, 3, 2), np.int8, quant(0.5, -1))
    b.operator(
        "MAX_POOL_2D",
        [x],
        [y],
        padding="SAME",
        filter_width=3,
        filter_height=3,
        stride_w=2,
        stride_h=2,
        fused_activation_function="RELU6",
    )
    model = load_model(b.build([x], [y]))
    assert model.description == "options"
    assert model.operators[0].options == {
        "padding": "SAME",
        "stride_w": 2,
        "stride_h": 2,
        "filter_width": 3,
        "filter_height": 3,
        "fused_activation_function": "RELU6",
    }
    assert model.tensors[x].quant.scale.tolist() == [0.5]
    assert model.tensors[x].quant.zero_point.tolist() == [-1]


def test_per_channel_quantization_round_trips():
    scales = np.array([0.1, 0.2, 0.3], np.float32)
    b = ModelBuilder()
    w = b.constant("w", np.ones((1, 2, 2, 3), np.int8), quant(scales, 0, axis=3))
    model = load_model(b.build([], [w]))
    q = model.tensors[w].quant
    assert q.axis == 3 and q.scale.tolist() == scales.tolist() and q.zero_point.tolist() == [0] * 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"padding": "DIAGONAL"}, "not a Padding"),
        ({"stride": 2}, "unknown option 'stride'"),
    ],
)
def test_bad_options_are_model_errors(options, message):
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), np.float32)
    y = b.tensor("y", (1, 2, 2, 1), np.float32)
    b.operator("AVERAGE_POOL_2D", [x], [y], **options)
    with pytest.raises(ModelError, match=message):
        b.build([x], [y])


def test_dangling_tensor_index_is_a_model_error():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    b.operator("LOGISTIC", [x], [7])
    with pytest.raises(ModelError, match="tensor 7"):
        b.build([x], [x])


def test_unknown_single_op_is_a_model_error():
    with pytest.raises(ModelError, match="no single-operator model for TANH"):
        single_op_model("TANH")
