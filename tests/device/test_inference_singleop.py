"""Thousands of randomized single-operator models on the device, in ONE boot, against tflite-micro.

Every supported operator in int8 and float32, with random shapes, strides, padding, dilation,
fused activations and per-tensor or per-channel weights (tests/support/random_ops.py). Under
QEMU most cases sit in the flash model slot as one batch image (loaded at boot) and are selected
one after another with MODEL_LOAD; the rest are streamed into RAM over the link, so both ways of
switching models without a reboot are exercised. int8 outputs must match exactly; float32 ones
within the documented tolerance (harness/engine/compare.py).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from harness.engine.compare import compare_tensor
from harness.engine.pack import pack_model
from harness.engine.runner import Engine, batch_image, open_with_slot_image
from harness.model import load_model
from tests.support.batch_reference import BatchReference
from tests.support.random_ops import OPS, random_case

SLOT_CASES = 2000
RAM_CASES = 150
SEED = 20261127


def _cases(rng: np.random.Generator, count: int, start: int) -> list[dict]:
    cases = []
    for i in range(start, start + count):
        opcode = OPS[i % len(OPS)]
        dtype = "float32" if (i // len(OPS)) % 4 == 3 else "int8"
        tflite, inputs = random_case(rng, opcode, dtype)
        packed = pack_model(load_model(tflite))
        cases.append({"id": i, "opcode": opcode, "dtype": dtype, "tflite": tflite, "inputs": inputs, "packed": packed})
    return cases


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    rng = np.random.default_rng(SEED)
    generated = _cases(rng, SLOT_CASES + RAM_CASES, 0)
    with BatchReference() as reference:
        outputs = reference.run_many([(c["tflite"], c["inputs"], 1) for c in generated])
    for case, want in zip(generated, outputs):
        case["want"] = want[0]
    return generated


def _check(device_model, case: dict, failures: list[str]) -> None:
    got = device_model.run(case["inputs"])[0][0]
    comparison = compare_tensor("output", got, case["want"])
    if not comparison.passed:
        failures.append(f"case {case['id']} {case['opcode']} {case['dtype']}: {comparison.describe()}")


def test_random_single_op_cases_in_one_boot(hil_options, cases):
    hil_options.require("preloads_model_slot", why="the batch image goes into the flash model slot at boot")
    slot_cases, ram_cases = cases[:SLOT_CASES], cases[SLOT_CASES:]
    image, offsets = batch_image([c["packed"].image for c in slot_cases])
    failures: list[str] = []
    ran = collections.Counter()
    with open_with_slot_image(hil_options.board, hil_options.emulator, image) as dut:
        engine = Engine(dut)
        for case, offset in zip(slot_cases, offsets):
            _check(engine.load_slot(case["packed"], offset), case, failures)
            ran[(case["opcode"], case["dtype"])] += 1
        for case in ram_cases:
            _check(engine.load_ram(case["packed"]), case, failures)
            ran[(case["opcode"], case["dtype"])] += 1
        assert dut.link_stats()["bad_crc"] == 0
    assert sum(ran.values()) == SLOT_CASES + RAM_CASES
    assert {op for op, _ in ran} == set(OPS)
    assert not failures, f"{len(failures)} of {sum(ran.values())} cases differ:\n" + "\n".join(failures[:20])
