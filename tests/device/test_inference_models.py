"""Real models on the device (QEMU stand-in for nucleo_f746) against tflite-micro, bit for bit.

Each int8 model runs 20 seeded random inputs (int8 inputs are generated on the device from the
same seed, see harness/engine/seeded_inputs.py; the first of each boot is read back to check).
person_detect must also
rank TFLM's own test images the way TFLM's person_detection_test does.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.engine.pack import ModelTooLarge, pack_file
from harness.engine.session import InferenceSession, run_each
from harness.pytest_junit import add_properties, device_properties, file_sha256, inference_properties
from harness.shared_models import SHARED_MODELS

MODELS = SHARED_MODELS
INT8_MODELS = [
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/vww_96_int8.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "mlperf_tiny/ad01_int8.tflite",
    "tflm_examples/hello_world_int8.tflite",
    "tflm_examples/micro_speech_quantized.tflite",
    "tflm_examples/person_detect.tflite",
]
FLOAT_MODELS = ["tflm_examples/hello_world_float.tflite", "mlperf_tiny/pretrainedResnet.tflite"]
INPUTS_PER_MODEL = 20
PERSON, NO_PERSON = 1, 0  # person_detect's output classes (TFLM kPersonIndex, kNotAPersonIndex)

pytestmark = pytest.mark.skipif(not MODELS.is_dir(), reason=f"{MODELS} is not available")


@pytest.fixture(scope="module")
def int8_runs(hil_options) -> dict[str, tuple]:
    """Under QEMU the seven models run as `hil run --model ...` runs them: two shared boots, two
    at a time (harness/engine/session.run_each); each run keeps the JUnit properties run_model
    would record."""
    if not hil_options.capabilities().preloads_model_slot:
        return {}

    def work(position: int, session: InferenceSession) -> tuple:
        model = MODELS / INT8_MODELS[position]
        result = session.run(None, INPUTS_PER_MODEL, seed=1)
        return result, device_properties(session.dut) + inference_properties(
            model, file_sha256(model), session.packed.arena_size, result
        )

    done = run_each(
        hil_options.board, "qemu", [MODELS / name for name in INT8_MODELS], work, timeout=max(hil_options.timeout, 10.0)
    )
    return {INT8_MODELS[position]: run for position, run in done.items()}


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_model_matches_tflite_micro_exactly(int8_runs, request, name):
    if name in int8_runs:
        result, properties = int8_runs[name]
        add_properties(request.node, properties)
    else:  # a real board: the session's device, one streamed model at a time
        result = request.getfixturevalue("run_model")(MODELS / name, count=INPUTS_PER_MODEL, seed=1)
    assert len(result.device_outputs) == INPUTS_PER_MODEL
    assert all(c.dtype == "int8" for c in result.verdict.outputs)
    assert result.verdict.passed, result.describe()
    assert min(result.instructions) > 0


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_model_within_tolerance(run_model, hil_options, name):
    skip_if_too_large(MODELS / name, hil_options)
    result = run_model(MODELS / name, count=3, seed=2)
    assert result.verdict.passed, result.describe()
    assert all(c.cosine > 0.99999 for c in result.verdict.outputs)


def test_per_layer_readback_matches_every_intermediate_tensor(run_model):
    result = run_model(MODELS / "mlperf_tiny/kws_ref_model.tflite", count=1, seed=3, per_layer=True)
    assert result.layer_mismatch is None, result.layer_mismatch.describe()
    assert result.verdict.passed


def skip_if_too_large(model: Path, hil_options) -> None:
    """A float model may not fit a smaller board (ResNet-8's float arena is 192 KB): say so."""
    try:
        pack_file(model, load_board(hil_options.board), hil_options.emulator)
    except ModelTooLarge as exc:
        pytest.skip(f"does not fit this board: {exc}")


def read_gray_bmp(path: Path) -> np.ndarray:
    """An 8-bit palettized BMP as a top-down uint8 gray image (rows are stored bottom-up, each
    padded to 4 bytes; gray = the palette entry's value)."""
    data = path.read_bytes()
    assert data[:2] == b"BM", f"{path} is not a BMP"
    pixels_at = struct.unpack_from("<I", data, 10)[0]
    header_size, width, height, _, bits = struct.unpack_from("<IiiHH", data, 14)
    assert bits == 8, f"{path}: {bits}-bit BMP, want 8-bit"
    palette = np.frombuffer(data, np.uint8, 256 * 4, 14 + header_size).reshape(256, 4)
    stride = (width + 3) // 4 * 4
    rows = np.frombuffer(data, np.uint8, stride * abs(height), pixels_at).reshape(abs(height), stride)
    indices = rows[:, :width]
    if height > 0:  # positive height: bottom-up
        indices = indices[::-1]
    return palette[indices, 0]  # B of (B, G, R, 0); the palette is gray


def person_input(name: str) -> np.ndarray:
    """As TFLM's person_detection_test.cc feeds it: the image bytes as generate_cc_arrays.py
    writes them (PIL's tobytes(): palette indices, top row first) memcpy'd into the int8 input,
    i.e. reinterpreted, not shifted by 128. (Shifting by 128 makes the model call person.bmp
    "no person"; the memcpy form gives the scores TFLM's test expects.)"""
    gray = read_gray_bmp(MODELS / "tflm_examples" / name)
    return gray.view(np.int8).reshape(1, 96, 96, 1)


def test_person_detect_ranks_tflm_test_images(run_model):
    images = [[person_input("person.bmp")], [person_input("no_person.bmp")]]
    result = run_model(MODELS / "tflm_examples/person_detect.tflite", inputs=images)
    assert result.verdict.passed, result.describe()
    person, no_person = (outputs[0].reshape(-1) for outputs in result.device_outputs)
    assert person[PERSON] > person[NO_PERSON], f"person.bmp scored {person}"
    assert no_person[NO_PERSON] > no_person[PERSON], f"no_person.bmp scored {no_person}"
