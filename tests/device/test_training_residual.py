"""k x k and strided convolutions and the residual ADD trained on the device in QEMU, bit-exact
with the host reference (docs/training_spec.md), and malformed CONV/ADD records refused naming
the layer and the field: one QEMU boot (the session's training firmware) for these; and ResNet-8's
last block trained with the frozen part on the device's engine (a boot with the model in the slot)."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

from harness.errors import DeviceError
from harness.shared_models import SHARED_MODELS
from harness.training.reference import TrainingReference
from harness.training.run import check_parameters, lockstep
from harness.training.setup import LAYER_RECORD, TrainSetup, arena_layout, pack, record_offset, saved_input_bytes
from harness.training.toy import conv_layer, toy_data, toy_residual_setup, toy_setup

STEPS = 6
RESNET = SHARED_MODELS / "mlperf_tiny" / "pretrainedResnet_quant.tflite"


def conv_chain(seed: int = 0) -> TrainSetup:
    """A plain chain (no residual): conv 3x3 stride 2 (ReLU) -> conv 3x3 -> the toy pool and head."""
    rng = np.random.default_rng(seed + 300)
    tail = toy_setup(seed, hw=3, cin=10)
    first = conv_layer(rng, (6, 5, 8), 10, 3, 2, (0.05, -3, 0.05, -3), True, "conv_s2")
    second = conv_layer(rng, (3, 3, 10), 16, 3, 1, (0.05, -3, 0.05, -3), False, "conv_s1")
    tail.layers[0].in_shape = (3, 3, 16)
    tail.layers[0].weights = rng.integers(-90, 91, (12, 16)).astype(np.int8)
    for layer, channels in ((first, 4), (second, 10)):
        layer.lr, layer.train_bias, layer.train_channels = 0.1, True, channels
    return TrainSetup(layers=[first, second, *tail.layers], num_classes=3)


def test_a_resnet_block_trains_bit_exact_with_the_reference(train_in_lockstep):
    setup = toy_residual_setup(seed=1)
    x, y = toy_data(setup, STEPS, seed=7)
    device, reference = train_in_lockstep(setup, x, y, STEPS)
    for i in (0, 1, 2, 3):  # pointwise, both 3x3 convolutions, the 1x1 strided shortcut
        assert not np.array_equal(reference.setup.layers[i].weights, setup.layers[i].weights), i
    assert device.plan["arena_bytes"] == arena_layout(setup, device.image_size)["total"]


def _train_block(device_training, fraction: int) -> tuple[dict, dict, int]:
    """Trains the toy ResNet block with its three convolutions on 1/fraction of their input
    channels, bit-exact; returns (device plan, TRAIN_MEMORY, planned arena)."""
    setup = toy_residual_setup(seed=5)
    for layer in setup.layers[1:4]:  # conv_a, conv_b, shortcut: conv_b's input is conv_a's output
        layer.train_channels = layer.in_shape[2] // fraction
    x, y = toy_data(setup, STEPS, seed=9)
    plan = device_training.load(setup)
    reference = TrainingReference(setup)
    lockstep(device_training, reference, x, y, STEPS)  # every loss bit-exact
    check_parameters(device_training, reference)  # every weight and bias read back, bit-exact
    for i in (1, 2, 3):
        assert saved_input_bytes(setup, i) == setup.layers[i].positions * setup.layers[i].train_channels > 0
    return plan, device_training.memory(), arena_layout(setup, device_training.image_size)["total"]


def test_a_resnet_block_saves_only_the_selected_channels_and_its_high_water_falls_with_r(device_training):
    # The smaller ratio first: the stack high-water (since reset) can only grow in between.
    sparse_plan, sparse, sparse_layout = _train_block(device_training, 4)
    full_plan, full, full_layout = _train_block(device_training, 1)
    assert (sparse_plan["arena_bytes"], full_plan["arena_bytes"]) == (sparse_layout, full_layout)
    assert sparse_layout < full_layout
    assert device_training.image_size < sparse["arena_high_water"] <= sparse_plan["arena_bytes"]
    assert sparse["arena_high_water"] < full["arena_high_water"] <= full_plan["arena_bytes"]


def test_a_conv_chain_without_reordering_is_bit_exact_with_stochastic_rounding(train_in_lockstep):
    setup = conv_chain()
    setup.defer_updates, setup.stochastic_rounding, setup.rounding_seed = True, True, 11
    x, y = toy_data(setup, STEPS, seed=8)
    device, reference = train_in_lockstep(setup, x, y, STEPS)
    assert not np.array_equal(reference.setup.layers[0].weights, setup.layers[0].weights)
    assert device.plan["arena_bytes"] == arena_layout(setup, device.image_size)["total"]


@pytest.mark.parametrize(
    "layer, field, value, problem",
    [
        (1, "kernel_h", 2, "layer 1: conv: odd kernel <= 7, stride 1/2"),
        (1, "stride", 3, "layer 1: conv: odd kernel <= 7, stride 1/2"),
        (1, "flags", 1, "layer 1: off_trained outside the parameter area"),  # split: no columns
        (1, "off_weights", 1 << 30, "layer 1: off_weights outside the parameter area"),
        (3, "input_ref", 4, "layer 3: input_ref is not an earlier activation"),
        (3, "input_ref", 2, "layer 3: input_ref's shape is not the layer's input"),
        (4, "skip_ref", 5, "layer 4: skip_ref is not an earlier activation"),
        (4, "skip_ref", 1, "layer 4: skip_ref's shape is not the layer's input"),
        (4, "skip_zp", 200, "layer 4: skip_zp outside int8"),
        (4, "train_bias", 1, "layer 4: add has no parameters to train or read"),
        (4, "out_c", 6, "layer 4: add must keep the channel count"),
        (4, "off_shift", 3, "layer 4: off_shift outside the parameter area or unaligned"),
        (2, "skip_ref", 1, "layer 2: skip_ref/skip_zp set on a layer that is not an add"),
    ],
)
def test_malformed_conv_and_add_records_are_refused_naming_the_layer(device_training, layer, field, value, problem):
    image = bytearray(pack(toy_residual_setup()))  # 1: conv_a, 3: shortcut (reads a[1]), 4: add
    struct.pack_into(LAYER_RECORD.field_format(field), image, record_offset(layer) + LAYER_RECORD.offset(field), value)
    with pytest.raises(DeviceError, match="TRAIN_BAD_SETUP.*" + re.escape(problem)):
        device_training.load_image(bytes(image))


@pytest.mark.skipif(not RESNET.is_file(), reason="MLPerf Tiny ResNet-8 not in ../shared/models")
def test_resnet8_last_block_trains_sparsely_with_the_backbone_on_the_device_bit_exact(hil_options):
    """All three convolutions of the block train 1/8 of their input channels (the columns in SRAM,
    the rest read from the flash slot) and their biases, the head fully; the frozen operators 0-7
    run on the device's engine in every step."""
    hil_options.require("emulated", why="boots its own firmware with the backbone in the flash slot")
    from harness.dut import Dut
    from harness.training.backbone import DeviceBackbone, pack_backbone
    from harness.training.device import TRAINING_FIRMWARE_FLAGS, DeviceTraining
    from harness.training.reference import TrainingReference
    from harness.training.run import check_parameters, lockstep, make_task, task_setup

    setup = task_setup(str(RESNET), 0, backbone="device")  # conv2d_6, conv2d_7, shortcut, add, pool, head
    for layer in setup.layers[:3]:  # a rate that moves 1/8 of the weights within 4 steps
        layer.train_bias, layer.train_channels, layer.lr = True, layer.in_shape[2] // 8, 0.5
    task = make_task(str(RESNET), 4, 1, 0, backbone="device")
    packed = pack_backbone(task.backbone)
    with Dut.open(
        hil_options.board,
        hil_options.emulator,
        timeout=60,
        extra_flags=TRAINING_FIRMWARE_FLAGS,
        slot_image=packed.image,
    ) as dut:
        device = DeviceTraining(dut.link, 60)
        plan = device.load(setup)
        engine = DeviceBackbone(dut, packed, device, 1)
        reference = TrainingReference(setup)
        lockstep(device, reference, task.train_x, task.train_y, 4, device_input=engine.feeder(task.train_images))
        compared = check_parameters(device, reference)
        memory = device.memory()
    assert memory["backbone_steps"] == 4 and plan["arena_bytes"] == arena_layout(setup, device.image_size)["total"]
    assert all(setup.layers[i].weights_split for i in range(3))
    assert compared == sum(layer.trained_parameters for layer in setup.layers)
    for i in range(3):
        assert not np.array_equal(reference.setup.layers[i].weights, setup.layers[i].weights), setup.layers[i].name
