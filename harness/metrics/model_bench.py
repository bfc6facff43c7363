"""Benchmarks one model through the inference engine (harness/engine): per-layer timing, memory
and the bit-exactness verdict against the tflite-micro reference.

Per-layer timing comes from the engine's layer regions (metrics_region_begin/end with
METRICS_REGION_LAYER(op) around each operator) when the firmware has them; otherwise each
operator is invoked alone and timed as its own inference (which adds the engine's per-invoke
overhead to every layer, and is labelled "per-op invoke").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.compare import first_diverging_layer
from ..engine.pack import PackedModel, pack_file
from ..engine.runner import DeviceModel, Engine
from ..reference import Reference
from .session import MeasuredDut
from .timing import REGION_FIRST_LAYER, REGION_INFERENCE, RegionTiming


@dataclass
class ModelOutcome:
    bit_exact: bool
    mismatch: dict[str, Any] | None = None
    layer_names: list[str] = field(default_factory=list)
    layer_timing: str = "engine regions"


def pack(model: Path, board: Any, emulator: str) -> PackedModel:
    return pack_file(model, board, emulator)


def _inputs(device_model: DeviceModel, seed: int) -> list[np.ndarray]:
    """Deterministic inputs from `seed`: int8 ones generated on the device, others written."""
    rng, values = np.random.default_rng(seed), []
    for number, index in enumerate(device_model.packed.inputs):
        tensor = device_model.packed.tensors[index]
        if tensor.dtype == np.int8:
            values.append(device_model.fill_tensor(index, seed * 7919 + number + 1))
        else:
            value = rng.standard_normal(tensor.shape).astype(tensor.dtype)
            device_model.write_tensor(index, value)
            values.append(value)
    return values


def load(m: MeasuredDut, packed: PackedModel, slot_offset: int | None) -> DeviceModel:
    engine = Engine(m.dut)
    return engine.load_slot(packed, slot_offset) if slot_offset is not None else engine.load_ram(packed)


def run_model(m: MeasuredDut, device_model: DeviceModel, seed: int,
              name: str) -> tuple[ModelOutcome, list[RegionTiming]]:
    """One measured inference and its verdict (first diverging layer when not bit-exact)."""
    packed = device_model.packed
    inputs = _inputs(device_model, seed)
    _, timings = m.measure(device_model.invoke)
    names = [f"{op.opcode}" for op in packed.ops]
    outcome = ModelOutcome(bit_exact=True, layer_names=names)
    if not any(t.region_id >= REGION_FIRST_LAYER for t in timings):
        timings = timings + _per_op_timings(m, device_model)
        outcome.layer_timing = "per-op invoke"
    got = device_model.outputs()
    with Reference(packed.model.raw, preserve_all=True, name=name) as reference:
        want = reference.run(inputs)
        if all(np.array_equal(g, w) for g, w in zip(got, want)):
            return outcome, timings
        outcome.bit_exact = False
        device_model.set_inputs(inputs)
        per_layer = device_model.run_per_layer()
        mismatch = first_diverging_layer(packed.ops, {t.index: t.name for t in packed.tensors},
                                         per_layer, reference.run_all(inputs))
    outcome.mismatch = ({"layer": mismatch.op_index, "layer_name": mismatch.opcode,
                         "detail": mismatch.describe()} if mismatch
                        else {"detail": "outputs differ but no layer's output does"})
    return outcome, timings


def _per_op_timings(m: MeasuredDut, device_model: DeviceModel) -> list[RegionTiming]:
    layers = []
    for index in range(len(device_model.packed.ops)):
        _, timings = m.measure(lambda i=index: device_model.invoke(i, i + 1))
        whole = next(t for t in timings if t.region_id == REGION_INFERENCE)
        layers.append(RegionTiming(REGION_FIRST_LAYER + index, f"layer{index}", 1, whole.value,
                                   whole.unit, whole.source + " (per-op invoke)"))
    return layers


def slot_loader_args(board: Any, emulator: str, image: bytes, workdir: Path) -> list[str]:
    """QEMU arguments that put `image` into the board's flash model slot at boot."""
    slot = board.variant(emulator).memory.model_slot
    path = workdir / "model_slot.bin"
    path.write_bytes(image)
    return ["-device", f"loader,file={path},addr=0x{slot.origin:x},force-raw=on"]


