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
from harness.training.setup import LAYER_RECORD, TrainSetup, arena_layout, pack, record_offset
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
        (1, "flags", 1, "layer 1: conv weights in the model slot cannot train"),
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
def test_resnet8_last_block_trains_with_the_backbone_on_the_device_bit_exact(hil_options):
    hil_options.require("emulated", why="boots its own firmware with the backbone in the flash slot")
    from harness.training.run import run_training

    result = run_training(hil_options.board, hil_options.emulator, str(RESNET), 256 * 1024, 4, 4, 4, backbone="device")
    assert result["backbone_on_device"] is True and result["losses_bit_exact"] == 4
    assert result["peak_sram_bytes"] <= result["budget_bytes"]
    convolutions = [name for name in result["trained_layers"] if name.startswith("conv2d")]
    assert convolutions and result["trained_layers"][-1] == "new_head"
    assert all(result["parameters_changed"][name] > 0 for name in convolutions)
