"""What TFLM's Prepare() computes for the int8 kernels, in Python.

Test-side re-derivation of tensorflow/lite/kernels/internal/quantization_util.cc
and the micro kernels' *_common.cc, so that the kernel tests feed the C
kernels exactly the parameters TFLM uses (the firmware gets them from the
host's harness/model/requant.py). Scales are float32 values widened to
double, like static_cast<double>(tensor->params.scale).
"""

from __future__ import annotations

import math

import numpy as np


def f32(x: float) -> float:
    return float(np.float32(x))


def tflite_round(x: float) -> float:
    """std::round: half away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """tflite::QuantizeMultiplier (double-rounding build)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(tflite_round(q * (1 << 31)))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one_exp(m: float) -> tuple[int, int]:
    assert 0.0 < m < 1.0
    q, shift = quantize_multiplier(m)
    assert shift <= 0
    return q, shift


def quantize_multiplier_greater_than_one(m: float) -> tuple[int, int]:
    assert m > 1.0
    q, shift = quantize_multiplier(m)
    assert shift >= 0
    return q, shift


def activation_range_int8(activation: str, out_scale: float, out_zp: int) -> tuple[int, int]:
    """tflite::CalculateActivationRangeQuantized for int8."""
    qmin, qmax = -128, 127
    s = np.float32(out_scale)

    def quantize(x: float) -> int:
        return out_zp + int(tflite_round(float(np.float32(x) / s)))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(activation)


def activation_range_f32(activation: str) -> tuple[float, float]:
    lo, hi = float(np.finfo(np.float32).min), float(np.finfo(np.float32).max)
    return {
        "NONE": (lo, hi),
        "RELU": (0.0, hi),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }[activation]


def conv_per_channel_multipliers(input_scale: float, filter_scales, output_scale: float):
    """PopulateConvolutionQuantizationParams: one pair per filter scale."""
    mults, shifts = [], []
    for fs in filter_scales:
        eff = f32(input_scale) * f32(fs) / f32(output_scale)
        m, s = quantize_multiplier(eff)
        mults.append(m)
        shifts.append(s)
    return np.array(mults, dtype=np.int32), np.array(shifts, dtype=np.int32)


def add_params(s1: float, zp1: int, s2: float, zp2: int, so: float, zpo: int) -> dict:
    """micro/kernels/add_common.cc CalculateOpDataAdd (int8)."""
    left_shift = 20
    twice_max = 2 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = quantize_multiplier_smaller_than_one_exp(f32(s1) / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one_exp(f32(s2) / twice_max)
    mo, sho = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * f32(so)))
    return dict(
        input1_offset=-zp1,
        input2_offset=-zp2,
        output_offset=zpo,
        left_shift=left_shift,
        input1_multiplier=m1,
        input1_shift=sh1,
        input2_multiplier=m2,
        input2_shift=sh2,
        output_multiplier=mo,
        output_shift=sho,
    )


def mul_params(s1: float, zp1: int, s2: float, zp2: int, so: float, zpo: int) -> dict:
    """micro/kernels/mul_common.cc (int8)."""
    m, sh = quantize_multiplier(f32(s1) * f32(s2) / f32(so))
    return dict(input1_offset=-zp1, input2_offset=-zp2, output_offset=zpo, output_multiplier=m, output_shift=sh)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    max_input_rescaled = (
        1.0
        * ((1 << input_integer_bits) - 1)
        * (1 << (total_signed_bits - input_integer_bits))
        / (1 << input_left_shift)
    )
    return math.floor(max_input_rescaled)


def softmax_params(beta: float, input_scale: float) -> dict:
    """softmax_common.cc: PreprocessSoftmaxScaling(beta, scale, 5) + diff_min."""
    max_real = (1 << 31) - 1.0
    real = min(f32(beta) * f32(input_scale) * (1 << (31 - 5)), max_real)
    m, left_shift = quantize_multiplier_greater_than_one(real)
    diff_min = int(-1.0 * calculate_input_radius(5, left_shift))
    return dict(input_multiplier=m, input_left_shift=left_shift, diff_min=diff_min)


def logistic_params(input_scale: float, input_zp: int) -> dict:
    """logistic_common.cc CalculateArithmeticOpData (int8)."""
    real = f32(input_scale) * float(1 << (31 - 4))
    q, left_shift = math.frexp(real)
    m = int(tflite_round(q * (1 << 31)))
    return dict(
        input_zero_point=input_zp,
        input_range_radius=calculate_input_radius(4, left_shift, 31),
        input_multiplier=m,
        input_left_shift=left_shift,
    )


def mean_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> dict:
    m, s = quantize_multiplier(f32(in_scale) / f32(out_scale))
    return dict(input_zero_point=in_zp, output_zero_point=out_zp, multiplier=m, shift=s)


def requantize_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    return quantize_multiplier(f32(in_scale) / f32(out_scale))
