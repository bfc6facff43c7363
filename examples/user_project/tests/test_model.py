"""A user's model checked on the device: bit-exact against tflite-micro.

The model is one of the third-party models in the shared models folder, found through
$HIL_SHARED_MODELS (scripts/test_wheel.sh sets it).
"""

import os
from pathlib import Path

MODEL = Path(os.environ["HIL_SHARED_MODELS"]) / "tflm_examples" / "hello_world_int8.tflite"


def test_the_board_answers(dut):
    assert dut.info.board == "nucleo_f746"
    assert dut.info.sram_size == 320 * 1024


def test_hello_world_matches_tflite_micro(run_model):
    result = run_model(MODEL, count=5, seed=1)
    assert result.verdict.passed, result.describe()
