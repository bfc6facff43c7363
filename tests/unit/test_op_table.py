"""The op table (harness/engine/ops.py) is the one host-side list of operators: lowering, the
writer, the quantizer and the test-support builders follow it; its codes are TFLite's builtin
codes, and the device's op enum (generated from harness/contracts/model_format.yaml) and dispatch
table (firmware/src/engine/ops.c) name the same operators with the same codes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness.engine.ops import OPS, SUPPORTED, lower
from harness.model import load_model
from harness.model import quantize as quantizer
from harness.model.tflite import OPCODE_VALUES
from harness.model.writer import OPTIONS_TYPES, ModelBuilder, options_from_dict
from tests.support import random_ops
from tests.support.single_op import SINGLE_OP_CASES, single_op_model

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "src"


def _device_op_enum() -> dict[str, int]:
    """ENGINE_OP_<NAME> = <code> wherever the firmware's headers define them."""
    found: dict[str, int] = {}
    for header in FIRMWARE.rglob("*.h"):
        for name, code in re.findall(r"\bENGINE_OP_(\w+)\s*=\s*(\d+)", header.read_text()):
            found[name] = int(code)
    return found


def test_the_tables_codes_are_the_builtin_codes_and_the_devices():
    codes = {op.name: op.code for op in OPS.values()}
    assert codes == {name: OPCODE_VALUES[name] for name in OPS}
    assert _device_op_enum() == codes


def test_the_device_dispatch_table_has_every_op():
    source = (FIRMWARE / "engine" / "ops.c").read_text()
    kinds = source[source.index("kinds[] = {") :]
    kinds = kinds[: kinds.index("};")]
    assert set(re.findall(r"\{ENGINE_OP_(\w+),", kinds)) == set(SUPPORTED)


@pytest.mark.parametrize(("opcode", "dtype"), SINGLE_OP_CASES)
def test_each_ops_model_lowers_in_the_tables_dtype(opcode, dtype):
    [lowered] = lower(load_model(single_op_model(opcode, dtype)))
    assert (lowered.opcode, lowered.dtype, lowered.code) == (opcode, np.dtype(dtype), OPS[opcode].code)


def test_every_op_has_a_random_builder_and_the_same_order():
    assert random_ops.OPS == SUPPORTED
    assert set(random_ops.BUILDERS) == set(SUPPORTED)
    rng = np.random.default_rng(1)
    for opcode in SUPPORTED:
        tflite, inputs = random_ops.random_case(rng, opcode, "int8")
        model = load_model(tflite)
        assert [op.opcode for op in model.operators] == [opcode] and inputs


def test_the_writers_defaults_are_options_of_each_op():
    for op in OPS.values():
        if op.options:
            assert op.name in OPTIONS_TYPES
            options_from_dict(op.name, dict(op.options))  # raises on an unknown option


def test_builder_takes_the_tables_defaults():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), np.float32)
    y = b.tensor("y", (1, 4, 4, 1), np.float32)
    b.operator("MAX_POOL_2D", [x], [y], padding="SAME")
    assert b.operators[0].options == {**OPS["MAX_POOL_2D"].options, "padding": "SAME"}


def test_the_quantizer_takes_the_ops_with_a_rule():
    assert {op.name for op in OPS.values() if op.quantize is not None} == quantizer.SUPPORTED
    assert quantizer.WEIGHT_AXIS == {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}


def test_an_op_without_a_fixed_model_gets_its_seeded_random_one(monkeypatch):
    from tests.support import single_op

    monkeypatch.delattr(single_op._SingleOp, "_mean")
    want = random_ops.random_case(np.random.default_rng(5), "MEAN", "float32")[0]
    assert single_op_model("MEAN", "float32", seed=5) == want
