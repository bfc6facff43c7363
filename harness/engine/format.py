"""The packed model format (docs/model_format.md): the layouts of harness/contracts/model_format.yaml.

The same YAML generates the firmware's firmware/src/engine/model_format.h, so the host packs
and reads every record by field name (`OPERATOR.pack(opcode=..., ...)`) and both sides agree.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np

from .. import contracts
from ..errors import HarnessError

SPEC = contracts.load("model_format")

MAGIC = SPEC.raw["magic"].encode()
VERSION = SPEC.value("FORMAT_VERSION")
ALIGN = SPEC.value("ALIGN")  # arena offsets and constant data
CRC_START = SPEC.value("CRC_START")  # the CRC covers every byte after the header's crc32 field
MAX_RANK = SPEC.value("MAX_RANK")
MAX_OP_INPUTS = SPEC.value("MAX_OP_INPUTS")  # CONCATENATION inputs the engine accepts

HEADER = SPEC.records["header"]
TENSOR = SPEC.records["tensor"]
OPERATOR = SPEC.records["op"]

# Tensor element types.
TYPE_INT8, TYPE_FLOAT32, TYPE_INT32 = (SPEC.enums["TYPE"][k] for k in ("INT8", "FLOAT32", "INT32"))
# Where a tensor's bytes live.
STORAGE_NONE, STORAGE_ARENA, STORAGE_MODEL = (SPEC.enums["STORAGE"][k] for k in ("NONE", "ARENA", "MODEL"))

OPCODES: dict[str, int] = {name: op["code"] for name, op in SPEC.raw["ops"].items()}


def op_params(opcode: str, dtype: np.dtype) -> contracts.Record | None:
    """The parameter record of operator `opcode` computing in `dtype` (None: it has none)."""
    by_type = SPEC.raw["ops"][opcode]["params"]
    name = by_type[np.dtype(dtype).name]  # a KeyError: lower.py produced a type the spec lacks
    return None if name is None else contracts.record(name)


class PackedFormatError(HarnessError):
    """A packed model file that is not valid (bad magic, version, size or checksum)."""


@dataclass(frozen=True)
class Header:
    version: int
    total_size: int
    crc32: int
    arena_size: int
    num_tensors: int
    num_ops: int
    num_inputs: int
    num_outputs: int
    tensors_offset: int
    ops_offset: int
    io_offset: int
    data_offset: int
    source_id: int


def checksum(image: bytes) -> int:
    return zlib.crc32(memoryview(image)[CRC_START:]) & 0xFFFFFFFF


def read_header(image: bytes, label: str = "packed model") -> Header:
    """Validates magic, version, size and CRC the way the firmware does; returns the header."""
    if len(image) < HEADER.size:
        raise PackedFormatError(f"{label}: {len(image)} bytes is too short for a packed model")
    values = HEADER.unpack(image)
    if values["magic"] != MAGIC:
        raise PackedFormatError(f"{label}: not a packed model (magic {values['magic']!r}, want {MAGIC!r})")
    if values["version"] != VERSION or values["header_size"] != HEADER.size:
        raise PackedFormatError(f"{label}: format version {values['version']}, this harness reads {VERSION}")
    header = Header(**{f.name: values[f.name] for f in fields(Header)})
    if header.total_size != len(image):
        raise PackedFormatError(f"{label}: header says {header.total_size} bytes, file has {len(image)}")
    if checksum(image) != header.crc32:
        raise PackedFormatError(f"{label}: CRC-32 mismatch (corrupt file)")
    return header
