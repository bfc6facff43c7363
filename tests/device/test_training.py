"""On-device training in QEMU, in lock step with the host reference (docs/training_spec.md)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.errors import CheckFailed, DeviceError
from harness.pytest_training import open_training_dut
from harness.training.device import PERTURBED_FIRMWARE_FLAGS, DeviceTraining
from harness.training.reference import TrainingReference
from harness.training.run import check_parameters, lockstep
from harness.training.toy import toy_data, toy_depthwise_setup, toy_setup
from harness.training.vww import VWW_MODEL

STEPS = 12


def test_losses_and_parameters_are_bit_exact_with_the_reference(train_in_lockstep):
    setup = toy_setup(seed=3)
    x, y = toy_data(setup, STEPS, seed=4)
    _, reference = train_in_lockstep(setup, x, y, STEPS)
    assert reference.steps == STEPS
    assert not np.array_equal(reference.setup.layers[2].weights, setup.layers[2].weights)


def test_training_without_qas_is_bit_exact_too(train_in_lockstep):
    setup = toy_setup(seed=5, qas=False)
    x, y = toy_data(setup, STEPS, seed=6)
    train_in_lockstep(setup, x, y, STEPS)


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_vww_tail_with_sparse_depthwise_and_pointwise_updates_is_bit_exact(train_in_lockstep):
    from harness.training.vww import load_backbone, vww_setup, vww_task

    model = load_backbone()
    setup = vww_setup(model)  # depthwise_conv2d_12, conv2d_13, pool, new head
    setup.layers[0].train_bias, setup.layers[0].train_channels = True, 32  # r = 1/8
    setup.layers[1].train_bias, setup.layers[1].train_channels = True, 64  # r = 1/4
    x, y, _, _ = vww_task(8, 1, seed=2, model=model)
    _, reference = train_in_lockstep(setup, x, y, 8)
    assert not np.array_equal(reference.setup.layers[1].bias, setup.layers[1].bias)


def test_a_depthwise_first_layer_trains_bit_exact(train_in_lockstep):
    setup = toy_depthwise_setup(seed=2)
    x, y = toy_data(setup, STEPS, seed=9)
    _, reference = train_in_lockstep(setup, x, y, STEPS)
    assert not np.array_equal(reference.setup.layers[0].weights, setup.layers[0].weights)


def test_without_operator_reordering_results_are_the_same_and_the_arena_holds_every_update(train_in_lockstep):
    from harness.training.setup import arena_layout

    setup = toy_depthwise_setup(seed=4)
    setup.defer_updates = True
    x, y = toy_data(setup, 6, seed=5)
    device, _ = train_in_lockstep(setup, x, y, 6)
    trained = sum(layer.trained_parameters for layer in setup.layers)
    layout = arena_layout(setup, device.image_size)
    assert layout["deferred"] >= 4 * trained and device.plan["arena_bytes"] == layout["total"]


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("stride", 3, "layer 0: depthwise: multiplier 1, odd kernel <= 7, stride 1/2"),
        ("flags", 2, "layer 0: unknown record flags"),
        ("flags", 1, "layer 0: depthwise weights in the model slot cannot train"),
    ],
)
def test_bad_stride_and_slot_fields_are_refused_naming_the_layer(device_training, field, value, problem):
    import struct

    from harness.training.setup import LAYER_RECORD, pack, record_offset

    image = bytearray(pack(toy_depthwise_setup()))  # layer 0: the depthwise layer, training channels
    struct.pack_into(LAYER_RECORD.field_format(field), image, record_offset(0) + LAYER_RECORD.offset(field), value)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SETUP.*" + re.escape(problem)):
        device_training.load_image(bytes(image))


def test_memory_is_measured_and_the_arena_matches_the_plan(device_training):
    from harness.training.planner import evaluate

    setup = toy_setup()
    plan = device_training.load(setup)
    memory = device_training.memory()
    predicted = evaluate(setup, plan["static_bytes"], setup.budget_bytes)
    assert plan["arena_bytes"] == memory["arena_bytes"] == predicted.arena["total"]
    assert plan["planned_peak"] == predicted.predicted_peak
    assert 0 < memory["stack_high_water"] < plan["stack_reserve"]
    # The painted arena: before a step only the image is written; a step writes into the
    # activation and gradient blocks, never beyond the plan.
    assert memory["arena_high_water"] == device_training.image_size
    x, y = toy_data(setup, 1)
    device_training.step(x[0], int(y[0]))
    memory = device_training.memory()
    assert device_training.image_size < memory["arena_high_water"] <= plan["arena_bytes"]
    assert memory["measured_peak"] == (
        memory["static_bytes"]
        - memory["engine_pool_bytes"]
        + memory["engine_high_water"]
        + memory["arena_high_water"]
        + memory["stack_high_water"]
    )


def test_an_empty_sample_without_a_bound_backbone_and_a_bind_without_a_model_are_refused(device_training):
    setup = toy_setup()
    device_training.load(setup)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SAMPLE.*sample has 0 bytes"):
        device_training.step(None, 0)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SETUP.*backbone: no model loaded"):
        device_training.bind_backbone(0, 1)


def test_a_setup_fed_by_the_backbone_plans_no_input_block_and_refuses_link_samples(device_training):
    from harness.training.planner import evaluate

    setup = toy_setup()
    setup.input_from_backbone = True
    plan = device_training.load(setup)
    assert plan["arena_bytes"] == evaluate(setup, plan["static_bytes"], setup.budget_bytes).arena["total"]
    assert evaluate(setup, 0, 0).arena["input"] == 0
    with pytest.raises(DeviceError, match="TRAIN_BAD_SAMPLE.*takes its input from the backbone"):
        device_training.step(np.zeros(setup.input_size, np.int8), 0)


def test_a_plan_over_budget_is_refused_with_needed_and_allowed_bytes(device_training):
    setup = toy_setup()
    setup.budget_bytes = 8192
    with pytest.raises(DeviceError, match=r"TRAIN_OVER_BUDGET.*plan needs \d+ B SRAM, budget 8192 B"):
        device_training.load(setup)
    with pytest.raises(DeviceError, match="TRAIN_NOT_READY"):
        device_training.step(np.zeros(setup.input_size, np.int8), 0)


def test_bad_samples_are_refused_without_touching_trained_weights(device_training):
    setup = toy_setup(seed=7)
    x, y = toy_data(setup, 10, seed=8)
    device_training.load(setup)
    reference = TrainingReference(setup)
    lockstep(device_training, reference, x[:5], y[:5], 5)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SAMPLE.*sample has 143 bytes, the setup's input takes 144"):
        device_training.step(x[5][:-1], 0)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SAMPLE.*label 3 out of range: 3 classes"):
        device_training.step(x[5], 3)
    check_parameters(device_training, reference)
    lockstep(device_training, reference, x[5:], y[5:], 5)
    check_parameters(device_training, reference)


def test_a_perturbed_device_constant_is_caught(hil_options):
    hil_options.require("emulated", why="builds and boots a deliberately wrong firmware variant")
    dut = open_training_dut(hil_options, PERTURBED_FIRMWARE_FLAGS)
    try:
        device = DeviceTraining(dut.link)
        setup = toy_setup()
        x, y = toy_data(setup, 5)
        device.load(setup)
        with pytest.raises(CheckFailed, match=r"step \d: device loss .* reference loss"):
            lockstep(device, TrainingReference(setup), x, y, 5)
    finally:
        dut.close()


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_every_step_runs_the_backbone_on_the_device_and_trains_two_blocks_sparsely(hil_options):
    """One boot: the engine runs VWW's frozen operators for every step and prediction, the
    training service trains the last two depthwise-separable blocks and the head on the engine's
    output in place; losses and parameters bit-exact, frozen weights read from flash."""
    hil_options.require("preloads_model_slot", why="the backbone goes into the flash model slot at boot")
    from harness.training.run import run_training

    result = run_training(
        hil_options.board,
        "qemu",
        "vww",
        256 * 1024,
        steps=3,
        train_count=2,
        test_count=1,
        backbone="device",
        plan_method="parameters",  # the scheme by parameter count: two samples measure no contribution
    )
    assert result["backbone_on_device"] and result["device_memory"]["backbone_steps"] == 3
    assert result["losses_bit_exact"] == 3
    assert result["trained_layers"] == [
        "depthwise_conv2d_11",
        "conv2d_12",
        "depthwise_conv2d_12",
        "conv2d_13",
        "new_head",
    ]
    scheme = {row["name"]: row for row in result["plan"]["scheme"]}
    assert scheme["conv2d_12"]["channels"] < scheme["conv2d_12"]["in"]  # sparse: not a full update
    assert all(result["parameters_changed"][name] > 0 for name in result["trained_layers"])
    memory = result["device_memory"]
    assert memory["engine_high_water"] <= memory["engine_pool_bytes"]
    assert result["peak_sram_bytes"] == memory["measured_peak"] <= result["plan"]["predicted_peak"] <= 256 * 1024


KWS_MODEL = VWW_MODEL.parent / "kws_ref_model.tflite"


@pytest.mark.skipif(not KWS_MODEL.is_file(), reason="MLPerf Tiny KWS model not in ../shared/models")
def test_another_backbone_the_kws_ds_cnn_trains_whole_on_the_device(hil_options):
    hil_options.require("preloads_model_slot", why="the backbone goes into the flash model slot at boot")
    from harness.training.run import run_training

    result = run_training(
        hil_options.board,
        "qemu",
        str(KWS_MODEL),
        256 * 1024,
        steps=3,
        train_count=2,
        test_count=1,
        backbone="device",
        plan_method="parameters",
    )
    assert result["backbone_on_device"] and result["losses_bit_exact"] == 3
    assert result["trained_layers"] == ["depthwise_conv2d_2", "conv2d_3", "depthwise_conv2d_3", "conv2d_4", "new_head"]
