"""What the oracle tests expect of an int8 weight or bias step."""

from __future__ import annotations

import numpy as np


def expected_step(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round half away from zero, and where float32 accumulation may round the other way."""
    step = np.trunc(value + np.where(value >= 0, 0.5, -0.5))
    near_boundary = np.abs(np.abs(value - np.trunc(value)) - 0.5) <= 1e-3 + 1e-4 * np.abs(value)
    return step, near_boundary
