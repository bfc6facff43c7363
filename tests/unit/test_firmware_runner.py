"""The host's checks of a user firmware's model description (harness.firmware_runner), without a
device: the RUNNER_TENSOR reply decoded, and every way it may differ from the .tflite named."""

from __future__ import annotations

import re
import struct
from dataclasses import replace

import numpy as np
import pytest

from harness.errors import LinkError
from harness.firmware_runner import FirmwareModel, ModelMismatch, RunnerTensor, _layers
from harness.link.framing import Frame
from harness.link.protocol import FLAG_MORE, MessageType
from harness.model.tflite import load_model
from harness.shared_models import SHARED_MODELS

HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
pytestmark = pytest.mark.skipif(not HELLO.exists(), reason="shared models not available")


def _described(model, index: int) -> RunnerTensor:
    tensor = model.tensors[index]
    return RunnerTensor(
        tensor.dtype,
        tuple(tensor.shape),
        float(tensor.quant.scale[0]),
        int(tensor.quant.zero_point[0]),
        int(np.prod(tensor.shape)) * tensor.dtype.itemsize,
    )


def _firmware(model, **input_changes) -> FirmwareModel:
    firmware = object.__new__(FirmwareModel)
    firmware.sha256 = model.sha256
    firmware.inputs = [replace(_described(model, model.inputs[0]), **input_changes)]
    firmware.outputs = [_described(model, i) for i in model.outputs]
    firmware.link = type("L", (), {"timeout": 5.0})()
    return firmware


def test_a_faithful_description_passes():
    model = load_model(HELLO)
    _firmware(model).check_model(model, HELLO)


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"shape": (1, 2)}, "shape [1, 2] (model: [1, 1])"),
        ({"dtype": np.dtype(np.uint8)}, "type uint8 (model: int8)"),
        ({"zero_point": 3}, "zero point 3"),
        ({"scale": 1.0}, "scale 1"),
        ({"nbytes": 4}, "4 bytes (model: 1)"),
    ],
)
def test_each_difference_is_named(changes, problem):
    model = load_model(HELLO)
    with pytest.raises(ModelMismatch, match=r"input 0 .*" + re.escape(problem)):
        _firmware(model, **changes).check_model(model, HELLO)


def test_another_models_sha256_is_refused():
    model = load_model(HELLO)
    firmware = _firmware(model)
    firmware.sha256 = "0" * 64
    with pytest.raises(ModelMismatch, match="built from another model"):
        firmware.check_model(model, HELLO)


def test_tensor_reply_decodes_the_float_scale_bits():
    reply = {
        "dtype": 9,
        "rank": 2,
        "d0": 1,
        "d1": 10,
        "d2": 0,
        "d3": 0,
        "d4": 0,
        "d5": 0,
        "scale_bits": struct.unpack("<I", struct.pack("<f", 0.25))[0],
        "zero_point": -5,
        "bytes": 10,
    }
    assert RunnerTensor.from_reply(reply, "output 0") == RunnerTensor(np.dtype(np.int8), (1, 10), 0.25, -5, 10)
    with pytest.raises(LinkError, match="element type 42"):
        RunnerTensor.from_reply({**reply, "dtype": 42}, "output 0")


def test_layer_messages_are_reassembled_across_frames():
    payload = struct.pack("<HHI", 2, 8, 5) + b"abcde"
    frames = [
        Frame(MessageType.RUNNER_LAYER, 9, payload[:6], FLAG_MORE),
        Frame(MessageType.RUNNER_LAYER, 9, payload[6:]),
    ]
    assert _layers(frames) == {8: (2, b"abcde")}
    with pytest.raises(LinkError, match="4 of 5 bytes"):
        _layers([Frame(MessageType.RUNNER_LAYER, 9, payload[:-1])])


def test_per_layer_refuses_an_unpublished_or_short_operator_output():
    from harness.errors import HarnessError
    from harness.firmware_runner import FirmwareSession

    model = load_model(HELLO)
    session = object.__new__(FirmwareSession)
    session.model = model
    published = {
        t: (op.index, bytes(int(np.prod(model.tensors[t].shape)))) for op in model.operators for t in op.outputs
    }
    assert set(session._published_values(published)) == set(published)
    last = model.operators[-1]
    with pytest.raises(HarnessError, match=f"no output for operator {last.index} \\(FULLY_CONNECTED"):
        session._published_values({t: v for t, v in published.items() if t not in last.outputs})
    short = {**published, last.outputs[0]: (last.index, b"")}
    with pytest.raises(HarnessError, match="came as 0 bytes"):
        session._published_values(short)
