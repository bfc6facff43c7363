"""Stochastic rounding of the weight steps (TRAIN_FLAG_STOCHASTIC_ROUNDING) on the device, bit-exact
with the host reference, with and without operator reordering."""

from __future__ import annotations

import numpy as np
import pytest

from harness.training.reference import TrainingReference
from harness.training.toy import toy_data, toy_depthwise_setup

STEPS = 6


@pytest.mark.parametrize("defer_updates", [False, True], ids=["reordered", "deferred"])
def test_stochastic_rounding_is_bit_exact_and_not_rounding_to_nearest(train_in_lockstep, defer_updates):
    setup = toy_depthwise_setup(seed=4)
    setup.stochastic_rounding, setup.rounding_seed, setup.defer_updates = True, 12345, defer_updates
    x, y = toy_data(setup, STEPS, seed=5)
    _, reference = train_in_lockstep(setup, x, y, STEPS)  # every loss and parameter bit-exact
    nearest = setup.copy()
    nearest.stochastic_rounding = False
    to_nearest = TrainingReference(nearest)
    for sample, label in zip(x, y):
        to_nearest.step(sample, int(label))
    moved = [
        int(np.count_nonzero(a.weights != b.weights))
        for a, b in zip(reference.setup.layers, to_nearest.setup.layers)
        if a.weights is not None
    ]
    assert sum(moved) > 0  # the flag changed how the device rounded
