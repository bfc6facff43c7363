"""harness.model.requant against TFLM: its unit-test values, and bit-exact kernel outputs."""

import math

import numpy as np
import pytest

from harness.model import ModelBuilder, load_model, quant
from harness.model import requant as rq
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import single_op_model

# Expected pairs below are copied from TFLite's own quantization_util_test.cc.


@pytest.mark.parametrize(
    "value, expected",
    [
        (-4, (-1073741824, 3)),
        (-0.5, (-1073741824, 0)),
        (-0.125, (-1073741824, -2)),
        (0, (0, 0)),
        (0.125, (1073741824, -2)),
        (0.5, (1073741824, 0)),
        (1, (1073741824, 1)),
        (4, (1073741824, 3)),
    ],
)
def test_quantize_multiplier_array_values(value, expected):
    assert rq.quantize_multiplier(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (0.25, (1073741824, -1)),
        (0.50 - 5e-9, (2147483627, -1)),
        (0.50 - 1e-10, (1073741824, 0)),  # q rounds up to 1.0: halved, shift + 1
        (0.50, (1073741824, 0)),
        (0.75, (1610612736, 0)),
        (1 - 1e-9, (2147483646, 0)),
    ],
)
def test_quantize_multiplier_smaller_than_one(value, expected):
    assert rq.quantize_multiplier_smaller_than_one_exp(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (1 + 1e-11, (1073741824, 1)),
        (1.25, (1342177280, 1)),
        (1.75, (1879048192, 1)),
        (2 - 1e-9, (2147483647, 1)),
        (2 - 1e-11, (1073741824, 2)),
        (2, (1073741824, 2)),
    ],
)
def test_quantize_multiplier_greater_than_one(value, expected):
    assert rq.quantize_multiplier_greater_than_one(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (math.ldexp(1.0, -31), (1073741824, -30)),
        (math.ldexp(1.0, -32), (1073741824, -31)),
        (math.ldexp(float(np.float32(0.99)), -32), (0, 0)),
        (math.ldexp(1.0, -33), (0, 0)),
    ],
)
def test_quantize_multiplier_underflow_flushes_to_zero(value, expected):
    assert rq.quantize_multiplier(value) == expected


@pytest.mark.parametrize(
    "x, real, expected",
    [
        (0, 0.1, 0),
        (1, 0, 0),
        (10000, 0.00097656, 10),
        (-10000, 0.00097656, -10),
        (rq.INT32_MIN, 0.00001, -21475),
        (rq.INT32_MAX, 0.00001, 21475),
        (10000, -0.00097656, -10),
        (-10000, -0.00097656, 10),
        (rq.INT32_MIN, -0.00001, 21475),
        (rq.INT32_MAX, -0.00001, -21475),
    ],
)
def test_multiply_by_quantized_multiplier(x, real, expected):
    assert rq.multiply_by_quantized_multiplier(x, *rq.quantize_multiplier(real)) == expected


def test_multiply_by_quantized_multiplier_extremes():
    x, m, shift = rq.INT32_MAX, rq.INT32_MAX, -3
    expected = rq.tflite_round(x * m / float(1 << (31 - shift)))
    assert rq.multiply_by_quantized_multiplier(x, m, shift) == expected
    assert rq.multiply_by_quantized_multiplier(-x, m, shift) == -expected


def test_saturating_high_mul_saturates_the_one_overflow():
    assert rq.saturating_rounding_doubling_high_mul(rq.INT32_MIN, rq.INT32_MIN) == rq.INT32_MAX


def test_rounding_divide_by_pot_rounds_halves_away_from_zero():
    x = np.array([5, -5, 6, -6, 7, -7])
    assert rq.rounding_divide_by_pot(x, 1).tolist() == [3, -3, 3, -3, 4, -4]


@pytest.mark.parametrize(
    "beta, scale, bits, expected",
    [
        (1.0, 16.0, 4, (2147483647, 31)),
        (1.0, 8.0, 4, (1073741824, 31)),
        (2.0, 16.0, 5, (2147483647, 31)),
        (2.0, 8.0, 5, (1073741824, 31)),
    ],
)
def test_preprocess_softmax_scaling(beta, scale, bits, expected):
    assert rq.preprocess_softmax_scaling(beta, scale, bits) == expected


@pytest.mark.parametrize("bits, shift, expected", [(4, 27, 15), (3, 27, 14), (3, 28, 7), (4, 2, 503316480)])
def test_calculate_input_radius(bits, shift, expected):
    assert rq.calculate_input_radius(bits, shift) == expected


def test_effective_scale_widens_float32_scales_to_double():
    scales = rq.effective_scales(0.1, np.array([0.2, 0.3], np.float32), 0.7)
    expected = [float(np.float32(0.1)) * float(np.float32(s)) / float(np.float32(0.7)) for s in (0.2, 0.3)]
    assert scales.tolist() == expected


def test_activation_ranges():
    assert rq.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert rq.activation_range("RELU", 0.1, -20) == (-20, 127)
    assert rq.activation_range("RELU6", 0.05, -128) == (-128, -8)
    assert rq.activation_range("RELU6", 0.01, 0) == (0, 127)


# ---- bit-exact against the TFLM kernels --------------------------------------------------

RNG = np.random.default_rng(1234)


def _run_single(builder: ModelBuilder, inputs: list[int], output: int, values: list[np.ndarray]) -> np.ndarray:
    with Reference(builder.build(inputs, [output])) as ref:
        return ref.run(values)[0]


def _fc_expected(x, zp_in, weights, bias, multipliers, shifts, zp_out, act):
    acc = (x.astype(np.int64) - zp_in) @ weights.astype(np.int64).T + bias
    out = rq.multiply_by_quantized_multiplier(acc, multipliers, shifts) + zp_out
    return np.clip(out, *act).astype(np.int8)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_fully_connected_matches_tflm(per_channel, activation):
    batch, depth, units = 3, 24, 10
    s_in, zp_in, s_out, zp_out = 0.05, -7, 0.11, 5
    w_scales = (RNG.uniform(0.002, 0.02, units) if per_channel else np.array([0.01])).astype(np.float32)
    weights = RNG.integers(-127, 128, (units, depth), dtype=np.int8)
    bias = RNG.integers(-3000, 3000, units).astype(np.int32)
    b = ModelBuilder()
    x = b.tensor("x", (batch, depth), np.int8, quant(s_in, zp_in))
    w = b.constant("w", weights, quant(w_scales, 0, axis=0))
    bb = b.constant("b", bias, quant(s_in * w_scales, 0))
    y = b.tensor("y", (batch, units), np.int8, quant(s_out, zp_out))
    b.operator("FULLY_CONNECTED", [x, w, bb], [y], fused_activation_function=activation)
    values = RNG.integers(-128, 128, (batch, depth), dtype=np.int8)

    if per_channel:
        multipliers, shifts = rq.per_channel_multipliers(s_in, w_scales, s_out)
    else:
        multipliers, shifts = rq.fully_connected_multiplier(s_in, w_scales[0], s_out)
    expected = _fc_expected(
        values, zp_in, weights, bias, multipliers, shifts, zp_out, rq.activation_range(activation, s_out, zp_out)
    )
    np.testing.assert_array_equal(_run_single(b, [x], y, [values]), expected)


def test_conv_1x1_per_channel_matches_tflm():
    channels_in, channels_out = 6, 5
    s_in, zp_in, s_out, zp_out = 0.02, 11, 0.07, -3
    w_scales = RNG.uniform(0.001, 0.01, channels_out).astype(np.float32)
    weights = RNG.integers(-127, 128, (channels_out, 1, 1, channels_in), dtype=np.int8)
    bias = RNG.integers(-500, 500, channels_out).astype(np.int32)
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, channels_in), np.int8, quant(s_in, zp_in))
    w = b.constant("w", weights, quant(w_scales, 0, axis=0))
    bb = b.constant("b", bias, quant(s_in * w_scales, 0))
    y = b.tensor("y", (1, 4, 4, channels_out), np.int8, quant(s_out, zp_out))
    b.operator("CONV_2D", [x, w, bb], [y], fused_activation_function="RELU6")
    values = RNG.integers(-128, 128, (1, 4, 4, channels_in), dtype=np.int8)

    multipliers, shifts = rq.per_channel_multipliers(s_in, w_scales, s_out)
    expected = _fc_expected(
        values.reshape(-1, channels_in),
        zp_in,
        weights[:, 0, 0, :],
        bias,
        multipliers,
        shifts,
        zp_out,
        rq.activation_range("RELU6", s_out, zp_out),
    )
    np.testing.assert_array_equal(_run_single(b, [x], y, [values]).reshape(-1, channels_out), expected)


def test_depthwise_1x1_per_channel_matches_tflm():
    channels = 6
    s_in, zp_in, s_out, zp_out = 0.04, -9, 0.05, 7
    w_scales = RNG.uniform(0.001, 0.02, channels).astype(np.float32)
    weights = RNG.integers(-127, 128, (1, 1, 1, channels), dtype=np.int8)
    bias = RNG.integers(-800, 800, channels).astype(np.int32)
    b = ModelBuilder()
    x = b.tensor("x", (1, 3, 3, channels), np.int8, quant(s_in, zp_in))
    w = b.constant("w", weights, quant(w_scales, 0, axis=3))
    bb = b.constant("b", bias, quant(s_in * w_scales, 0))
    y = b.tensor("y", (1, 3, 3, channels), np.int8, quant(s_out, zp_out))
    b.operator("DEPTHWISE_CONV_2D", [x, w, bb], [y])
    values = RNG.integers(-128, 128, (1, 3, 3, channels), dtype=np.int8)

    acc = (values.astype(np.int64) - zp_in) * weights.reshape(-1).astype(np.int64) + bias
    out = rq.multiply_by_quantized_multiplier(acc, *rq.per_channel_multipliers(s_in, w_scales, s_out)) + zp_out
    expected = np.clip(out, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(_run_single(b, [x], y, [values]), expected)


def _binary_model(opcode: str, scales: tuple[float, float, float], zps: tuple[int, int, int], shape=(2, 16)):
    b = ModelBuilder()
    a = b.tensor("a", shape, np.int8, quant(scales[0], zps[0]))
    c = b.tensor("c", shape, np.int8, quant(scales[1], zps[1]))
    y = b.tensor("y", shape, np.int8, quant(scales[2], zps[2]))
    b.operator(opcode, [a, c], [y])
    return b, [a, c], y


def test_add_matches_tflm():
    scales, zps = (0.031, 0.017, 0.05), (3, -9, -1)
    b, inputs, y = _binary_model("ADD", scales, zps)
    a_val, c_val = (RNG.integers(-128, 128, (2, 16), dtype=np.int8) for _ in range(2))
    p = rq.add_params(*scales)
    shifted = [(v.astype(np.int64) - zp) * (1 << p.left_shift) for v, zp in ((a_val, zps[0]), (c_val, zps[1]))]
    total = rq.multiply_by_quantized_multiplier(
        shifted[0], p.input1_multiplier, p.input1_shift
    ) + rq.multiply_by_quantized_multiplier(shifted[1], p.input2_multiplier, p.input2_shift)
    out = rq.multiply_by_quantized_multiplier(total, p.output_multiplier, p.output_shift) + zps[2]
    expected = np.clip(out, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(_run_single(b, inputs, y, [a_val, c_val]), expected)


def test_mul_matches_tflm():
    scales, zps = (0.05, 0.02, 0.004), (-5, 7, 2)
    b, inputs, y = _binary_model("MUL", scales, zps)
    a_val, c_val = (RNG.integers(-128, 128, (2, 16), dtype=np.int8) for _ in range(2))
    product = (a_val.astype(np.int64) - zps[0]) * (c_val.astype(np.int64) - zps[1])
    out = rq.multiply_by_quantized_multiplier(product, *rq.mul_multiplier(*scales)) + zps[2]
    expected = np.clip(out, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(_run_single(b, inputs, y, [a_val, c_val]), expected)


def test_requantize_matches_tflm():
    s_in, zp_in, s_out, zp_out = 0.03, 4, 0.045, -6
    b = ModelBuilder()
    x = b.tensor("x", (1, 64), np.int8, quant(s_in, zp_in))
    y = b.tensor("y", (1, 64), np.int8, quant(s_out, zp_out))
    b.operator("QUANTIZE", [x], [y])
    values = np.arange(-128, 128, 4, dtype=np.int8).reshape(1, 64)
    out = (
        rq.multiply_by_quantized_multiplier(values.astype(np.int64) - zp_in, *rq.rescale_multiplier(s_in, s_out))
        + zp_out
    )
    expected = np.clip(out, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(_run_single(b, [x], y, [values]), expected)


# ---- prepare_op: the per-operator bundle the packer ships to the device -------------------


SHARED = SHARED_MODELS


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no models in {SHARED}")
@pytest.mark.parametrize(
    "name",
    [
        "mlperf_tiny/vww_96_int8",
        "mlperf_tiny/kws_ref_model",
        "mlperf_tiny/pretrainedResnet_quant",
        "mlperf_tiny/ad01_int8",
        "tflm_examples/person_detect",
        "tflm_examples/micro_speech_quantized",
    ],
)
def test_prepare_op_covers_every_operator_of_real_models(name):
    model = load_model(SHARED / f"{name}.tflite")
    for op in model.operators:
        prepared = rq.prepare_op(model, op)
        low, high = prepared["output_activation_range"]
        assert -128 <= low < high <= 127
        if "per_channel_multiplier" in prepared:
            channels = prepared["per_channel_multiplier"]
            # 0 where a channel's filter scale is 0 (vww has one), else normalized
            assert channels.dtype == np.int32
            assert np.all((channels == 0) | (channels >= 1 << 30))
            assert len(channels) == len(prepared["per_channel_shift"])
        if op.opcode == "FULLY_CONNECTED" and model.tensors[op.inputs[1]].quant.scale.size == 1:
            assert 1 << 30 <= prepared["output_multiplier"] < 1 << 31


def test_prepare_op_matches_the_direct_computation():
    model = load_model(single_op_model("DEPTHWISE_CONV_2D", "int8", seed=2))
    op = model.operators[0]
    x, w, _, y = (model.tensors[i] for i in op.inputs + op.outputs)
    prepared = rq.prepare_op(model, op)
    multipliers, shifts = rq.per_channel_multipliers(x.quant.scale[0], w.quant.scale, y.quant.scale[0])
    np.testing.assert_array_equal(prepared["per_channel_multiplier"], multipliers)
    np.testing.assert_array_equal(prepared["per_channel_shift"], shifts)
    assert prepared["output_activation_range"] == rq.activation_range(
        "RELU6", y.quant.scale[0], int(y.quant.zero_point[0])
    )
    assert prepared["input_zero_point"] == int(x.quant.zero_point[0])


def test_prepare_op_of_float_operators_is_empty():
    model = load_model(single_op_model("CONV_2D", "float32"))
    assert rq.prepare_op(model, model.operators[0]) == {}
