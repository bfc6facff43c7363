"""The device side of inference: load packed models, move tensors, invoke, over a Dut's link.

    with open_with_models(board, "qemu", [packed.image]) as dut:      # model in the flash slot
        engine = Engine(dut)
        device_model = engine.load_slot(packed)
        outputs, instructions = device_model.run([x])

A model reaches the device either in the board's flash `model_slot` (QEMU's generic loader puts
the image there at boot; several packed models can share the slot as a batch) or streamed over
the link into the RAM pool (MODEL_WRITE), which needs no reboot.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..boards import Board
from ..dut import Dut
from ..errors import DeviceTimeout, HarnessError
from ..link import protocol
from ..model.tflite import Model
from ..progress import Progress
from . import format as fmt
from .pack import PackedModel
from .seeded_inputs import case_seed, generated_on_device, host_value

REQUEST_OVERHEAD = 8  # the fixed fields before a MODEL_WRITE / TENSOR_WRITE's data
TO_THE_END = 0xFFFF
READ_CHUNK = 4096  # bytes per TENSOR_READ: a lost reply frame costs one small retry
# INVOKE waits at least this long, and longer for big models: SECONDS_PER_MAC is a rate far
# below any supported board or a loaded machine's QEMU (about 0.5 M multiply-accumulates/s).
INVOKE_FLOOR_S = 60.0
SECONDS_PER_MAC = 2e-6


@dataclass(frozen=True)
class LoadInfo:
    arena_size: int
    arena_capacity: int
    arena_addr: int
    model_size: int
    model_crc: int
    num_tensors: int
    num_ops: int


def batch_image(images: Sequence[bytes]) -> tuple[bytes, list[int]]:
    """Several packed models in one slot image; returns it and each model's offset."""
    blob, offsets = bytearray(), []
    for image in images:
        blob += bytes(-len(blob) % fmt.ALIGN)
        offsets.append(len(blob))
        blob += image
    return bytes(blob), offsets


def open_with_slot_image(
    board: str | Board, emulator: str, image: bytes | None, timeout: float = 10.0, progress: Progress | None = None
) -> Dut:
    """A Dut whose flash model slot holds `image` from boot (QEMU's generic loader).

    A target that does not preload the slot refuses an image: a real board's slot is written by
    its flasher instead (write_model_slot); pass image=None there."""
    return Dut.open(board, emulator, timeout=timeout, progress=progress, slot_image=image)


def progress_of(dut: Dut) -> Progress:
    """The device's progress reporter (quiet for a device made without one)."""
    return getattr(dut, "progress", None) or Progress.quiet()


def write_model_slot(
    board: Board, image: bytes, probe: str | None = None, port: str | None = None, progress: Progress | None = None
) -> None:
    """A real board's flash model slot gets `image` with the board's own flasher (checked to be
    installed first); MODEL_LOAD(source=slot) then reads it as under QEMU."""
    from ..targets.flash import flash_model, require_flasher  # noqa: PLC0415

    require_flasher(board, model=True)
    slot = board.memory.model_slot
    with (progress or Progress.quiet()).step(
        f"writing the model ({len(image)} B) into {board.name}'s flash model slot at 0x{slot.origin:08x}"
    ):
        flash_model(board, image, probe, port)


# Devices whose TENSOR_FILL was checked against the host's generator (once per boot).
_GENERATOR_CHECKED: weakref.WeakSet[Dut] = weakref.WeakSet()


class Engine:
    """The engine service of one device."""

    def __init__(self, dut: Dut):
        self.dut = dut
        self.link = dut.link
        self.pool_size = self.link.call("ENGINE_INFO")["pool_size"]

    def load_slot(self, packed: PackedModel, offset: int = 0) -> DeviceModel:
        """Activates the model at `offset` in the flash slot (it must be `packed`)."""
        info = self._load(protocol.CONSTANTS["MODEL_SOURCE_SLOT"], offset)
        return self._bound(packed, info)

    def load_ram(self, packed: PackedModel) -> DeviceModel:
        """Streams the model into the RAM pool over the link and activates it."""
        image = packed.image
        if len(image) + packed.arena_size > self.pool_size:
            raise HarnessError(
                f"model of {len(image)} bytes plus its arena of "
                f"{packed.arena_size} do not fit the device's RAM pool of "
                f"{self.pool_size} bytes; put it in the flash model slot"
            )
        chunk = self.link.max_message - REQUEST_OVERHEAD
        with progress_of(self.dut).bar(len(image), "model upload", "B") as bar:
            for start in range(0, len(image), chunk):
                self.link.call("MODEL_WRITE", offset=start, data=image[start : start + chunk])
                bar.update(len(image[start : start + chunk]))
        info = self._load(protocol.CONSTANTS["MODEL_SOURCE_RAM"], 0)
        return self._bound(packed, info)

    def _load(self, source: int, offset: int) -> LoadInfo:
        reply = self.link.call("MODEL_LOAD", source=source, reserved=0, reserved2=0, offset=offset)
        return LoadInfo(**{k: reply[k] for k in LoadInfo.__dataclass_fields__})

    def _bound(self, packed: PackedModel, info: LoadInfo) -> DeviceModel:
        if info.model_crc != packed.crc32:
            raise HarnessError(
                f"the device loaded a different model (CRC 0x{info.model_crc:08x}, expected 0x{packed.crc32:08x})"
            )
        return DeviceModel(self, packed, info)


def estimated_macs(model: Model) -> int:
    """Roughly the multiply-accumulates (or element operations) of one inference."""
    tensors = model.tensors
    total = 0
    for op in model.operators:
        outputs = sum(math.prod(tensors[i].shape) for i in op.outputs)
        inputs = sum(math.prod(tensors[i].shape) for i in op.inputs if i >= 0)
        per_output = 1
        weights = tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        if weights is not None and weights.is_constant and len(weights.shape) >= 2 and weights.shape[0]:
            channels = weights.shape[-1] if op.opcode == "DEPTHWISE_CONV_2D" else weights.shape[0]
            per_output = math.prod(weights.shape) // max(channels, 1)
        elif "filter_width" in op.options:
            per_output = int(op.options["filter_width"]) * int(op.options.get("filter_height", 1))
        total += max(outputs * per_output, inputs)
    return total


def invoke_timeout(packed: PackedModel, reply_timeout: float) -> float:
    """How long INVOKE of the whole model may take: scaled with its MACs, at least
    INVOKE_FLOOR_S, and at least the reply timeout the user gave (--timeout, --hil-timeout)."""
    return max(INVOKE_FLOOR_S, estimated_macs(packed.model) * SECONDS_PER_MAC, reply_timeout)


class DeviceModel:
    """The loaded model on the device: write inputs, invoke, read tensors."""

    def __init__(self, engine: Engine, packed: PackedModel, info: LoadInfo):
        self.engine, self.packed, self.info = engine, packed, info
        self.link = engine.link
        self.invoke_timeout = invoke_timeout(packed, self.link.timeout)

    def _arena_tensor(self, index: int):
        tensor = self.packed.tensors[index]
        if tensor.storage != fmt.STORAGE_ARENA:
            raise HarnessError(f"tensor {index} ({tensor.name}) is not in the arena")
        return tensor

    def write_tensor(self, index: int, value: np.ndarray) -> None:
        tensor = self._arena_tensor(index)
        data = np.ascontiguousarray(value, tensor.dtype.newbyteorder("<")).tobytes()
        if len(data) != tensor.nbytes:
            raise HarnessError(f"tensor {index} ({tensor.name}) holds {tensor.nbytes} bytes, got {len(data)}")
        chunk = self.link.max_message - REQUEST_OVERHEAD
        for start in range(0, len(data), chunk):
            self.link.call("TENSOR_WRITE", tensor=index, reserved=0, offset=start, data=data[start : start + chunk])

    def fill_tensor(self, index: int, seed: int) -> np.ndarray:
        """Fills an int8 tensor on the device from `seed`; returns the same values."""
        tensor = self._arena_tensor(index)
        if not generated_on_device(tensor):
            raise HarnessError(f"TENSOR_FILL needs an int8 tensor, {tensor.name} is {tensor.dtype}")
        self.link.call("TENSOR_FILL", tensor=index, reserved=0, seed=seed)
        return host_value(tensor, seed)

    def put_seeded_inputs(self, seed: int, case: int) -> list[np.ndarray]:
        """Input set `case` of `seed` (harness/engine/seeded_inputs.py) onto the device: int8
        inputs generated there, the others written. Returns the values the host computed; the
        first generated input of each boot is read back to check the device's generator."""
        values = []
        for position, index in enumerate(self.packed.inputs):
            tensor, tensor_seed = self.packed.tensors[index], case_seed(seed, case, position)
            if generated_on_device(tensor):
                value = self.fill_tensor(index, tensor_seed)
                self._check_generator_once(index, value)
            else:
                value = host_value(tensor, tensor_seed)
                self.write_tensor(index, value)
            values.append(value)
        return values

    def _check_generator_once(self, index: int, expected: np.ndarray) -> None:
        if self.engine.dut in _GENERATOR_CHECKED:
            return
        if not np.array_equal(self.read_tensor(index), expected):
            raise HarnessError(
                f"input {self.packed.tensors[index].name}: the device's TENSOR_FILL "
                f"bytes differ from the host's xorshift32 (seeded_inputs.py)"
            )
        _GENERATOR_CHECKED.add(self.engine.dut)

    def read_tensor(self, index: int) -> np.ndarray:
        tensor = self._arena_tensor(index)
        data = b"".join(
            self._read_span(index, start, min(READ_CHUNK, tensor.nbytes - start))
            for start in range(0, tensor.nbytes, READ_CHUNK)
        )
        return np.frombuffer(data, tensor.dtype.newbyteorder("<")).astype(tensor.dtype).reshape(tensor.shape)

    def _read_span(self, index: int, offset: int, length: int) -> bytes:
        """A reply that lost a frame arrives short; the link client asks again (idempotent)."""

        def short(reply: dict) -> str | None:
            got = len(reply["data"])
            return f"TENSOR_READ of tensor {index}: {got} of {length} bytes" if got != length else None

        return self.link.call("TENSOR_READ", check=short, tensor=index, reserved=0, offset=offset, length=length)[
            "data"
        ]

    def set_inputs(self, inputs: Sequence[np.ndarray]) -> None:
        if len(inputs) != len(self.packed.inputs):
            raise HarnessError(f"the model takes {len(self.packed.inputs)} input(s), got {len(inputs)}")
        for position, (index, value) in enumerate(zip(self.packed.inputs, inputs)):
            tensor, value = self.packed.tensors[index], np.asarray(value)
            if value.dtype != tensor.dtype or value.size != int(np.prod(tensor.shape)):
                raise HarnessError(
                    f"input {position} ({tensor.name}) must be {tensor.dtype} of "
                    f"shape {list(tensor.shape)}, got {value.dtype} of shape "
                    f"{list(value.shape)}"
                )
            self.write_tensor(index, value)

    def invoke(self, first: int = 0, end: int = TO_THE_END, timeout: float | None = None) -> int:
        """Runs operators [first, end); returns the instructions (or cycles) they took.
        Waits `timeout` seconds, by default self.invoke_timeout (see invoke_timeout)."""
        timeout = self.invoke_timeout if timeout is None else timeout
        try:
            reply = self.link.call("INVOKE", first_op=first, end_op=end, timeout=timeout)
        except DeviceTimeout as exc:
            raise DeviceTimeout(
                f"{exc}: the model ({estimated_macs(self.packed.model):,} MACs) may only be "
                f"slow on this board; give it longer with --timeout SECONDS "
                f"(pytest: --hil-timeout)"
            ) from None
        units = self.engine.dut.info.timer_units_per_tick if self.engine.dut.info else 1
        return reply["ticks"] * units

    def outputs(self) -> list[np.ndarray]:
        return [self.read_tensor(index) for index in self.packed.outputs]

    def run(
        self, inputs: Sequence[np.ndarray] | None = None, timeout: float | None = None
    ) -> tuple[list[np.ndarray], int]:
        """Sets `inputs` (None: already on the device), invokes, returns (outputs, count)."""
        if inputs is not None:
            self.set_inputs(inputs)
        count = self.invoke(timeout=timeout)
        return self.outputs(), count

    def run_per_layer(self) -> dict[int, np.ndarray]:
        """Invokes one operator at a time and reads each output right after its operator (the
        arena reuses memory, so later operators may overwrite it). Returns tensor -> value."""
        values: dict[int, np.ndarray] = {}
        with progress_of(self.engine.dut).bar(len(self.packed.ops), "per-layer reads", "layer") as bar:
            for index, op in enumerate(self.packed.ops):
                self.invoke(index, index + 1)
                for tensor in op.outputs:
                    values[tensor] = self.read_tensor(tensor)
                bar.update()
        return values
