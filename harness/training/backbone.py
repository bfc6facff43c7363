"""The frozen VWW backbone on the device: the inference engine (firmware/src/engine, another
service of the same firmware) runs the packed model up to the last depthwise layer, and its int8
output is read back and handed to the training service as the sample.

The features travel device -> host -> device (the two services share no memory), and each image
costs ~1-2 s of emulated UART upload, so this path is for benchmarks, not unit tests. Every device
feature map is compared with the host's TFLM reference; a difference is CheckFailed.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..dut import Dut
from ..engine.compare import judge
from ..engine.pack import PackedModel, pack_model
from ..engine.runner import Engine
from ..errors import CheckFailed, HarnessError
from ..model.tflite import Model
from .vww import backbone_features, feature_tensor


def pack_backbone(model: Model) -> PackedModel:
    return pack_model(model)


def slot_loader_args(board: str, emulator: str, packed: PackedModel) -> list[str]:
    """QEMU arguments that put the packed backbone into the flash model slot at boot."""
    if emulator != "qemu":
        raise HarnessError("the on-device backbone needs --emulator qemu (the model slot is filled "
                           "by QEMU's loader)")
    slot = load_board(board).variant(emulator).memory.model_slot
    path = Path(tempfile.mkdtemp(prefix="hil-train-")) / "model_slot.bin"
    path.write_bytes(packed.image)
    return ["-device", f"loader,file={path},addr=0x{slot.origin:x},force-raw=on"]


def _end_op(packed: PackedModel, tensor: int) -> int:
    for index, op in enumerate(packed.ops):
        if tensor in op.outputs:
            return index + 1
    raise HarnessError(f"no packed operator produces tensor {tensor}")


def device_features(dut: Dut, packed: PackedModel, images_q: np.ndarray,
                    say: Callable[[str], None] = lambda text: None) -> np.ndarray:
    """Runs the backbone on the device for every image; checks each feature map against the
    host's TFLM reference bit for bit."""
    index = feature_tensor(packed.model)
    end = _end_op(packed, index)
    device_model = Engine(dut).load_slot(packed)
    expected = backbone_features(packed.model, images_q)
    names = {t.index: t.name for t in packed.tensors}
    features = []
    for n, image in enumerate(images_q):
        device_model.set_inputs([image[None]])
        device_model.invoke(0, end)  # the time limit of the whole model (runner.invoke_timeout)
        value = device_model.read_tensor(index).reshape(-1)
        verdict = judge([index], packed.ops, names, [{index: value}], [{index: expected[n]}])
        if not verdict.passed:
            raise CheckFailed(f"image {n}: the device backbone's features differ from the TFLM "
                              f"reference: {verdict.outputs[0].describe()}")
        features.append(value)
        if (n + 1) % 20 == 0:
            say(f"backbone on the device: {n + 1}/{len(images_q)} images")
    return np.stack(features).astype(np.int8)
