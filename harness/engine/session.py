"""One model on one device next to its tflite-micro reference: what `hil run` and the `run_model`
pytest fixture share.

    with InferenceSession.open("nucleo_f746", "qemu", "kws.tflite") as session:
        result = session.run_seeded(count=20, seed=1)
        assert result.verdict.passed, result.describe()
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..boards import load_board
from ..dut import Dut
from ..errors import HarnessError
from ..progress import Progress
from ..reference import Reference
from ..targets.base import FLASH_WITH_FLASHER
from ..targets.registry import capabilities
from .compare import LayerMismatch, Verdict, judge
from .pack import PackedModel, pack_file
from .runner import DeviceModel, Engine, progress_of, write_model_slot

FILL_ON_DEVICE_BYTES = 4096  # int8 inputs larger than this are generated on the device (TENSOR_FILL)


def case_seed(seed: int, case: int, position: int) -> int:
    """The seed of input `position` of case `case` (never 0: xorshift's fixed point)."""
    return ((seed * 1_000_003 + case * 7_919 + position * 104_729) & 0xFFFFFFFF) or 1


@dataclass
class InferenceResult:
    device_outputs: list[list[np.ndarray]]
    reference_outputs: list[list[np.ndarray]]
    verdict: Verdict
    instructions: list[int]  # per inference, in the board's timer units (see timer_kind)
    timer_kind: str = "instructions"
    inputs: list[list[np.ndarray]] = field(default_factory=list)

    @property
    def layer_mismatch(self) -> LayerMismatch | None:
        return self.verdict.layer_mismatch

    def describe(self) -> str:
        lines = []
        if self.instructions:
            lines.append(f"{self.timer_kind} per inference: {int(np.median(self.instructions))}")
        return "\n".join([*lines, self.verdict.describe()])

    def as_dict(self) -> dict[str, Any]:
        data = self.verdict.as_dict()
        data.update(inferences=len(self.instructions), timer_kind=self.timer_kind,
                    per_inference=int(np.median(self.instructions)) if self.instructions else None)
        return data


class InferenceSession:
    def __init__(self, dut: Dut, device_model: DeviceModel, reference: Reference, owns_dut: bool):
        self.dut, self.device_model, self.reference = dut, device_model, reference
        self.packed: PackedModel = device_model.packed
        self._owns_dut = owns_dut

    @classmethod
    def open(cls, board: str, emulator: str, model: str | Path, port: str | None = None,
             baud: int | None = None, probe: str | None = None, timeout: float = 10.0,
             progress: Progress | None = None, stream: bool = False) -> InferenceSession:
        """Packs `model` (checking it fits), then boots QEMU with it in the flash model slot, or
        writes it into a real board's slot with the board's flasher (`upload.model_command`);
        with stream=True, or on a board without one, streams it into the board's RAM."""
        board_spec = load_board(board)
        packed = pack_file(model, board_spec, emulator)
        can = capabilities(board_spec, emulator)
        flashes_slot = can.flash == FLASH_WITH_FLASHER and not stream and board_spec.upload_model_command is not None
        in_slot = can.preloads_model_slot or flashes_slot
        if flashes_slot:
            write_model_slot(board_spec, packed.image, probe, port, progress)
        reference = Reference(model)
        try:
            dut = Dut.open(board_spec, emulator, port=port, baud=baud, probe_serial=probe, timeout=timeout,
                           progress=progress, slot_image=packed.image if can.preloads_model_slot else None)
            try:
                engine = Engine(dut)
                device_model = engine.load_slot(packed) if in_slot else engine.load_ram(packed)
            except BaseException:
                dut.close()
                raise
        except BaseException:
            reference.close()
            raise
        return cls(dut, device_model, reference, owns_dut=True)

    @classmethod
    def on_dut(cls, dut: Dut, model: str | Path) -> InferenceSession:
        """A session on an open Dut: the model is streamed into the device's RAM pool."""
        packed = pack_file(model, dut.board, dut.variant.emulator)
        device_model = Engine(dut).load_ram(packed)
        return cls(dut, device_model, Reference(model), owns_dut=False)

    # -- running ------------------------------------------------------------------------------

    def _put_inputs(self, case: int, seed: int, given: Sequence[np.ndarray] | None) -> list[np.ndarray]:
        if given is not None:
            self.device_model.set_inputs(given)
            return [np.asarray(x) for x in given]
        values = []
        for position, index in enumerate(self.packed.inputs):
            tensor = self.packed.tensors[index]
            case_rng_seed = case_seed(seed, case, position)
            if tensor.dtype == np.int8 and tensor.nbytes > FILL_ON_DEVICE_BYTES:
                value = self.device_model.fill_tensor(index, case_rng_seed)
                if not np.array_equal(self.device_model.read_tensor(index), value):
                    raise HarnessError(f"input {tensor.name}: the device's TENSOR_FILL bytes "
                                       f"differ from the host's xorshift32")
            else:
                rng = np.random.default_rng(case_rng_seed)
                value = (rng.integers(-128, 128, tensor.shape).astype(np.int8)
                         if tensor.dtype == np.int8 else
                         rng.standard_normal(tensor.shape).astype(np.float32))
                self.device_model.write_tensor(index, value)
            values.append(value)
        return values

    def run(self, inputs: Sequence[Sequence[np.ndarray]] | None = None, count: int = 1,
            seed: int = 0, per_layer: bool = False) -> InferenceResult:
        """Runs given input sets, or `count` seeded random ones, on device and reference; with
        `per_layer`, the first input set is also run operator by operator and every operator's
        output is compared (docs/verdicts.md)."""
        cases = list(inputs) if inputs is not None else [None] * count
        device, reference, instructions, used = [], [], [], []
        layers: tuple[dict[int, np.ndarray] | None, dict[int, np.ndarray] | None] = (None, None)
        with progress_of(self.dut).bar(len(cases), "inferences", "inference") as bar:
            for case, given in enumerate(cases):
                values = self._put_inputs(case, seed, given)
                outputs, counted = self.device_model.run(None)
                if per_layer and case == 0:
                    self.device_model.set_inputs(values)  # the full run reused the inputs' memory
                    layers = self._per_layer(values)
                device.append(outputs)
                reference.append(self.reference.run(values))
                instructions.append(counted)
                used.append(values)
                bar.update()
        verdict = judge(self.packed.outputs, self.packed.ops, self._names(),
                        [dict(zip(self.packed.outputs, d, strict=True)) for d in device],
                        [dict(zip(self.packed.outputs, r, strict=True)) for r in reference], *layers)
        timer_kind = self.dut.info.timer_kind if self.dut.info else "instructions"
        return InferenceResult(device, reference, verdict, instructions, timer_kind, used)

    def run_seeded(self, count: int = 20, seed: int = 0, per_layer: bool = False) -> InferenceResult:
        return self.run(None, count, seed, per_layer)

    def _names(self) -> dict[int, str]:
        return {t.index: t.name for t in self.packed.tensors}

    def _per_layer(self, values: list[np.ndarray]) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Every operator's output read back from the device, and every tensor of Reference.run_all."""
        device = self.device_model.run_per_layer()
        with Reference(self.packed.model, preserve_all=True, name=self.reference.name) as full:
            return device, full.run_all(values)

    def close(self) -> None:
        self.reference.close()
        if self._owns_dut:
            self.dut.close()

    def __enter__(self) -> InferenceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
