"""A firmware's own requests, known to the host by name from a YAML file of the same form as
messages/*.yaml (docs/byo_firmware.md):

    messages:
      MY_COUNTERS:
        id: 0x70
        doc: what it answers
        request: [{name: clear, type: u8}]
        reply: [{name: invokes, type: u32}]

Their ids must be in the range the protocol reserves for them (0x70-0x7F: HIL_USER_TYPE_FIRST..
LAST of the device SDK), so they never collide with the harness's own services.

    counters = UserMessages.load("messages.yaml")
    counters.call(dut.link, "MY_COUNTERS", clear=1)   # -> {"invokes": 3}
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import HarnessError, LinkError
from ..input_files import read_regular_file
from .protocol import Layout, _layout

USER_TYPE_FIRST = 0x70
USER_TYPE_LAST = 0x7F


@dataclass(frozen=True)
class UserMessage:
    name: str
    id: int
    request: Layout
    reply: Layout


class UserMessages:
    def __init__(self, messages: dict[str, UserMessage]):
        self.messages = messages

    @classmethod
    def load(cls, path: str | Path) -> UserMessages:
        """Reads and checks a message file; a problem is one line naming the file and message."""
        text = read_regular_file(path, "the message file")  # a FIFO would block read_text()
        try:
            spec = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise HarnessError(f"{path}: cannot read the message file ({exc})") from None
        return cls.from_spec(spec, str(path))

    @classmethod
    def from_spec(cls, spec: dict, where: str) -> UserMessages:
        entries = spec.get("messages") if isinstance(spec, dict) else None
        if not isinstance(entries, dict) or not entries:
            raise HarnessError(f"{where}: no `messages:` mapping")
        messages: dict[str, UserMessage] = {}
        ids: dict[int, str] = {}
        for name, entry in entries.items():
            number = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(number, int) or not USER_TYPE_FIRST <= number <= USER_TYPE_LAST:
                raise HarnessError(
                    f"{where}: message {name}: id must be 0x{USER_TYPE_FIRST:02X}-"
                    f"0x{USER_TYPE_LAST:02X} (the firmware's own range), got {number!r}"
                )
            if number in ids:
                raise HarnessError(f"{where}: messages {ids[number]} and {name} share id 0x{number:02X}")
            ids[number] = name
            try:
                messages[name] = UserMessage(name, number, _layout(entry.get("request")), _layout(entry.get("reply")))
                messages[name].request.struct, messages[name].reply.struct
            except (KeyError, TypeError) as exc:
                raise HarnessError(f"{where}: message {name}: a field has no valid name/type ({exc})") from None
            for part in ("request", "reply"):
                problem = _layout_problem(getattr(messages[name], part))
                if problem:
                    raise HarnessError(f"{where}: message {name}: {part} {problem}")
        return cls(messages)

    def call(self, link, name: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Sends request `name` with `fields` over `link` (a harness.link.client.Link); returns
        its reply's fields."""
        if name not in self.messages:
            raise HarnessError(f"no user message {name} (known: {', '.join(self.messages)})")
        message = self.messages[name]
        known = [field for field, _ in message.request.fields]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise HarnessError(f"{name}: no request field {unknown[0]} (fields: {', '.join(known) or 'none'})")
        for field, kind in message.request.fields:
            if kind == "bytes" and field in fields and not isinstance(fields[field], (bytes, bytearray, memoryview)):
                raise HarnessError(f"{name}: field {field} must be bytes, not {type(fields[field]).__name__}")
        try:
            payload = message.request.pack(**fields)
        except KeyError as exc:
            raise HarnessError(f"{name}: field {exc} is missing") from None
        except struct.error as exc:  # a value its field's type cannot hold
            raise HarnessError(f"{name}: {exc} ({_values(message.request, fields)})") from None
        reply = link.request(message.id, payload, timeout)
        try:
            return message.reply.unpack(reply)
        except ValueError as exc:
            raise LinkError(f"board {link.board} sent a malformed {name} reply: {exc}") from None


def _layout_problem(layout: Layout) -> str | None:
    """A layout Layout.pack would get wrong: a name twice, or a str/bytes tail before the end
    (it would be left out of the payload)."""
    names = [name for name, _ in layout.fields]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice:
        return f"field {twice} appears twice"
    tails = [name for name, kind in layout.fields[:-1] if kind in ("str", "bytes")]
    return f"field {tails[0]}: a str or bytes field must be the last" if tails else None


def _values(layout: Layout, fields: dict[str, Any]) -> str:
    return ", ".join(f"{name} ({kind}) = {fields.get(name)!r}" for name, kind in layout.fields)[:200]
