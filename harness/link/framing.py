"""Frames on the wire: encoding, and a stream parser that resynchronises after damage.

    magic (2) | length u16 | type u8 | flags u8 | seq u16 | payload | crc32 u32

The CRC covers the header and payload. The parser never trusts a frame before its CRC checks:
a bad CRC, an impossible length or a frame that stops arriving makes it drop one byte and
search for the next magic, so garbage and damaged frames cost only the bytes they occupy.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from .protocol import CRC_SIZE, HEADER, MAGIC


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""
    flags: int = 0


def encode(frame: Frame) -> bytes:
    header = HEADER.pack(len(frame.payload), frame.type, frame.flags, frame.seq)
    crc = zlib.crc32(header + frame.payload)
    return MAGIC + header + frame.payload + crc.to_bytes(CRC_SIZE, "little")


@dataclass
class ParserStats:
    frames_ok: int = 0
    bad_crc: int = 0
    garbage_bytes: int = 0
    oversize: int = 0
    truncated: int = 0


@dataclass
class FrameParser:
    """Feed it bytes as they arrive; it returns the complete, CRC-checked frames."""

    max_payload: int = 65535
    stats: ParserStats = field(default_factory=ParserStats)
    _buffer: bytearray = field(default_factory=bytearray)

    @property
    def pending(self) -> int:
        """Bytes held that are not yet a frame (a frame in progress, or garbage)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def drop_partial(self) -> list[Frame]:
        """Give up on a frame that stopped arriving (the caller's inter-byte timeout). Only its
        first byte is discarded for good: a header whose payload never came may hold the start
        of the next valid frame, so the rest is scanned again; returns the frames that finds."""
        if not self._buffer:
            return []
        self.stats.truncated += 1
        self._skip(1)
        return self.feed(b"")

    def _next_frame(self) -> Frame | None:
        while True:
            start = self._buffer.find(MAGIC)
            if start < 0:
                # Keep a last byte that may be the first half of the magic.
                keep = 1 if self._buffer[-1:] == MAGIC[:1] else 0
                self._skip(len(self._buffer) - keep)
                return None
            self._skip(start)
            if len(self._buffer) < len(MAGIC) + HEADER.size:
                return None
            length, kind, flags, seq = HEADER.unpack_from(self._buffer, len(MAGIC))
            if length > self.max_payload:
                self.stats.oversize += 1
                self._skip(1)
                continue
            end = len(MAGIC) + HEADER.size + length + CRC_SIZE
            if len(self._buffer) < end:
                return None
            body = bytes(self._buffer[len(MAGIC) : end - CRC_SIZE])
            crc = int.from_bytes(self._buffer[end - CRC_SIZE : end], "little")
            if zlib.crc32(body) != crc:
                self.stats.bad_crc += 1
                self._skip(1)
                continue
            del self._buffer[:end]
            self.stats.frames_ok += 1
            return Frame(kind, seq, body[HEADER.size :], flags)

    def _skip(self, count: int) -> None:
        if count:
            self.stats.garbage_bytes += count
            del self._buffer[:count]
