"""The firmware reads a model from the flash slot as a real board's flasher leaves it: the Uno's
Intel HEX file, the one avrdude writes (`upload.model_command`), carries the slot address itself;
here QEMU's generic loader places it by those addresses, and the firmware runs the model from
there bit-exact with tflite-micro."""

from __future__ import annotations

import pytest

from harness.boards import load_board
from harness.dut import Dut
from harness.engine.pack import pack_file
from harness.engine.runner import Engine
from harness.engine.session import InferenceSession
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from harness.targets.flash import write_slot_files

HELLO_WORLD = SHARED_MODELS / "tflm_examples/hello_world_int8.tflite"


@pytest.mark.skipif(not HELLO_WORLD.is_file(), reason=f"{HELLO_WORLD} is not available")
def test_the_uno_runs_the_model_from_the_hex_file_avrdude_would_write(tmp_path):
    board = load_board("uno")
    assert board.variant("qemu").memory.model_slot == board.memory.model_slot  # same addresses
    packed = pack_file(HELLO_WORLD, board, "none")
    files = write_slot_files(board, packed.image, tmp_path)
    loader = ["-device", f"loader,file={files['model_hex']}"]  # addresses from the file, not given
    with Dut.open(board, "qemu", timeout=10.0, qemu_args=lambda firmware: loader) as dut:
        device_model = Engine(dut).load_slot(packed)  # the device's CRC of the slot must match
        session = InferenceSession(dut, device_model, Reference(HELLO_WORLD), owns_dut=False)
        try:
            result = session.run_seeded(count=4, seed=3)
        finally:
            session.close()
    assert result.verdict.passed, result.describe()
