"""The training service trusts no setup image (real firmware in QEMU): malformed TRAIN_LOAD
pieces and images are refused naming the field, a refused load leaves nothing to read back, and
a good setup still trains bit-exactly afterwards."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from harness.errors import DeviceError
from harness.training.device import TRAINING_ARENA_BYTES
from harness.training.reference import TrainingReference
from harness.training.run import check_parameters, lockstep
from harness.training.setup import (
    KINDS,
    LAYER_RECORD,
    MAGIC,
    RECORD_WEIGHTS_IN_SLOT,
    SETUP_HEADER,
    VERSION,
    pack,
    record_offset,
)
from harness.training.toy import toy_data, toy_setup


def _patched(image: bytes, layer: int, field: str, value: int) -> bytes:
    """`image` with one field of layer `layer`'s record set (by name: harness/contracts/training_image.yaml)."""
    data = bytearray(image)
    struct.pack_into(LAYER_RECORD.field_format(field), data, record_offset(layer) + LAYER_RECORD.offset(field), value)
    return bytes(data)


def _field(image: bytes, layer: int, field: str) -> int:
    return LAYER_RECORD.unpack(image, record_offset(layer))[field]


def _huge_pooling_image() -> bytes:
    """One global pooling layer over 4096x4096x256 inputs: 2^32 bytes, 0 in 32-bit arithmetic."""
    h, w, c = 4096, 4096, 256
    header = SETUP_HEADER.pack(
        magic=MAGIC,
        version=VERSION,
        num_layers=1,
        num_classes=c,
        in_h=h,
        in_w=w,
        in_c=c,
        flags=0,
        budget=256 * 1024,
        total=record_offset(1),
    )
    record = LAYER_RECORD.pack(
        **(
            {name: 0 for name in LAYER_RECORD.names}
            | {"kind": KINDS["avgpool"], "in_h": h, "in_w": w, "in_c": c, "out_c": c, "act_min": -128, "act_max": 127}
        )
    )
    return header + record


def _read(device_training, offset: int, length: int) -> bytes:
    return device_training.link.call("TRAIN_READ", offset=offset, length=length)["data"]


def _load_piece(device_training, offset: int, total: int, data: bytes) -> None:
    device_training.link.call("TRAIN_LOAD", offset=offset, total=total, data=data)


def _image() -> bytes:
    return pack(toy_setup(seed=3))


def test_a_load_over_the_arena_is_refused_and_leaves_nothing_to_read(device_training):
    total = TRAINING_ARENA_BYTES + 4096
    with pytest.raises(DeviceError, match=f"TRAIN_OVER_BUDGET.*TRAIN_LOAD total {total} B > training arena"):
        _load_piece(device_training, 0, total, _image()[:1024])
    with pytest.raises(DeviceError, match=r"BAD_REQUEST.*TRAIN_READ offset/length outside the loaded image \(0 B\)"):
        _read(device_training, 0, 1024)
    with pytest.raises(DeviceError, match=r"BAD_REQUEST.*TRAIN_READ .*outside"):
        _read(device_training, TRAINING_ARENA_BYTES, 4096)  # past the arena itself
    with pytest.raises(DeviceError, match="TRAIN_BAD_SETUP.*setup image incomplete"):
        device_training.link.call("TRAIN_BEGIN")


@pytest.mark.parametrize(
    "pieces, problem",
    [
        ([(0, 100, 200)], "TRAIN_LOAD data: 200 B at offset 0 run past total 100"),
        ([(0, 8192, 4096), (8000, 8192, 192)], "TRAIN_LOAD offset 8000 out of sequence, expected 4096"),
        ([(0, 8192, 4096), (4096, 9000, 4096)], "TRAIN_LOAD total 9000 differs from first piece's 8192"),
    ],
)
def test_a_bad_piece_is_refused_naming_the_field_and_forgets_the_earlier_ones(device_training, pieces, problem):
    *good, (offset, total, size) = pieces
    for piece in good:
        _load_piece(device_training, piece[0], piece[1], bytes(piece[2]))
    with pytest.raises(DeviceError, match=f"BAD_REQUEST.*{problem}"):
        _load_piece(device_training, offset, total, bytes(size))
    with pytest.raises(DeviceError, match=r"TRAIN_READ offset/length outside the loaded image \(0 B\)"):
        _read(device_training, 0, 16)


def _overlapping_arrays(image: bytes) -> bytes:
    return _patched(image, 0, "off_bias", _field(image, 0, "off_shift"))


def _pooling_with_trained_columns(image: bytes) -> bytes:
    """Layer 1 (the pooling) claims split weights far outside the arena (found by the fuzzer)."""
    image = _patched(image, 1, "flags", RECORD_WEIGHTS_IN_SLOT)
    image = _patched(image, 1, "train_channels", 1)
    return _patched(image, 1, "off_trained", 0x27230000)


def _shift_of_64(image: bytes) -> bytes:
    data = bytearray(image)
    struct.pack_into("<i", data, _field(image, 0, "off_shift"), 64)
    return bytes(data)


@pytest.mark.parametrize(
    "make_image, problem",
    [
        (lambda image: _patched(image, 0, "off_bias", 0x7FFFFFFC), "layer 0: off_bias outside the parameter area"),
        (lambda image: _patched(image, 2, "off_bias", 64), "layer 2: off_bias outside the parameter area"),
        (lambda image: _huge_pooling_image(), "layer 0: layer activations larger than the training arena"),
        (lambda image: _patched(image, 0, "input_zp", -(2**31)), "layer 0: zero point outside int8"),
        (_shift_of_64, "layer 0: shift value outside -31..31"),
        (_overlapping_arrays, "parameter arrays overlap"),
        (_pooling_with_trained_columns, "layer 1: pooling has no parameters to train or read"),
    ],
    ids=[
        "offset_past_the_arena",
        "offset_into_the_records",
        "size_overflowing_32_bits",
        "zero_point",
        "shift",
        "overlap",
        "pooling_with_parameters",
    ],
)
def test_a_malformed_setup_is_refused_at_begin_naming_the_field(device_training, make_image, problem):
    image = make_image(_image())
    with pytest.raises(DeviceError, match=f"TRAIN_BAD_SETUP.*{problem}"):
        device_training.load_image(image)
    with pytest.raises(DeviceError, match="TRAIN_NOT_READY"):
        device_training.link.call("TRAIN_STEP", label=0, sample=bytes(144))
    with pytest.raises(DeviceError, match=r"TRAIN_READ offset/length outside the loaded image"):
        _read(device_training, len(image), 1)
    assert _read(device_training, 0, len(image)) == image  # what was loaded, and nothing beyond


def test_a_good_setup_trains_bit_exactly_after_refused_ones(device_training):
    with pytest.raises(DeviceError, match="TRAIN_OVER_BUDGET"):
        _load_piece(device_training, 0, 2**32 - 1, b"")
    with pytest.raises(DeviceError, match="TRAIN_BAD_SETUP"):
        device_training.load_image(_overlapping_arrays(_image()))
    setup = toy_setup(seed=3)
    x, y = toy_data(setup, 8, seed=4)
    device_training.load(setup)
    reference = TrainingReference(setup)
    lockstep(device_training, reference, x, y, 8)
    assert check_parameters(device_training, reference) > 0
    assert not np.array_equal(reference.setup.layers[2].weights, setup.layers[2].weights)
