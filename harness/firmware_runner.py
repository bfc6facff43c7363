"""A firmware of the user's own with its model compiled in, next to its tflite-micro reference.

The firmware links the device SDK (firmware/sdk) and registers a model runner (hil_runner.h):
it reports the SHA-256 of the .tflite it was built from and its input and output tensors; the
host writes inputs, invokes and reads outputs over the RUNNER_* requests
(harness/link/messages/runner.yaml). A publishing invoke streams each operator's output
(RUNNER_LAYER frames before the reply) for the per-layer comparison. The verdict is the one
`hil run` gives the harness's own engine (harness.engine.compare.judge).

    with FirmwareSession.open("nucleo_f746", "qemu", "kws.tflite", firmware="app.elf") as session:
        result = session.run(count=5, per_layer=True)
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import build as firmware_build
from .boards import Board, load_board
from .dut import Dut
from .engine.accuracy import ModelView
from .engine.compare import judge
from .engine.pack import load_comparable
from .engine.runner import INVOKE_FLOOR_S, SECONDS_PER_MAC, estimated_macs, progress_of
from .engine.seeded_inputs import case_seed, seeded_value
from .engine.session import InferenceResult
from .errors import DeviceError, HarnessError, LinkError
from .link import protocol
from .link.protocol import FLAG_MORE, MessageType
from .model.tflite import Model
from .progress import Progress
from .reference import Reference

# TfLiteType codes (hil_runner.h HIL_DTYPE_*) and numpy's types.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype(np.float32),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
}
READ_CHUNK = 4096
WRITE_OVERHEAD = 8  # RUNNER_WRITE's fixed fields
LAYER_HEAD = struct.Struct("<HHI")  # RUNNER_LAYER: op_index, tensor, bytes


class ModelMismatch(HarnessError):
    """The firmware was built from another model, or describes its tensors otherwise."""


@dataclass(frozen=True)
class RunnerTensor:
    dtype: np.dtype
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    nbytes: int

    @classmethod
    def from_reply(cls, reply: dict, what: str) -> RunnerTensor:
        if reply["dtype"] not in DTYPES:
            raise LinkError(
                f"{what}: the firmware reports element type {reply['dtype']}, which the "
                f"harness does not know (TfLiteType codes {sorted(DTYPES)})"
            )
        dims = tuple(reply[f"d{i}"] for i in range(reply["rank"]))
        scale = struct.unpack("<f", struct.pack("<I", reply["scale_bits"]))[0]
        return cls(DTYPES[int(reply["dtype"])], dims, scale, reply["zero_point"], reply["bytes"])


def _differences(tensor, got: RunnerTensor) -> list[str]:
    """What the firmware's description of a tensor gets wrong about the .tflite's."""
    problems = []
    if got.dtype != tensor.dtype:
        problems.append(f"type {got.dtype} (model: {tensor.dtype})")
    if tuple(got.shape) != tuple(tensor.shape):
        problems.append(f"shape {list(got.shape)} (model: {list(tensor.shape)})")
    if got.nbytes != int(np.prod(tensor.shape)) * tensor.dtype.itemsize:
        problems.append(f"{got.nbytes} bytes (model: {int(np.prod(tensor.shape)) * tensor.dtype.itemsize})")
    if tensor.quant is not None and tensor.quant.scale.size == 1:
        if not np.isclose(got.scale, float(tensor.quant.scale[0]), rtol=1e-6, atol=0):
            problems.append(f"scale {got.scale:g} (model: {float(tensor.quant.scale[0]):g})")
        if got.zero_point != int(tensor.quant.zero_point[0]):
            problems.append(f"zero point {got.zero_point} (model: {int(tensor.quant.zero_point[0])})")
    return problems


class FirmwareModel:
    """The compiled-in model of a firmware, through its model-runner service."""

    def __init__(self, dut: Dut):
        self.dut, self.link = dut, dut.link
        try:
            info = self.link.call("RUNNER_INFO")
        except DeviceError as exc:
            if exc.code_name != "UNKNOWN_TYPE":
                raise
            raise HarnessError(
                f"the firmware on {dut.board.name} has no model runner (RUNNER_INFO "
                f"unknown): register one with hil_runner_register() "
                f"(docs/byo_firmware.md)"
            ) from None
        self.sha256: str = info["sha256"]
        self.inputs = [
            self._describe(protocol.CONSTANTS["RUNNER_INPUT"], i, "input") for i in range(info["num_inputs"])
        ]
        self.outputs = [
            self._describe(protocol.CONSTANTS["RUNNER_OUTPUT"], i, "output") for i in range(info["num_outputs"])
        ]
        self.invoke_timeout = INVOKE_FLOOR_S
        self.last_ticks: int | None = None  # of the last invoke, in timer ticks: the bench's timer

    def _describe(self, kind: int, index: int, what: str) -> RunnerTensor:
        reply = self.link.call("RUNNER_TENSOR", kind=kind, reserved=0, index=index)
        return RunnerTensor.from_reply(reply, f"{what} {index}")

    def check_model(self, model: Model, path: str | Path) -> None:
        """The firmware must have been built from `model` (same SHA-256) and describe its inputs
        and outputs as the .tflite does; else one line naming the difference."""
        if self.sha256 != model.sha256:
            raise ModelMismatch(
                f"{path}: the firmware was built from another model (its SHA-256 "
                f"{self.sha256[:16]}..., this file's {model.sha256[:16]}...)"
            )
        for what, indices, got in (("input", model.inputs, self.inputs), ("output", model.outputs, self.outputs)):
            if len(indices) != len(got):
                raise ModelMismatch(f"{path}: the firmware reports {len(got)} {what}(s), the model has {len(indices)}")
            for position, (index, described) in enumerate(zip(indices, got)):
                problems = _differences(model.tensors[index], described)
                if problems:
                    raise ModelMismatch(
                        f"{path}: the firmware's {what} {position} "
                        f"({model.tensors[index].name}) has {', '.join(problems)}"
                    )
        self.invoke_timeout = max(INVOKE_FLOOR_S, estimated_macs(model) * SECONDS_PER_MAC, self.link.timeout)

    def write_input(self, position: int, value: np.ndarray) -> None:
        tensor = self.inputs[position]
        data = np.ascontiguousarray(value, tensor.dtype.newbyteorder("<")).tobytes()
        if len(data) != tensor.nbytes:
            raise HarnessError(f"input {position} holds {tensor.nbytes} bytes, got {len(data)}")
        chunk = self.link.max_message - WRITE_OVERHEAD
        for start in range(0, len(data), chunk):
            self.link.call("RUNNER_WRITE", index=position, reserved=0, offset=start, data=data[start : start + chunk])

    def read_output(self, position: int) -> np.ndarray:
        tensor = self.outputs[position]
        data = bytearray()
        for start in range(0, tensor.nbytes, READ_CHUNK):
            length = min(READ_CHUNK, tensor.nbytes - start)
            piece = self.link.call(
                "RUNNER_READ",
                kind=protocol.CONSTANTS["RUNNER_OUTPUT"],
                reserved=0,
                index=position,
                offset=start,
                length=length,
            )["data"]
            if len(piece) != length:
                raise LinkError(f"RUNNER_READ of output {position}: {len(piece)} of {length} bytes")
            data += piece
        return np.frombuffer(bytes(data), tensor.dtype.newbyteorder("<")).astype(tensor.dtype).reshape(tensor.shape)

    def invoke(self, publish: bool = False) -> tuple[int, dict[int, tuple[int, bytes]]]:
        """Runs the model once; returns its ticks (in the board's timer units) and, when
        publishing, every published operator output: tensor -> (operator index, bytes)."""
        self.link.events[:] = [f for f in self.link.events if f.type != MessageType["RUNNER_LAYER"]]
        reply = self.link.call(
            "RUNNER_INVOKE", publish=int(publish), reserved=0, reserved2=0, timeout=self.invoke_timeout
        )
        layers = _layers([f for f in self.link.events if f.type == MessageType["RUNNER_LAYER"]])
        self.link.events[:] = [f for f in self.link.events if f.type != MessageType["RUNNER_LAYER"]]
        if publish and len(layers) != reply["layers"]:
            raise LinkError(f"the firmware published {reply['layers']} operator outputs, {len(layers)} arrived whole")
        units = self.dut.info.timer_units_per_tick if self.dut.info else 1
        self.last_ticks = reply["ticks"]
        return reply["ticks"] * units, layers

    def regions(self) -> dict[int, tuple[int, int]]:
        """The timing regions of the last invoke: id -> (calls, ticks)."""
        reply = self.link.call("RUNNER_REGIONS")
        entry = struct.Struct("<B3xIQ")
        return {
            entry.unpack_from(reply["entries"], i * entry.size)[0]: entry.unpack_from(reply["entries"], i * entry.size)[
                1:
            ]
            for i in range(reply["regions"])
        }


def _layers(frames: list) -> dict[int, tuple[int, bytes]]:
    """RUNNER_LAYER messages (each possibly several frames flagged MORE): tensor -> (op, bytes)."""
    layers: dict[int, tuple[int, bytes]] = {}
    payload = bytearray()
    for frame in frames:
        payload += frame.payload
        if frame.flags & FLAG_MORE:
            continue
        if len(payload) < LAYER_HEAD.size:
            raise LinkError(f"a RUNNER_LAYER message of {len(payload)} bytes is shorter than its header")
        op_index, tensor, size = LAYER_HEAD.unpack_from(payload)
        data = bytes(payload[LAYER_HEAD.size :])
        if len(data) != size:
            raise LinkError(f"RUNNER_LAYER of operator {op_index}: {len(data)} of {size} bytes arrived")
        layers[tensor] = (op_index, data)
        payload = bytearray()
    return layers


def firmware_for(
    board: Board,
    emulator: str,
    firmware: str | Path | None,
    project: str | Path | None,
    model: str | Path,
    progress: Progress | None = None,
    extra_flags: list[str] | None = None,
) -> firmware_build.Firmware:
    """`--firmware ELF` as it is, or `--firmware-project DIR` built for the board with `model`."""
    if (firmware is None) == (project is None):
        raise HarnessError("give either a firmware ELF or a firmware project")
    if firmware is not None:
        return firmware_build.prebuilt(firmware, board, emulator)
    assert project is not None  # exactly one of the two, checked above
    return firmware_build.build_project(project, board, emulator, model, progress, extra_flags)


class FirmwareSession:
    """One user firmware with its compiled-in model, next to the model's tflite-micro reference."""

    def __init__(self, dut: Dut, device_model: FirmwareModel, model: Model, reference: Reference):
        self.dut, self.device_model, self.model, self.reference = dut, device_model, model, reference
        self.packed = ModelView(model)  # what run_dataset reads (engine/accuracy.DatasetSession)
        self.elf: Path | None = None  # the firmware's ELF, when this session booted it (open)

    @classmethod
    def open(
        cls,
        board: str,
        emulator: str,
        model: str | Path,
        firmware: str | Path | None = None,
        project: str | Path | None = None,
        port: str | None = None,
        baud: int | None = None,
        probe: str | None = None,
        timeout: float = 10.0,
        progress: Progress | None = None,
        extra_flags: list[str] | None = None,
    ) -> FirmwareSession:
        """Checks the model, builds `project` (or takes the `firmware` ELF), boots it (QEMU) or
        reaches the real board already flashed with it, and checks that it runs `model`."""
        board_spec = load_board(board)
        tflite = load_comparable(model)
        image = firmware_for(board_spec, emulator, firmware, project, model, progress, extra_flags)
        dut = Dut.open(
            board_spec,
            emulator,
            port=port,
            baud=baud,
            probe_serial=probe,
            timeout=timeout,
            progress=progress,
            firmware=image,
        )
        try:
            session = cls.on(dut, model, tflite)
        except BaseException:
            dut.close()
            raise
        session.elf = image.elf
        return session

    @classmethod
    def on(cls, dut: Dut, model: str | Path, tflite: Model | None = None) -> FirmwareSession:
        """A session on a booted `dut` that runs the user's firmware; checks that it runs `model`."""
        tflite = tflite or load_comparable(model)
        device_model = FirmwareModel(dut)
        device_model.check_model(tflite, model)
        return cls(dut, device_model, tflite, Reference(tflite, name=str(model)))

    def put_seeded_inputs(self, seed: int, case: int = 0) -> list[np.ndarray]:
        """Input set `case` of `seed` (as `hil run --seed` makes it) onto the device; returns it."""
        values = self._inputs(case, seed)
        self._write_inputs(values)
        return values

    def _inputs(self, case: int, seed: int) -> list[np.ndarray]:
        return [
            seeded_value(
                self.model.tensors[index].dtype, tuple(self.model.tensors[index].shape), case_seed(seed, case, position)
            )
            for position, index in enumerate(self.model.inputs)
        ]

    def _checked(self, given: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(given) != len(self.model.inputs):
            raise HarnessError(f"the model takes {len(self.model.inputs)} input(s), got {len(given)}")
        values = []
        for position, (index, value) in enumerate(zip(self.model.inputs, given)):
            tensor, value = self.model.tensors[index], np.asarray(given[position])
            if value.dtype != tensor.dtype or value.size != int(np.prod(tensor.shape)):
                raise HarnessError(
                    f"input {position} ({tensor.name}) must be {tensor.dtype} of shape "
                    f"{list(tensor.shape)}, got {value.dtype} of shape {list(value.shape)}"
                )
            values.append(value.reshape(tensor.shape))
        return values

    def run(
        self,
        inputs: Sequence[Sequence[np.ndarray]] | None = None,
        count: int = 1,
        seed: int = 0,
        per_layer: bool = False,
        layers_required: bool = True,
    ) -> InferenceResult:
        """As InferenceSession.run: given input sets or `count` seeded ones; with `per_layer`, the
        first set is invoked once more, publishing every operator's output, which is compared
        with tflite-micro's (that invoke is not timed: publishing takes the UART's time). A
        firmware that publishes nothing is refused, unless not `layers_required` (the bench
        compares the layers of a firmware that has the hook, the outputs of every one)."""
        cases = list(inputs) if inputs is not None else [None] * count
        device, reference, ticks, used = [], [], [], []
        layers: tuple[dict | None, dict | None] = (None, None)
        with progress_of(self.dut).bar(len(cases), "inferences", "inference") as bar:
            for case, given in enumerate(cases):
                values = self._checked(given) if given is not None else self._inputs(case, seed)
                self._write_inputs(values)
                counted, _ = self.device_model.invoke()
                device.append([self.device_model.read_output(p) for p in range(len(self.model.outputs))])
                if per_layer and case == 0:  # a second invoke: publishing is not timed
                    self._write_inputs(values)  # the interpreter may have reused their memory
                    _, published = self.device_model.invoke(publish=True)
                    if published or layers_required:
                        layers = (self._published_values(published), self._reference_layers(values))
                reference.append(self.reference.run(values))
                ticks.append(counted)
                used.append(values)
                bar.update()
        names = {t.index: t.name for t in self.model.tensors}
        verdict = judge(
            self.model.outputs,
            self.model.operators,
            names,
            [dict(zip(self.model.outputs, d, strict=True)) for d in device],
            [dict(zip(self.model.outputs, r, strict=True)) for r in reference],
            *layers,
        )
        timer_kind = self.dut.info.timer_kind if self.dut.info else "cycles"
        return InferenceResult(device, reference, verdict, ticks, timer_kind, used)

    def _write_inputs(self, values: list[np.ndarray]) -> None:
        for position, value in enumerate(values):
            self.device_model.write_input(position, value)

    def _published_values(self, published: dict[int, tuple[int, bytes]]) -> dict[int, np.ndarray]:
        """The published operator outputs as arrays; every operator's output must be there."""
        values = {}
        for op in self.model.operators:
            for tensor_index in op.outputs:
                if tensor_index not in published:
                    raise HarnessError(
                        f"per-layer: the firmware published no output for operator {op.index} "
                        f"({op.opcode}, tensor {tensor_index}); its interpreter must call "
                        f"hil_runner_publish_op() after every operator (docs/byo_firmware.md)"
                    )
                tensor = self.model.tensors[tensor_index]
                data = published[tensor_index][1]
                expected = int(np.prod(tensor.shape)) * tensor.dtype.itemsize
                if len(data) != expected:
                    raise HarnessError(
                        f"per-layer: operator {op.index}'s output {tensor.name} came as "
                        f"{len(data)} bytes, the model's tensor has {expected}"
                    )
                values[tensor_index] = (
                    np.frombuffer(data, tensor.dtype.newbyteorder("<")).astype(tensor.dtype).reshape(tensor.shape)
                )
        return values

    def _reference_layers(self, values: list[np.ndarray]) -> dict[int, np.ndarray]:
        with Reference(self.model, preserve_all=True, name=self.reference.name) as full:
            return full.run_all(values)

    def close(self) -> None:
        self.reference.close()
        self.dut.close()

    def __enter__(self) -> FirmwareSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
