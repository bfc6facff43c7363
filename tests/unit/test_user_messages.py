"""The host's registry of a firmware's own requests (harness.link.user_messages)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.link.user_messages import UserMessages

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_firmware" / "messages.yaml"


class FakeLink:
    board = "fake"

    def __init__(self, reply: bytes):
        self.reply, self.sent = reply, []

    def request(self, message, payload=b"", timeout=None):
        self.sent.append((message, payload))
        return self.reply


def test_example_messages_pack_and_unpack_by_name():
    messages = UserMessages.load(EXAMPLE)
    link = FakeLink((7).to_bytes(4, "little") + (1).to_bytes(4, "little"))
    assert messages.call(link, "EXAMPLE_COUNTERS") == {"invokes": 7, "model_ok": 1}
    assert link.sent == [(0x70, b"")]


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"id": 0x26}, "id must be 0x70-0x7F"),  # the engine's INVOKE: not the user's range
        ({"id": 0x80}, "id must be 0x70-0x7F"),  # a reply type
        ({"id": 0x70, "reply": [{"name": "x", "type": "u24"}]}, "no valid name/type"),
    ],
)
def test_bad_message_files_are_one_line_errors(entry, problem):
    with pytest.raises(HarnessError, match=problem):
        UserMessages.from_spec({"messages": {"MINE": entry}}, "mine.yaml")


def test_two_messages_may_not_share_an_id():
    spec = {"messages": {"A": {"id": 0x71}, "B": {"id": 0x71}}}
    with pytest.raises(HarnessError, match="share id 0x71"):
        UserMessages.from_spec(spec, "mine.yaml")


U8_REQUEST = {"id": 0x72, "request": [{"name": "clear", "type": "u8"}, {"name": "data", "type": "bytes"}]}


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"clear": 300}, r"MINE: ubyte format requires 0 <= number <= 255 \(clear \(u8\) = 300"),  # was struct.error
        ({"clear": "1"}, "MINE: required argument is not an integer"),
        ({"clear": 1, "data": 5}, "field data must be bytes, not int"),  # bytes(5) sent five zero bytes
        ({"clear": 1, "colour": 2}, "MINE: no request field colour"),  # was ignored
    ],
)
def test_request_values_their_fields_cannot_hold_are_one_line(fields, problem):
    messages = UserMessages.from_spec({"messages": {"MINE": U8_REQUEST}}, "mine.yaml")
    with pytest.raises(HarnessError, match=problem):
        messages.call(FakeLink(b""), "MINE", **fields)


@pytest.mark.parametrize(
    "fields, problem",
    [
        ([{"name": "a", "type": "u8"}, {"name": "a", "type": "u16"}], "request field a appears twice"),
        ([{"name": "s", "type": "str"}, {"name": "n", "type": "u8"}], "field s: a str or bytes field must be the last"),
    ],
)
def test_layouts_the_payload_could_not_carry_are_refused(fields, problem):
    with pytest.raises(HarnessError, match=problem):
        UserMessages.from_spec({"messages": {"MINE": {"id": 0x70, "request": fields}}}, "mine.yaml")


def test_a_message_file_that_is_a_fifo_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "messages.yaml")
    with pytest.raises(HarnessError, match="it is a FIFO"):
        UserMessages.load(tmp_path / "messages.yaml")
