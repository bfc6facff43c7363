"""The firmware engine's own checks: what it refuses to load or run, and its RAM pool."""

from __future__ import annotations

import numpy as np
import pytest

from harness.engine.pack import FIRMWARE_RAM_RESERVE, pack_model
from harness.engine.runner import Engine
from harness.errors import DeviceError
from harness.model import load_model
from tests.support.single_op import single_op_model


@pytest.fixture
def engine(fresh_dut) -> Engine:
    return Engine(fresh_dut)


def test_pool_is_at_least_what_the_packer_budgets(engine, fresh_dut):
    budget = fresh_dut.board.variant(fresh_dut.variant.emulator).memory.sram.size - FIRMWARE_RAM_RESERVE
    assert engine.pool_size >= budget


def test_requests_before_a_model_is_loaded_are_refused(fresh_dut):
    with pytest.raises(DeviceError, match="NO_MODEL"):
        fresh_dut.link.call("INVOKE", first_op=0, end_op=0xFFFF)
    with pytest.raises(DeviceError, match="NO_MODEL"):
        fresh_dut.link.call("TENSOR_READ", tensor=0, reserved=0, offset=0, length=1)


@pytest.mark.parametrize(
    "where, why",
    [
        (30, "model tables out of bounds"),  # a header count
        (200, "CRC-32 mismatch"),
        (-3, "CRC-32 mismatch"),
    ],
)
def test_corrupted_model_in_ram_fails_validation(engine, fresh_dut, where, why):
    image = bytearray(pack_model(load_model(single_op_model("CONV_2D"))).image)
    image[where] ^= 0x10
    fresh_dut.link.call("MODEL_WRITE", offset=0, data=bytes(image))
    with pytest.raises(DeviceError, match=f"MODEL_INVALID.*{why}"):
        fresh_dut.link.call("MODEL_LOAD", source=1, reserved=0, reserved2=0, offset=0)


def test_empty_flash_slot_is_not_a_model(fresh_dut):
    with pytest.raises(DeviceError, match="MODEL_INVALID.*bad magic"):
        fresh_dut.link.call("MODEL_LOAD", source=0, reserved=0, reserved2=0, offset=0)


def test_out_of_range_tensor_access_is_refused(engine, fresh_dut):
    packed = pack_model(load_model(single_op_model("ADD")))
    model = engine.load_ram(packed)
    x = packed.inputs[0]
    with pytest.raises(DeviceError, match="range outside the tensor"):
        fresh_dut.link.call("TENSOR_READ", tensor=x, reserved=0, offset=0, length=packed.tensors[x].nbytes + 1)
    with pytest.raises(DeviceError, match="no such tensor"):
        fresh_dut.link.call("TENSOR_READ", tensor=999, reserved=0, offset=0, length=1)
    model.set_inputs([np.zeros((1, 4, 4, 3), np.int8)] * 2)
    assert model.invoke() > 0
