"""What the oracle tests expect of an int8 weight or bias step."""

from __future__ import annotations

import numpy as np


def expected_step(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round half away from zero, and where float32 accumulation may round the other way."""
    step = np.trunc(value + np.where(value >= 0, 0.5, -0.5))
    near_boundary = np.abs(np.abs(value - np.trunc(value)) - 0.5) <= 1e-3 + 1e-4 * np.abs(value)
    return step, near_boundary


def check_int8_update(layer, trained, weight_t: np.ndarray, bias_t: np.ndarray, channels: int | None = None) -> int:
    """Asserts that `trained` (the reference's layer after one step) holds `layer`'s weights and
    biases moved by the oracle's float64 steps (weight_t, bias_t, before the learning rate), exact
    away from a rounding boundary and within 1 near one; only the first `channels` input channels
    of the weights train (None: all). Returns how many parameters moved."""
    moved = 0
    for name, t, limit, bounds in (
        ("weights", weight_t, 256, (-128, 127)),
        ("bias", bias_t, 2**30, (-(2**31), 2**31 - 1)),
    ):
        step, loose = expected_step(np.clip(layer.lr * t, -limit, limit))
        before = getattr(layer, name).astype(np.int64)
        got = getattr(trained, name).astype(np.int64)
        if name == "weights" and channels is not None:  # the untrained input channels stay
            assert np.array_equal(got[..., channels:], before[..., channels:]), layer.name
            before, got = before[..., :channels], got[..., :channels]
        want = np.clip(before - step, *bounds)
        assert np.array_equal(got[~loose], want[~loose]), (layer.name, name)
        assert np.all(np.abs(got - want) <= 1), (layer.name, name)
        moved += int(np.count_nonzero(got != before))
    return moved
