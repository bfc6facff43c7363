"""Shared random-case helpers for the kernel tests."""

from __future__ import annotations

import numpy as np

from tests.support.kernel_model import Activation, Padding

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
ACT_CODE = {
    "NONE": Activation.NONE,
    "RELU": Activation.RELU,
    "RELU6": Activation.RELU6,
    "RELU_N1_TO_1": Activation.RELU_N1_TO_1,
}
PAD_CODE = {"SAME": Padding.SAME, "VALID": Padding.VALID}


def rand_scale(rng: np.random.Generator, lo: float = 1e-3, hi: float = 0.5) -> float:
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def rand_i8(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)


def out_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> int:
    eff = (filter_size - 1) * dilation + 1
    num = (in_size + stride - 1) if padding == "SAME" else (in_size + stride - eff)
    return int(num / stride)  # C++ integer division truncates toward zero


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int, out: int) -> int:
    eff = (filter_size - 1) * dilation + 1
    total = max((out - 1) * stride + eff - in_size, 0)
    return total // 2


def assert_exact(got: np.ndarray, want: np.ndarray, what: str):
    want = np.asarray(want).reshape(got.shape)
    if not np.array_equal(got, want):
        diff = np.argwhere(got != want)
        i = tuple(diff[0])
        raise AssertionError(f"{what}: {len(diff)} of {got.size} differ; first at {i}: got {got[i]} want {want[i]}")


def assert_same_floats(got: np.ndarray, want: np.ndarray, what: str):
    """Bitwise identical float32 (NaN never expected)."""
    want = np.asarray(want, dtype=np.float32).reshape(got.shape)
    if not np.array_equal(got.view(np.int32), want.view(np.int32)):
        diff = np.argwhere(got.view(np.int32) != want.view(np.int32))
        i = tuple(diff[0])
        raise AssertionError(f"{what}: {len(diff)} of {got.size} differ; first at {i}: got {got[i]!r} want {want[i]!r}")
