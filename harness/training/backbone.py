"""A frozen backbone on the device: the inference engine (firmware/src/engine, another
service of the same firmware) runs the packed model, from the flash model slot, up to the trained
tail, and the training service takes the engine's output tensor where the engine wrote it
(TRAIN_BACKBONE): a step's only upload is the raw image, no feature crosses the link.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dut import Dut
from ..engine.pack import PackedModel, pack_model
from ..engine.runner import Engine
from ..errors import HarnessError
from ..model.tflite import Model
from .device import DeviceTraining
from .vww import feature_tensor


def pack_backbone(model: Model) -> PackedModel:
    return pack_model(model)


def _end_op(packed: PackedModel, tensor: int) -> int:
    for index, op in enumerate(packed.ops):
        if tensor in op.outputs:
            return index + 1
    raise HarnessError(f"no packed operator produces tensor {tensor}")


class DeviceBackbone:
    """The backbone loaded in the device's engine and bound as the training input: `feed(image)`
    writes one raw int8 image into the engine's input tensor; the next TRAIN_STEP/TRAIN_PREDICT
    with an empty sample runs the backbone on it."""

    def __init__(self, dut: Dut, packed: PackedModel, device: DeviceTraining, depth_blocks: int):
        self.packed = packed
        self.tensor = feature_tensor(packed.model, blocks=depth_blocks)
        self.end_op = _end_op(packed, self.tensor)
        self.model = Engine(dut).load_slot(packed)
        device.bind_backbone(self.tensor, self.end_op)

    def feed(self, image: np.ndarray) -> None:
        self.model.set_inputs([np.asarray(image)[None]])

    def feeder(self, images: np.ndarray) -> Callable[[int], None]:
        """For lockstep and the accuracy checkpoints: writes image n into the engine, the step takes None."""

        def feed(n: int) -> None:
            self.feed(images[n])

        return feed
