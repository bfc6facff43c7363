"""The host side of the firmware's training service (harness/link/messages/training.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..link.client import Link
from .setup import PARAMETRIC, TrainingSetupError, TrainSetup, pack

# Firmware for training runs: the engine's static pool shrinks to 64 KB (enough for the VWW
# backbone's arena, the model itself stays in the flash slot) so the training arena can hold a
# setup image with a frozen 256x256 pointwise layer (the default build keeps 16 KB for training).
TRAINING_ARENA_BYTES = 128 * 1024
ENGINE_POOL_BYTES = 64 * 1024
# It is linked to a 256 KB SRAM region (the paper's claim), whatever the board has: static data,
# the arena and a 16 KB stack reserve (ld/cortexm.ld's MIN_STACK_SIZE) that do not fit fail to link.
TRAINING_SRAM_REGION_BYTES = 256 * 1024
TRAINING_FIRMWARE_FLAGS = [
    f"-DENGINE_POOL_SIZE={ENGINE_POOL_BYTES}",
    f"-DHIL_TRAINING_ARENA_BYTES={TRAINING_ARENA_BYTES}",
    f"-Wl,--defsym=HIL_SRAM_BUDGET={TRAINING_SRAM_REGION_BYTES}",
]
PERTURBED_FIRMWARE_FLAGS = [*TRAINING_FIRMWARE_FLAGS, "-DHIL_TRAINING_SELFTEST_PERTURB=1"]
LOAD_CHUNK = 4096  # bytes of setup image per TRAIN_LOAD (the device accepts 8 KiB requests)


@dataclass
class DeviceStep:
    loss: np.float32
    predicted: int
    steps: int
    backbone_steps: int = 0  # of `steps`, those whose input the device's inference engine made


class DeviceTraining:
    """Loads a setup onto the device, runs steps, reads the trained parameters back."""

    def __init__(self, link: Link, timeout: float = 30.0):
        self.link = link
        self.timeout = timeout
        self.setup: TrainSetup | None = None
        self.plan: dict[str, int] = {}
        self.image_size = 0  # bytes of the setup image the device holds

    def load(self, setup: TrainSetup) -> dict[str, int]:
        """Uploads and begins `setup` (its parameters as they are now); returns the device's plan.
        A plan over budget raises DeviceError TRAIN_OVER_BUDGET before anything trains."""
        image = pack(setup)
        self.load_image(image)
        self.setup = setup.copy()
        return self.plan

    def load_image(self, image: bytes) -> dict[str, int]:
        """Uploads a setup image as it is (tests send malformed ones) and begins it. Whatever was
        loaded before is forgotten first, so a refusal leaves no setup to read back."""
        self.setup, self.plan, self.image_size = None, {}, 0
        for offset in range(0, max(len(image), 1), LOAD_CHUNK):
            self.link.call(
                "TRAIN_LOAD",
                offset=offset,
                total=len(image),
                data=image[offset : offset + LOAD_CHUNK],
                timeout=self.timeout,
            )
        self.image_size = len(image)
        self.plan = self.link.call("TRAIN_BEGIN", timeout=self.timeout)
        return self.plan

    def bind_backbone(self, tensor: int, end_op: int) -> int:
        """Makes the engine's loaded model the input of every step and prediction whose sample is
        None: the device runs operators [0, end_op) and trains on tensor `tensor` where the
        engine wrote it. Returns the input size the device checked."""
        return self.link.call("TRAIN_BACKBONE", tensor=tensor, end_op=end_op, timeout=self.timeout)["input_bytes"]

    def step(self, sample: np.ndarray | None, label: int) -> DeviceStep:
        """One step on `sample`, or (None, after bind_backbone) on the engine's output."""
        reply = self.link.call("TRAIN_STEP", label=int(label), sample=_bytes(sample), timeout=self.timeout)
        loss = np.array([reply["loss_bits"]], np.uint32).view(np.float32)[0]
        return DeviceStep(loss, reply["predicted"], reply["steps"], reply["backbone_steps"])

    def predict(self, sample: np.ndarray | None) -> tuple[int, np.ndarray]:
        reply = self.link.call("TRAIN_PREDICT", sample=_bytes(sample), timeout=self.timeout)
        return reply["predicted"], np.frombuffer(reply["logits"], np.int8)

    def accuracy(self, samples: np.ndarray, labels: np.ndarray) -> float:
        hits = sum(self.predict(x)[0] == int(y) for x, y in zip(samples, labels))
        return hits / max(len(labels), 1)

    def memory(self) -> dict[str, int]:
        return self.link.call("TRAIN_MEMORY", reserved=0, timeout=self.timeout)

    def read_parameters(self) -> TrainSetup:
        """A copy of the loaded setup with the device's current weights and biases."""
        assert self.setup is not None, "load() first"
        result = self.setup.copy()
        for (index, name), offset in self.setup.offsets.items():
            if name not in ("weights", "bias"):
                continue
            layer = result.layers[index]
            if name == "weights" and layer.weights_split:  # the trained columns; the rest is in flash
                assert layer.weights is not None  # weights_split: a layer with weights
                columns = layer.weights[..., : layer.train_channels]  # dense [Cout][R], conv [Cout][KH][KW][R]
                data = self._read(offset, columns.size)
                columns[...] = np.frombuffer(data, np.int8).reshape(columns.shape)
                continue
            array = getattr(layer, name)
            data = self._read(offset, array.nbytes)
            setattr(
                layer,
                name,
                np.frombuffer(data, array.dtype.newbyteorder("<")).astype(array.dtype).reshape(array.shape).copy(),
            )
        return result

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.image_size:
            raise TrainingSetupError(
                f"TRAIN_READ of {length} B at offset {offset} lies outside the {self.image_size} B setup image loaded"
            )
        data = b""
        while len(data) < length:
            size = min(LOAD_CHUNK * 4, length - len(data))
            data += self.link.call("TRAIN_READ", offset=offset + len(data), length=size, timeout=self.timeout)["data"]
        return data


def _bytes(sample: np.ndarray | None) -> bytes:
    """The raw bytes as given (the device itself refuses a sample of the wrong size); None is the
    empty sample that takes the input from the bound backbone."""
    return b"" if sample is None else np.asarray(sample).tobytes()


def parameter_mismatches(device: TrainSetup, host: TrainSetup) -> list[str]:
    """Names every dense layer's weights/bias that differ, with the count of differing elements."""
    problems = []
    for i, (d, h) in enumerate(zip(device.layers, host.layers)):
        if d.kind not in PARAMETRIC:
            continue
        for name in ("weights", "bias"):
            diff = int(np.count_nonzero(getattr(d, name) != getattr(h, name)))
            if diff:
                problems.append(f"layer {i} ({d.name or d.kind}) {name}: {diff} elements differ")
    return problems
