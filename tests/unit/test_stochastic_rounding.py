"""The stochastic rounding's host half (harness/training/f32math.py): floor(v + u), unbiased, one
stream per (seed, step, layer), u in [0, 1)."""

from __future__ import annotations

import numpy as np

from harness.training.f32math import rounding_base, stochastic_round, uniform


def test_floor_of_value_plus_u_below_and_above_zero():
    values = np.array([0.3, 0.3, -0.3, -0.3, -1.0, 2.0, 300.0, np.nan], np.float32)
    u = np.array([0.6, 0.1, 0.8, 0.1, 0.0, 0.99, 0.5, 0.5], np.float32)
    assert stochastic_round(values, 256.0, u).tolist() == [0, 0, 0, -1, -1, 2, 256, 0]


def test_u_is_uniform_in_0_1_and_the_rounding_unbiased():
    u = uniform(rounding_base(7, 3, 2), np.arange(100_000))
    assert u.min() >= 0 and u.max() < 1 and abs(float(u.mean()) - 0.5) < 0.01
    steps = stochastic_round(np.full(u.shape, -0.25, np.float32), 256.0, u)
    assert abs(float(steps.mean()) + 0.25) < 0.01  # E[step] = value: small updates survive on average


def test_streams_differ_by_seed_step_and_layer():
    bases = {int(rounding_base(seed, step, layer)) for seed in (0, 1) for step in (0, 1) for layer in (0, 1)}
    assert len(bases) == 8
