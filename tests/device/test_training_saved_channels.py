"""Only the selected input channels are saved for the weight gradient (docs/training_spec.md
section 4): on the device in QEMU, a layer fed by another layer trains R < Cin input channels
bit-exact, and the measured arena high-water falls with R exactly as the plan does."""

from __future__ import annotations

from harness.training.reference import TrainingReference
from harness.training.run import check_parameters, lockstep
from harness.training.setup import arena_layout, saved_input_bytes
from harness.training.toy import toy_data, toy_depthwise_setup

STEPS = 4
CHANNELS = 32  # the pointwise layer's input channels (8x8 positions)


def _train(device_training, train_channels: int) -> tuple[dict, dict, int]:
    """Trains the toy chain with the pointwise layer (input: the depthwise layer's output) on its
    first `train_channels` input channels; returns (device plan, TRAIN_MEMORY, planned arena)."""
    setup = toy_depthwise_setup(seed=6, hw=8, channels=CHANNELS)
    setup.layers[1].train_channels = train_channels
    x, y = toy_data(setup, STEPS, seed=7)
    plan = device_training.load(setup)
    reference = TrainingReference(setup)
    lockstep(device_training, reference, x, y, STEPS)  # every loss bit-exact
    check_parameters(device_training, reference)  # every trained weight and bias
    assert saved_input_bytes(setup, 1) == 64 * train_channels
    return plan, device_training.memory(), arena_layout(setup, device_training.image_size)["total"]


def test_the_measured_peak_falls_with_the_saved_input_channels(device_training):
    # The smaller ratio first: the stack high-water (since reset) can only grow in between.
    sparse_plan, sparse, sparse_layout = _train(device_training, CHANNELS // 4)
    full_plan, full, full_layout = _train(device_training, CHANNELS)
    assert (sparse_plan["arena_bytes"], full_plan["arena_bytes"]) == (sparse_layout, full_layout)
    saved = full_layout - sparse_layout
    assert saved > 0
    # The step writes the arena up to the same place in its scratch block: the measured
    # high-water moves by exactly the saved channels' bytes, and so does the measured peak.
    assert full["arena_high_water"] - sparse["arena_high_water"] == saved
    assert sparse["arena_high_water"] <= sparse_plan["arena_bytes"]
    assert sparse["measured_peak"] < full["measured_peak"]
