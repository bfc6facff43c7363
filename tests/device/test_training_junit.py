"""A test that trains through `train_in_lockstep` carries what it checked as JUnit properties of
its own test case (beside board, emulator and build id: harness/pytest_junit.py)."""

from __future__ import annotations

from harness.training.toy import toy_data, toy_setup


def test_train_in_lockstep_records_what_it_compared(train_in_lockstep, request):
    setup = toy_setup(seed=7)
    x, y = toy_data(setup, 4, seed=8)
    device, _ = train_in_lockstep(setup, x, y, 4)
    props = dict(request.node.user_properties)
    assert props["hil_training_steps"] == props["hil_losses_bit_exact"] == 4
    assert props["hil_parameters_bit_exact"] > 0
    assert props["hil_arena_bytes"] == device.memory()["arena_bytes"] > 0
