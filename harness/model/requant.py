"""TFLM's integer requantization, bit for bit, in Python/numpy.

The packer uses it to precompute what TFLM's Prepare functions compute on the device, and tests
use it to predict kernel outputs. Sources (tflite-micro): tensorflow/lite/kernels/internal/
quantization_util.cc, tensorflow/lite/kernels/kernel_util.cc, tensorflow/lite/micro/kernels/
{fully_connected,softmax,logistic,add,mul,reduce,quantize}_common.cc. The rounding is TFLM's
default (TFLITE_SINGLE_ROUNDING off): SaturatingRoundingDoublingHighMul, then
RoundingDivideByPOT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tflite import Model, Operator, Tensor

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def tflite_round(x: float) -> float:
    """std::round: halves away from zero (Python's round() goes to even)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = multiplier * 2**(shift - 31), multiplier in [2**30, 2**31)."""
    if real_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(real_multiplier)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == 1 << 31:  # q rounded up to 1.0
        q_fixed //= 2
        shift += 1
    if shift < -31:  # every bit would be shifted out: flush to zero
        return 0, 0
    return q_fixed, shift


def quantize_multiplier_greater_than_one(real_multiplier: float) -> tuple[int, int]:
    if not real_multiplier > 1.0:
        raise ValueError(f"multiplier {real_multiplier} must be > 1")
    return quantize_multiplier(real_multiplier)


def quantize_multiplier_smaller_than_one_exp(real_multiplier: float) -> tuple[int, int]:
    if not 0.0 < real_multiplier < 1.0:
        raise ValueError(f"multiplier {real_multiplier} must be in (0, 1)")
    return quantize_multiplier(real_multiplier)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values (as int64 arrays)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = _c_div(ab + nudge, 1 << 31)  # C++ integer division truncates toward zero
    return np.where(overflow, INT32_MAX, high).astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent, halves away from zero."""
    x, exponent = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(
    x: np.ndarray | int, multiplier: np.ndarray | int, shift: np.ndarray | int
) -> np.ndarray:
    """MultiplyByQuantizedMultiplier(int32 x, int32 multiplier, int shift), elementwise.

    Arrays broadcast, so per-channel multipliers and shifts apply along the last axis.
    """
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    scaled = np.asarray(x, np.int64) * (np.int64(1) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, multiplier), right)


def _c_div(a: np.ndarray, b: int) -> np.ndarray:
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


# ---- what TFLM's Prepare functions compute ------------------------------------------------


def effective_scales(input_scale: float, filter_scales: np.ndarray, output_scale: float) -> np.ndarray:
    """Per-channel conv/depthwise/FC output scales exactly as PopulateConvolutionQuantization-
    Params: float32 scales widened to double, input * filter / output."""
    filters = np.asarray(filter_scales, np.float32).astype(np.float64)
    return float(np.float32(input_scale)) * filters / float(np.float32(output_scale))


def per_channel_multipliers(
    input_scale: float, filter_scales: np.ndarray, output_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """(int32 multipliers, int32 shifts) for conv, depthwise conv and per-channel FC."""
    pairs = [quantize_multiplier(s) for s in effective_scales(input_scale, filter_scales, output_scale)]
    return (np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32))


def fully_connected_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FC (GetQuantizedConvolutionMultipler), in double from the float32 scales.

    The tflite-micro build we check against takes the product in double: on models built so
    the bias lands on a rounding tie it agreed with this in 40 of 40 cases, and with a float32
    product in none (tests/kernels/test_fc_pool.py)."""
    product = float(np.float32(input_scale)) * float(np.float32(filter_scale))
    return quantize_multiplier(product / float(np.float32(output_scale)))


def quantize_value(value: float, scale: float, zero_point: int) -> int:
    """kernel_util.cc's Quantize: zero_point + round(value / scale), the division in float32."""
    return int(zero_point) + int(tflite_round(float(np.float32(value) / np.float32(scale))))


def activation_range(
    activation: str, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127
) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for a fused activation name ("RELU6", ...)."""
    bounds = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}
    if activation not in bounds:
        return qmin, qmax
    low, high = bounds[activation]
    act_min = max(qmin, quantize_value(low, scale, zero_point))
    act_max = qmax if high is None else min(qmax, quantize_value(high, scale, zero_point))
    return act_min, act_max


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    max_input_rescaled = (
        1.0
        * ((1 << input_integer_bits) - 1)
        * (1 << (total_signed_bits - input_integer_bits))
        / (1 << input_left_shift)
    )
    return math.floor(max_input_rescaled)


@dataclass(frozen=True)
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """PreprocessSoftmaxScaling: (multiplier, left shift) of beta * scale in Q(bits).(31-bits),
    capped just below 2**31."""
    real = min(beta * input_scale * (1 << (31 - input_integer_bits)), (1 << 31) - 1.0)
    return quantize_multiplier_greater_than_one(real)


def softmax_params(input_scale: float, beta: float = 1.0) -> SoftmaxParams:
    """int8 softmax: 5 integer bits for the scaled difference to the row maximum."""
    scaled_diff_integer_bits = 5
    multiplier, left_shift = preprocess_softmax_scaling(
        float(np.float32(beta)), float(np.float32(input_scale)), scaled_diff_integer_bits
    )
    diff_min = -calculate_input_radius(scaled_diff_integer_bits, left_shift)
    return SoftmaxParams(multiplier, left_shift, diff_min)


@dataclass(frozen=True)
class LogisticParams:
    input_zero_point: int
    input_multiplier: int
    input_left_shift: int
    input_range_radius: int


def logistic_params(input_scale: float, input_zero_point: int) -> LogisticParams:
    """int8 logistic: frexp without QuantizeMultiplier's adjustments, 4 integer bits."""
    input_integer_bits = 4
    real = float(np.float32(input_scale)) * float(1 << (31 - input_integer_bits))
    q, left_shift = math.frexp(real)
    multiplier = int(tflite_round(q * (1 << 31)))
    radius = calculate_input_radius(input_integer_bits, left_shift, 31)
    return LogisticParams(int(input_zero_point), multiplier, left_shift, radius)


@dataclass(frozen=True)
class AddParams:
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int


def add_params(input1_scale: float, input2_scale: float, output_scale: float) -> AddParams:
    """int8 ADD: both inputs rescaled to twice the larger input scale, left shift 20."""
    left_shift = 20
    s1, s2 = float(np.float32(input1_scale)), float(np.float32(input2_scale))
    twice_max = 2 * max(s1, s2)
    m1 = quantize_multiplier_smaller_than_one_exp(s1 / twice_max)
    m2 = quantize_multiplier_smaller_than_one_exp(s2 / twice_max)
    out = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * float(np.float32(output_scale))))
    return AddParams(left_shift, *m1, *m2, *out)


def mul_multiplier(input1_scale: float, input2_scale: float, output_scale: float) -> tuple[int, int]:
    """int8 MUL: input1 * input2 / output in double."""
    real = float(np.float32(input1_scale)) * float(np.float32(input2_scale)) / float(np.float32(output_scale))
    return quantize_multiplier(real)


def rescale_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """int8 MEAN/SUM and int8->int8 QUANTIZE: input / output in double."""
    return quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))


# ---- everything one operator's Prepare computes, from a loaded int8 model ------------------

_CHANNEL_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3}


def prepare_op(model: Model, op: Operator) -> dict[str, Any]:
    """What TFLM's Prepare precomputes for one int8 operator, keyed by TFLM's OpData names.

    Operators with nothing else to precompute (RESHAPE, PAD, ...) give only zero points and
    the activation range; operators without an int8 output give {}.
    """
    tensors = model.tensors
    if tensors[op.outputs[0]].dtype != np.int8 or tensors[op.outputs[0]].quant is None:
        return {}
    out = _scalar_quant(tensors[op.outputs[0]])
    x_tensor = tensors[op.inputs[0]]
    x = _scalar_quant(x_tensor) if x_tensor.quant else None
    act = op.options.get("fused_activation_function", "NONE")
    result: dict[str, Any] = {"output_zero_point": out[1], "output_activation_range": activation_range(act, *out)}
    # The operators below need a quantized input: scalar_quant() names the tensor that is not.
    if op.opcode in _CHANNEL_AXIS or op.opcode == "FULLY_CONNECTED":
        result.update(_weighted(op, tensors, x_tensor.scalar_quant(), out))
    elif op.opcode == "ADD":
        result["add"] = add_params(x_tensor.scalar_quant()[0], _scalar_quant(tensors[op.inputs[1]])[0], out[0])
    elif op.opcode == "MUL":
        result["output_multiplier"], result["output_shift"] = mul_multiplier(
            x_tensor.scalar_quant()[0], _scalar_quant(tensors[op.inputs[1]])[0], out[0]
        )
    elif op.opcode == "SOFTMAX":
        result["softmax"] = softmax_params(x_tensor.scalar_quant()[0], op.options.get("beta", 1.0))
    elif op.opcode == "LOGISTIC":
        result["logistic"] = logistic_params(*x_tensor.scalar_quant())
    elif op.opcode in ("MEAN", "SUM") or (op.opcode == "QUANTIZE" and x is not None):
        result["multiplier"], result["shift"] = rescale_multiplier(x_tensor.scalar_quant()[0], out[0])
    if x is not None:
        result["input_zero_point"] = x[1]
    return result


def _scalar_quant(tensor: Tensor) -> tuple[float, int]:
    return tensor.scalar_quant()


def _weighted(op: Operator, tensors: list, x: tuple[float, int], out: tuple[float, int]) -> dict[str, Any]:
    """CONV_2D and DEPTHWISE_CONV_2D always go per channel (a single filter scale is
    broadcast); FULLY_CONNECTED goes per channel only with per-channel weights."""
    filters = tensors[op.inputs[1]]
    scales = filters.quant.scale
    if op.opcode in _CHANNEL_AXIS:
        channels = filters.shape[_CHANNEL_AXIS[op.opcode]]
        scales = np.broadcast_to(scales, (channels,)) if scales.size == 1 else scales
    elif scales.size == 1:
        multiplier, shift = fully_connected_multiplier(x[0], scales[0], out[0])
        return {
            "output_multiplier": multiplier,
            "output_shift": shift,
            "filter_zero_point": int(filters.quant.zero_point[0]),
        }
    multipliers, shifts = per_channel_multipliers(x[0], scales, out[0])
    return {"per_channel_multiplier": multipliers, "per_channel_shift": shifts}
