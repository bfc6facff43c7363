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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import HarnessError, LinkError
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
        try:
            spec = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
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
        return cls(messages)

    def call(self, link, name: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Sends request `name` with `fields` over `link` (a harness.link.client.Link); returns
        its reply's fields."""
        if name not in self.messages:
            raise HarnessError(f"no user message {name} (known: {', '.join(self.messages)})")
        message = self.messages[name]
        try:
            payload = message.request.pack(**fields)
        except KeyError as exc:
            raise HarnessError(f"{name}: field {exc} is missing") from None
        reply = link.request(message.id, payload, timeout)
        try:
            return message.reply.unpack(reply)
        except ValueError as exc:
            raise LinkError(f"board {link.board} sent a malformed {name} reply: {exc}") from None
