"""The link protocol's constants and message layouts, read from `protocol.yaml`.

This module is the Python half of the single protocol definition; `harness/contracts/codegen.py`
writes the C half.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("protocol.yaml")
MESSAGES_DIR = Path(__file__).with_name("messages")


def _load_spec() -> dict[str, Any]:
    """protocol.yaml, plus the messages of each service in messages/*.yaml (engine, training...)."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    for path in sorted(MESSAGES_DIR.glob("*.yaml")):
        extra = yaml.safe_load(path.read_text()) or {}
        for section in ("messages", "errors", "constants"):
            for name, value in (extra.get(section) or {}).items():
                if name in spec[section]:
                    raise ValueError(f"{path.name}: {section[:-1]} {name} is already defined")
                spec[section][name] = value
    for section, key in (("messages", "id"), ("errors", "code")):
        numbers = [entry[key] for entry in spec[section].values()]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"protocol: two {section} share a {key}")
    return spec


SPEC: dict[str, Any] = _load_spec()

VERSION: int = SPEC["version"]
MAGIC = bytes(SPEC["frame"]["magic"])
REPLY_BIT: int = SPEC["frame"]["reply_bit"]
INTER_BYTE_TIMEOUT_S: float = SPEC["frame"]["inter_byte_timeout_ms"] / 1000

_SCALAR = {"u8": "B", "u16": "H", "u32": "I", "i32": "i", "u64": "Q"}
_CHAR_ARRAY = re.compile(r"^char\[(\d+)\]$")

HEADER = struct.Struct("<" + "".join(_SCALAR[f["type"]] for f in SPEC["frame"]["header"]))
CRC_SIZE = 4
OVERHEAD = len(MAGIC) + HEADER.size + CRC_SIZE

FLAG_MORE: int = SPEC["frame"]["flags"]["MORE"]["bit"]

MessageType = enum.IntEnum(  # type: ignore[misc]
    "MessageType", {name: msg["id"] for name, msg in SPEC["messages"].items()}
)
ErrorCode = enum.IntEnum(  # type: ignore[misc]
    "ErrorCode", {name: err["code"] for name, err in SPEC["errors"].items()}
)
CONSTANTS: dict[str, int] = dict(SPEC["constants"])


def reply_type(request: int) -> int:
    return request | REPLY_BIT


@dataclass(frozen=True)
class Layout:
    """A payload layout: fixed-size fields, then optionally one `str`/`bytes` tail."""

    fields: tuple[tuple[str, str], ...]

    @property
    def _fixed(self) -> list[tuple[str, str]]:
        return [f for f in self.fields if f[1] not in ("str", "bytes")]

    @property
    def _tail(self) -> tuple[str, str] | None:
        last = self.fields[-1] if self.fields else None
        return last if last and last[1] in ("str", "bytes") else None

    @property
    def struct(self) -> struct.Struct:
        codes = []
        for _, kind in self._fixed:
            array = _CHAR_ARRAY.match(kind)
            codes.append(f"{array.group(1)}s" if array else _SCALAR[kind])
        return struct.Struct("<" + "".join(codes))

    def pack(self, **values: Any) -> bytes:
        fixed = []
        for name, _kind in self._fixed:
            value = values[name]
            fixed.append(value.encode() if isinstance(value, str) else value)
        payload = self.struct.pack(*fixed)
        if self._tail:
            name, kind = self._tail
            tail = values.get(name, b"")
            payload += tail.encode() if kind == "str" else bytes(tail)
        return payload

    def unpack(self, payload: bytes) -> dict[str, Any]:
        size = self.struct.size
        if len(payload) < size or (not self._tail and len(payload) != size):
            raise ValueError(f"payload of {len(payload)} bytes does not fit layout of {size}")
        result: dict[str, Any] = {}
        for (name, _kind), value in zip(self._fixed, self.struct.unpack_from(payload)):
            result[name] = value.rstrip(b"\0").decode(errors="replace") if isinstance(value, bytes) else value
        if self._tail:
            name, kind = self._tail
            rest = payload[size:]
            result[name] = rest.decode(errors="replace") if kind == "str" else bytes(rest)
        return result


def _layout(fields: list[dict[str, str]] | None) -> Layout:
    return Layout(tuple((f["name"], f["type"]) for f in fields or ()))


PAYLOADS: dict[str, Layout] = {name: _layout(msg.get("payload")) for name, msg in SPEC["messages"].items()}
REQUESTS: dict[str, Layout] = {name: _layout(msg.get("request")) for name, msg in SPEC["messages"].items()}
REPLIES: dict[str, Layout] = {name: _layout(msg.get("reply")) for name, msg in SPEC["messages"].items()}
