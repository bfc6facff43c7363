"""One model on one device next to its tflite-micro reference: what `hil run` and the `run_model`
pytest fixture share.

    with InferenceSession.open("nucleo_f746", "qemu", "kws.tflite") as session:
        result = session.run_seeded(count=20, seed=1)
        assert result.verdict.passed, result.describe()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..boards import load_board
from ..dut import Dut
from ..errors import HarnessError
from ..progress import Progress
from ..reference import Reference
from ..targets.base import FLASH_WITH_FLASHER
from ..targets.registry import capabilities
from .compare import LayerMismatch, Verdict, judge
from .format import ALIGN
from .pack import PackedModel, pack_file
from .runner import DeviceModel, Engine, batch_image, open_with_slot_image, progress_of, write_model_slot


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
        data.update(
            inferences=len(self.instructions),
            timer_kind=self.timer_kind,
            per_inference=int(np.median(self.instructions)) if self.instructions else None,
        )
        return data


T = TypeVar("T")


def run_each(
    board: str,
    emulator: str,
    models: Sequence[str | Path],
    work: Callable[[int, InferenceSession], T],
    timeout: float = 10.0,
    progress: Progress | None = None,
    parallel: int = 2,
) -> dict[int, T]:
    """`work(position, session)` for every model, as open_each groups them, with up to `parallel`
    boots at a time: each QEMU emulates on one host thread, so the boots' emulations overlap (and
    the second boot's build check runs while the first emulates). Returns position -> result.
    Should one boot fail, the others' QEMUs are stopped at once and the failure is raised."""
    plan = _BootPlan(board, emulator, models, timeout, progress)

    def boot(group: list[int]) -> dict[int, T]:
        return {position: work(position, session) for position, session in plan.sessions(group)}

    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(boot, group) for group in plan.groups]
    try:
        results: dict[int, T] = {}
        for future in futures:
            results.update(future.result())
        return results
    except BaseException:
        plan.stop_all()  # the other boots' requests fail at once instead of running to the end
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _BootPlan:
    """Every model packed (all refused before a boot) and grouped into boots that fit the slot."""

    def __init__(
        self, board: str, emulator: str, models: Sequence[str | Path], timeout: float, progress: Progress | None
    ):
        self.board, self.emulator, self.models = load_board(board), emulator, list(models)
        self.timeout, self.progress = timeout, progress
        self.packed = [pack_file(model, self.board, emulator) for model in models]
        slot_size = self.board.variant(emulator).memory.model_slot.size
        self.groups = slot_batches([len(p.image) for p in self.packed], slot_size)
        self._open: list[Dut] = []
        self._stopped = threading.Event()

    def sessions(self, group: list[int]) -> Iterator[tuple[int, InferenceSession]]:
        """One boot with the group's models in the slot; a session per model, in turn."""
        image, offsets = batch_image([self.packed[i].image for i in group])
        references = _start_references([self.models[i] for i in group])
        try:
            with open_with_slot_image(self.board, self.emulator, image, self.timeout, self.progress) as dut:
                self._open.append(dut)
                if self._stopped.is_set():  # stop_all ran while this boot started
                    raise HarnessError("stopped: another boot failed")
                engine = Engine(dut)
                for position, offset, tflm in zip(group, offsets, references):
                    device_model = engine.load_slot(self.packed[position], offset)
                    with InferenceSession(dut, device_model, tflm.result(), owns_dut=False) as session:
                        yield position, session
        finally:  # a session closes its own reference; these are the ones never reached
            for tflm in references:
                if tflm.exception() is None:
                    tflm.result().close()

    def stop_all(self) -> None:
        self._stopped.set()
        for dut in list(self._open):
            dut.close()


def slot_batches(sizes: Sequence[int], slot_size: int) -> list[list[int]]:
    """Model positions grouped so that each group's batch image fits the slot: first fit, largest
    first (fewest boots for the shared models); a model alone too big for the slot is refused by
    the boot itself, with the sizes."""
    groups: list[list[int]] = []
    used: list[int] = []
    for position in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        need = sizes[position] + ALIGN  # with batch_image's padding before the next model
        fits = next((g for g, total in enumerate(used) if total + need <= slot_size), None)
        if fits is None:
            groups.append([position])
            used.append(need)
        else:
            groups[fits].append(position)
            used[fits] += need
    return groups


def _start_references(models: Sequence[str | Path]) -> list[Future[Reference]]:
    """The tflite-micro workers start (about a second each) while QEMU boots."""
    pool = ThreadPoolExecutor(max_workers=len(models) or 1)
    try:
        return [pool.submit(Reference, model) for model in models]
    finally:
        pool.shutdown(wait=False)


class InferenceSession:
    def __init__(self, dut: Dut, device_model: DeviceModel, reference: Reference, owns_dut: bool):
        self.dut, self.device_model, self.reference = dut, device_model, reference
        self.packed: PackedModel = device_model.packed
        self._owns_dut = owns_dut

    @classmethod
    def open(
        cls,
        board: str,
        emulator: str,
        model: str | Path,
        port: str | None = None,
        baud: int | None = None,
        probe: str | None = None,
        timeout: float = 10.0,
        progress: Progress | None = None,
        stream: bool = False,
    ) -> InferenceSession:
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
        (starting,) = _start_references([model])  # tflite-micro's worker starts while the board boots
        try:
            dut = Dut.open(
                board_spec,
                emulator,
                port=port,
                baud=baud,
                probe_serial=probe,
                timeout=timeout,
                progress=progress,
                slot_image=packed.image if can.preloads_model_slot else None,
            )
            try:
                engine = Engine(dut)
                device_model = engine.load_slot(packed) if in_slot else engine.load_ram(packed)
                reference = starting.result()
            except BaseException:
                dut.close()
                raise
        except BaseException:
            if starting.exception() is None:
                starting.result().close()
            raise
        return cls(dut, device_model, reference, owns_dut=True)

    @classmethod
    def open_each(
        cls,
        board: str,
        emulator: str,
        models: Sequence[str | Path],
        timeout: float = 10.0,
        progress: Progress | None = None,
    ) -> Iterator[tuple[int, InferenceSession]]:
        """A session per model in QEMU, models that fit the flash model slot together sharing one
        boot: each MODEL_LOAD selects the next model in the slot, no reboot. Yields (position in
        `models`, session) boot by boot; each session is closed when the next is asked for."""
        plan = _BootPlan(board, emulator, models, timeout, progress)
        for group in plan.groups:
            yield from plan.sessions(group)

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
        return self.device_model.put_seeded_inputs(seed, case)

    def run(
        self,
        inputs: Sequence[Sequence[np.ndarray]] | None = None,
        count: int = 1,
        seed: int = 0,
        per_layer: bool = False,
    ) -> InferenceResult:
        """Runs given input sets, or `count` seeded random ones, on device and reference; with
        `per_layer`, the first input set is also run operator by operator and every operator's
        output is compared (docs/verdicts.md)."""
        cases = list(inputs) if inputs is not None else [None] * count
        device, pending, instructions, used = [], [], [], []
        layers: tuple[dict[int, np.ndarray] | None, dict[int, np.ndarray] | None] = (None, None)
        # tflite-micro runs in its worker process while the device computes the same input set
        with (
            ThreadPoolExecutor(max_workers=1) as host,
            progress_of(self.dut).bar(len(cases), "inferences", "inference") as bar,
        ):
            for case, given in enumerate(cases):
                values = self._put_inputs(case, seed, given)
                pending.append(host.submit(self.reference.run, values))
                outputs, counted = self.device_model.run(None)
                if per_layer and case == 0:
                    self._put_inputs(case, seed, given)  # the full run reused the inputs' memory
                    layers = self._per_layer(values)
                device.append(outputs)
                instructions.append(counted)
                used.append(values)
                bar.update()
            expected = [future.result() for future in pending]  # tflite-micro's outputs
        verdict = judge(
            self.packed.outputs,
            self.packed.ops,
            self._names(),
            [dict(zip(self.packed.outputs, d, strict=True)) for d in device],
            [dict(zip(self.packed.outputs, r, strict=True)) for r in expected],
            *layers,
        )
        timer_kind = self.dut.info.timer_kind if self.dut.info else "instructions"
        return InferenceResult(device, expected, verdict, instructions, timer_kind, used)

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
