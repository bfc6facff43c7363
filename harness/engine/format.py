"""The packed model format (docs/model_format.md), byte layouts shared with firmware/src/engine.

Every record is a run of 4-byte (or smaller, naturally aligned) little-endian fields, so the C
side reads it with memcpy into a struct of the same layout on any target (ARM, AVR).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import HarnessError

MAGIC = b"HILM"
VERSION = 1
ALIGN = 16  # arena offsets and constant data
CRC_START = 16  # the CRC covers every byte after the header's crc32 field

HEADER = struct.Struct("<4sHHIIIHHHHIIIII")
TENSOR = struct.Struct("<BBBB6iIIfi")
OPERATOR = struct.Struct("<BBBBIII")
MAX_RANK = 6
MAX_OP_INPUTS = 8  # CONCATENATION inputs the engine accepts
ABSENT = 0xFFFF

# Tensor element types.
TYPE_INT8, TYPE_FLOAT32, TYPE_INT32 = 1, 2, 3
# Where a tensor's bytes live.
STORAGE_NONE, STORAGE_ARENA, STORAGE_MODEL = 0, 1, 2

assert HEADER.size == 48 and TENSOR.size == 44 and OPERATOR.size == 16


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
    magic, version, header_size, *rest = HEADER.unpack_from(image)
    if magic != MAGIC:
        raise PackedFormatError(f"{label}: not a packed model (magic {magic!r}, want {MAGIC!r})")
    if version != VERSION or header_size != HEADER.size:
        raise PackedFormatError(f"{label}: format version {version}, this harness reads {VERSION}")
    header = Header(version, *rest)
    if header.total_size != len(image):
        raise PackedFormatError(f"{label}: header says {header.total_size} bytes, file has {len(image)}")
    if checksum(image) != header.crc32:
        raise PackedFormatError(f"{label}: CRC-32 mismatch (corrupt file)")
    return header
