"""`hil pack`: a .tflite model to the device's packed format (docs/model_format.md).

    packed = pack_model(load_model("kws.tflite"), board=load_board("nucleo_f746"))
    Path("kws.bin").write_bytes(packed.image)

The packer validates every operator (lower.py), precomputes the requantization parameters,
plans the arena (plan.py) and checks that the result fits the board before anything is flashed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import contracts
from ..boards import Board
from ..errors import HarnessError
from ..model.tflite import Model, load_model
from . import format as fmt
from .lower import LoweredOp, UnsupportedModel
from .ops import lower
from .plan import lifetimes, plan

# RAM of the board that the engine cannot use for its arena: the firmware's own static data
# (link buffers, ...) and the stack. The firmware's real figure is reported by ENGINE_INFO;
# tests/device check that the device always has at least SRAM minus this much (shared with the
# firmware: hil_constants.h). A board whose file gives the engine a fixed pool (the Uno's 2 KB:
# `firmware.engine.pool`, built as ENGINE_POOL_SIZE) has that instead.
FIRMWARE_RAM_RESERVE = contracts.load("constants").value("ENGINE_RAM_RESERVE")

_TYPE_CODES = {
    np.dtype(np.int8): fmt.TYPE_INT8,
    np.dtype(np.float32): fmt.TYPE_FLOAT32,
    np.dtype(np.int32): fmt.TYPE_INT32,
}


class ModelTooLarge(HarnessError):
    """The packed model or its arena does not fit the board."""


@dataclass(frozen=True)
class PackedTensor:
    index: int
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    storage: int  # format.STORAGE_*
    offset: int  # arena offset, or file offset of constant data
    nbytes: int
    scale: float
    zero_point: int


@dataclass(frozen=True)
class PackedModel:
    image: bytes
    arena_size: int
    tensors: list[PackedTensor]
    ops: list[LoweredOp]
    inputs: list[int]
    outputs: list[int]
    model: Model

    @property
    def crc32(self) -> int:
        return fmt.read_header(self.image).crc32

    @property
    def constant_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.storage == fmt.STORAGE_MODEL)


def pack_file(path: str | Path, board: Board | None = None, emulator: str = "none") -> PackedModel:
    return pack_model(load_comparable(path), board, emulator)


def load_comparable(path: str | Path) -> Model:
    """The model at `path`, refused (naming the file) when a run of it would compare nothing:
    what every verdict's model goes through, whichever firmware runs it."""
    model = load_model(path)
    try:
        check_comparable(model)
    except NothingToCompare as exc:
        raise NothingToCompare(f"{path}: {exc}") from None
    return model


def pack_model(model: Model, board: Board | None = None, emulator: str = "none") -> PackedModel:
    """Packs `model`; with a board, also checks it fits (ModelTooLarge, naming the numbers)."""
    check_comparable(model)
    ops = lower(model)
    _check_io(model)
    arena_tensors = _arena_sizes(model, ops)
    offsets, arena_size = plan(
        lifetimes(arena_tensors, [(op.inputs, op.outputs) for op in ops], model.inputs, model.outputs)
    )
    packed = _Assembler(model, ops, offsets, arena_size).assemble()
    if board is not None:
        check_fits(packed, board, emulator)
    return packed


class NothingToCompare(UnsupportedModel):
    """A model whose run would compare nothing (no inputs, outputs or operators, an output
    nobody writes): refused before anything runs, so no verdict can pass over nothing."""


def check_comparable(model: Model) -> None:
    """Every run of a packed model compares its graph outputs with the reference (docs/verdicts.md):
    refuses models where that comparison would be empty or meaningless."""
    for what, items in (("inputs", model.inputs), ("outputs", model.outputs), ("operators", model.operators)):
        if not items:
            raise NothingToCompare(f"the model has no {what}: a run would compare nothing")
    written = {t for op in model.operators for t in op.outputs} | set(model.inputs)
    for index in (*model.inputs, *model.outputs):
        t = model.tensors[index]
        role = "input" if index in model.inputs else "output"
        if t.is_constant:
            raise NothingToCompare(f"graph {role} {t.name} (tensor {index}) is a constant")
        if int(np.prod(t.shape, dtype=np.int64)) == 0:
            raise NothingToCompare(f"graph {role} {t.name} (tensor {index}) has no elements (shape {list(t.shape)})")
        if index not in written:
            raise NothingToCompare(
                f"graph output {t.name} (tensor {index}) is written by no operator: its value is undefined"
            )


def _check_io(model: Model) -> None:
    for index in (*model.inputs, *model.outputs):
        t = model.tensors[index]
        if t.dtype not in (np.int8, np.float32):
            raise UnsupportedModel(f"model input/output {t.name} has type {t.dtype}; supported: int8, float32")


def _arena_sizes(model: Model, ops: list[LoweredOp]) -> dict[int, int]:
    used = {t for op in ops for t in (*op.inputs, *op.outputs)} | set(model.inputs) | set(model.outputs)
    return {
        t: _nbytes(model.tensors[t].shape, model.tensors[t].dtype)
        for t in sorted(used)
        if not model.tensors[t].is_constant
    }


def _nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def sram_budget(board: Board, emulator: str = "none") -> int:
    """Bytes of SRAM the engine can count on for model (when streamed to RAM) and arena."""
    if board.firmware.engine_pool is not None:
        return board.firmware.engine_pool
    return board.variant(emulator).memory.sram.size - FIRMWARE_RAM_RESERVE


def check_fits(packed: PackedModel, board: Board, emulator: str = "none") -> None:
    memory = board.variant(emulator).memory
    budget = sram_budget(board, emulator)
    if packed.arena_size > budget:
        raise ModelTooLarge(
            f"the arena of {packed.arena_size} bytes does not fit board {board.name}: "
            f"{memory.sram.size} bytes of SRAM, {budget} left for the arena after "
            f"the firmware's data and stack"
        )
    if len(packed.image) > memory.model_slot.size:
        raise ModelTooLarge(
            f"the packed model of {len(packed.image)} bytes ({packed.constant_bytes} bytes of "
            f"weights) does not fit board {board.name}'s flash model slot of "
            f"{memory.model_slot.size} bytes"
        )


class _Assembler:
    """Lays out the file: header, tensor table, operator table, index lists, parameters,
    requantization arrays, model input/output lists, then constant data (16-byte aligned)."""

    def __init__(self, model: Model, ops: list[LoweredOp], offsets: dict[int, int], arena_size: int):
        self.model, self.ops, self.offsets, self.arena_size = model, ops, offsets, arena_size
        self.body = bytearray()
        self.base = fmt.HEADER.size

    def _place(self, data: bytes, align: int = 4) -> int:
        while (self.base + len(self.body)) % align:
            self.body.append(0)
        offset = self.base + len(self.body)
        self.body += data
        return offset

    def assemble(self) -> PackedModel:
        constants = sorted({t for op in self.ops for t in op.inputs if self.model.tensors[t].is_constant})
        tensors_at = self._place(bytes(fmt.TENSOR.size * len(self.model.tensors)))
        ops_at = self._place(bytes(fmt.OPERATOR.size * len(self.ops)))
        op_records = [self._op_record(op) for op in self.ops]
        io_at = self._place(
            struct.pack(
                f"<{len(self.model.inputs) + len(self.model.outputs)}H", *self.model.inputs, *self.model.outputs
            )
        )
        data_at = self._place(b"", fmt.ALIGN)
        constant_at = {t: self._place(self._constant_bytes(t), fmt.ALIGN) for t in constants}
        self._place(b"", 4)
        tensors = [self._tensor(t, constant_at) for t in self.model.tensors]
        for i, t in enumerate(tensors):
            self._write(tensors_at + i * fmt.TENSOR.size, self._tensor_record(t))
        for i, record in enumerate(op_records):
            self._write(ops_at + i * fmt.OPERATOR.size, record)
        total = self.base + len(self.body)
        header = fmt.HEADER.pack(
            magic=fmt.MAGIC,
            version=fmt.VERSION,
            header_size=fmt.HEADER.size,
            total_size=total,
            crc32=0,
            arena_size=self.arena_size,
            num_tensors=len(self.model.tensors),
            num_ops=len(self.ops),
            num_inputs=len(self.model.inputs),
            num_outputs=len(self.model.outputs),
            tensors_offset=tensors_at,
            ops_offset=ops_at,
            io_offset=io_at,
            data_offset=data_at,
            source_id=int(self.model.sha256[:8], 16),
        )
        image = bytearray(header + self.body)
        crc_at = fmt.HEADER.offset("crc32")
        struct.pack_into(fmt.HEADER.field_format("crc32"), image, crc_at, fmt.checksum(bytes(image)))
        return PackedModel(
            bytes(image),
            self.arena_size,
            tensors,
            self.ops,
            list(self.model.inputs),
            list(self.model.outputs),
            self.model,
        )

    def _write(self, offset: int, data: bytes) -> None:
        start = offset - self.base
        self.body[start : start + len(data)] = data

    def _op_record(self, op: LoweredOp) -> bytes:
        indices = [*op.inputs, *op.outputs]
        indices_at = self._place(struct.pack(f"<{len(indices)}H", *indices))
        params = bytearray(op.params)
        for name, field in op.array_slots.items():
            assert op.layout is not None  # an op with array slots has a parameter record
            array_at = self._place(np.ascontiguousarray(op.arrays[name], "<i4").tobytes())
            struct.pack_into(op.layout.field_format(field), params, op.layout.offset(field), array_at)
        params_at = self._place(bytes(params))
        dtype = _TYPE_CODES[np.dtype(op.dtype)]
        return fmt.OPERATOR.pack(
            opcode=op.code,
            num_inputs=len(op.inputs),
            num_outputs=len(op.outputs),
            type=dtype,
            tensors_offset=indices_at,
            params_offset=params_at,
            params_size=len(params),
        )

    def _constant_bytes(self, index: int) -> bytes:
        t = self.model.tensors[index]
        return np.ascontiguousarray(t.data).astype(t.dtype.newbyteorder("<")).tobytes()

    def _tensor(self, t, constant_at: dict[int, int]) -> PackedTensor:
        nbytes = _nbytes(t.shape, t.dtype)
        if t.index in self.offsets:
            storage, offset = fmt.STORAGE_ARENA, self.offsets[t.index]
        elif t.index in constant_at:
            storage, offset = fmt.STORAGE_MODEL, constant_at[t.index]
        else:
            storage, offset, nbytes = fmt.STORAGE_NONE, 0, 0
        scale = float(t.quant.scale[0]) if t.quant is not None else 0.0
        zero_point = int(t.quant.zero_point[0]) if t.quant is not None else 0
        return PackedTensor(t.index, t.name, t.dtype, t.shape, storage, offset, nbytes, scale, zero_point)

    @staticmethod
    def _tensor_record(t: PackedTensor) -> bytes:
        if len(t.shape) > fmt.MAX_RANK and t.storage != fmt.STORAGE_NONE:
            raise UnsupportedModel(
                f"tensor {t.index} ({t.name}) has rank {len(t.shape)}; the engine supports up to {fmt.MAX_RANK}"
            )
        dims = list(t.shape[: fmt.MAX_RANK]) + [0] * (fmt.MAX_RANK - min(len(t.shape), fmt.MAX_RANK))
        return fmt.TENSOR.pack(
            type=_TYPE_CODES.get(np.dtype(t.dtype), 0),
            rank=min(len(t.shape), fmt.MAX_RANK),
            storage=t.storage,
            dims=dims,
            offset=t.offset,
            bytes=t.nbytes,
            scale=t.scale,
            zero_point=t.zero_point,
        )
