"""TFLM's hello_world (int8: three FULLY_CONNECTED layers of 16 units) on the emulated Arduino Uno,
bit for bit against tflite-micro.

The Uno's engine is built with ENGINE_OPS_MINIMAL (flash) and reads the packed model from its
flash model slot with LPM, copying each layer's constants into a small RAM scratch (2 KB of SRAM
cannot hold the 1,152-byte packed model): QEMU's loader puts the model in the slot at boot.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.boards import load_board
from harness.engine.session import InferenceSession
from harness.errors import HarnessError
from harness.shared_models import SHARED_MODELS

HELLO_WORLD = SHARED_MODELS / "tflm_examples/hello_world_int8.tflite"
INPUTS = 12

pytestmark = pytest.mark.skipif(not HELLO_WORLD.is_file(), reason=f"{HELLO_WORLD} is not available")


def _check_exact(result) -> None:
    assert len(result.device_outputs) == INPUTS
    assert all(c.dtype == "int8" for c in result.verdict.outputs)
    assert result.verdict.passed, result.describe()
    inputs = np.concatenate([case[0].ravel() for case in result.inputs])
    assert len(np.unique(inputs)) > 1, "the seeded inputs should differ"


@pytest.mark.boards("uno")
def test_hello_world_int8_on_the_board_under_test(run_model, hil_options):
    hil_options.require(
        "preloads_model_slot",
        why="the Uno's engine runs models from its flash slot "
        "only; a real Uno would need it written by avrdude with the firmware (not done yet)",
    )
    _check_exact(run_model(HELLO_WORLD, count=INPUTS, seed=11))


def test_hello_world_int8_on_the_emulated_uno_whatever_the_board():
    with InferenceSession.open("uno", "qemu", HELLO_WORLD, timeout=10.0) as session:
        assert session.dut.info.board == "uno"
        result = session.run_seeded(count=INPUTS, seed=5)
    _check_exact(result)


def test_uno_refuses_to_stream_a_model_its_ram_cannot_hold():
    """2 KB of SRAM: the model must come from the flash slot; streaming says so in one line."""
    from harness.dut import Dut
    from harness.engine.pack import pack_file
    from harness.engine.runner import Engine

    board = load_board("uno")
    with Dut.open(board, "qemu") as dut, pytest.raises(HarnessError, match="put it in the flash model slot"):
        Engine(dut).load_ram(pack_file(HELLO_WORLD, board, "qemu"))
