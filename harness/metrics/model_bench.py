"""Benchmarks one model through the inference engine (harness/engine): per-layer timing, memory
and the bit-exactness verdict against the tflite-micro reference.

Per-layer timing comes from the engine's layer regions (metrics_region_begin/end with
METRICS_REGION_LAYER(op) around each operator) when the firmware has them; otherwise each
operator is invoked alone and timed as its own inference (which adds the engine's per-invoke
overhead to every layer, and is labelled "per-op invoke").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ..engine.compare import Verdict, judge
from ..engine.pack import PackedModel
from ..engine.runner import DeviceModel, Engine
from ..reference import Reference
from .measured_dut import MeasuredDut
from .timing import REGION_FIRST_LAYER, REGION_INFERENCE, RegionTiming


@dataclass
class ModelOutcome:
    verdict: Verdict
    layer_names: list[str] = field(default_factory=list)

    @property
    def bit_exact(self) -> bool:
        return self.verdict.passed

    @property
    def mismatch(self) -> dict[str, Any] | None:
        """Where the device first differs: the first diverging layer, else the first graph output."""
        layer = self.verdict.layer_mismatch
        if layer:
            return {"layer": layer.op_index, "layer_name": layer.opcode, "detail": layer.describe()}
        output = next((c for c in self.verdict.outputs if not c.passed), None)
        return {"output": output.name, "detail": output.describe()} if output else None


def _inputs(device_model: DeviceModel, seed: int) -> list[np.ndarray]:
    """The bench's input: input set 0 of `seed`, as `hil run --seed` makes it (seeded_inputs.py)."""
    return device_model.put_seeded_inputs(seed, case=0)


def load(m: MeasuredDut, packed: PackedModel, slot_offset: int | None) -> DeviceModel:
    engine = Engine(m.dut)
    return engine.load_slot(packed, slot_offset) if slot_offset is not None else engine.load_ram(packed)


def run_model(m: MeasuredDut, device_model: DeviceModel, seed: int) -> tuple[list[np.ndarray], list[RegionTiming], str]:
    """One measured inference: its inputs, region timings and how the layers were timed."""
    inputs = _inputs(device_model, seed)
    _, timings = m.measure(device_model.invoke)
    if any(t.region_id >= REGION_FIRST_LAYER for t in timings):
        return inputs, timings, "engine regions"
    _inputs(device_model, seed)  # the same values again: one operator at a time is the same inference
    return inputs, timings + _per_op_timings(m, device_model), "per-op invoke"


def judge_every_layer(device_model: DeviceModel, seed: int, name: str) -> ModelOutcome:
    """Bit-exactness of every layer and every graph output against tflite-micro, the set `hil run
    --per-layer` compares (engine/compare.judge): operators run one at a time in order (the same
    inference) and each output is read before a later operator can overwrite it, so a wrong kernel
    is found even when a later layer (a saturating softmax) hides it in the output; the graph
    outputs are read at the end."""
    packed = device_model.packed
    inputs = _inputs(device_model, seed)
    layers = device_model.run_per_layer()
    outputs = dict(zip(packed.outputs, device_model.outputs(), strict=True))
    with Reference(packed.model.raw, preserve_all=True, name=name) as reference:
        expected = reference.run_all(inputs)
    names = {t.index: t.name for t in packed.tensors}
    return ModelOutcome(
        judge(packed.outputs, packed.ops, names, [outputs], [expected], layers, expected),
        [op.opcode for op in packed.ops],
    )


@dataclass
class EngineBench:
    """A model loaded into the harness's engine, as workloads.bench_model measures it."""

    device_model: DeviceModel

    def timed_run(self, m: MeasuredDut, seed: int) -> tuple[list[RegionTiming], str]:
        _, timings, how = run_model(m, self.device_model, seed)
        return timings, how

    def judge(self, seed: int, name: str) -> ModelOutcome:
        return judge_every_layer(self.device_model, seed, name)

    def record_fields(self, m: MeasuredDut) -> dict[str, Any]:
        """The model's bytes in the flash model slot: a target that preloads the slot (QEMU) has
        the bench's models there; others stream them into RAM (commands/measure.py): no flash."""
        preloaded = m.dut.capabilities.preloads_model_slot
        return {"model_flash_bytes": len(self.device_model.packed.image) if preloaded else None}


def _per_op_timings(m: MeasuredDut, device_model: DeviceModel) -> list[RegionTiming]:
    layers = []
    for index in range(len(device_model.packed.ops)):
        _, timings = m.measure(partial(device_model.invoke, index, index + 1))
        whole = next(t for t in timings if t.region_id == REGION_INFERENCE)
        layers.append(
            RegionTiming(
                REGION_FIRST_LAYER + index,
                f"layer{index}",
                1,
                whole.value,
                whole.unit,
                whole.source + " (per-op invoke)",
            )
        )
    return layers
