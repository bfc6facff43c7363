"""Retries live in the link client and follow the `idempotent` flag of the message definitions.

A fake transport plays the device: it answers each request frame, and can lose chosen replies.
"""

from __future__ import annotations

import time

import pytest

from harness.errors import DeviceError, DeviceTimeout, LinkError
from harness.link import protocol
from harness.link.client import ATTEMPTS, IDEMPOTENT, Link
from harness.link.framing import Frame, FrameParser, encode
from harness.link.protocol import MessageType


class FakeDevice:
    """Answers requests; `lose` holds, per message name, how many of its first replies vanish,
    `errors` how many are answered with TRUNCATED instead, `short` how many come back short."""

    def __init__(
        self,
        lose: dict[str, int] | None = None,
        errors: dict[str, int] | None = None,
        short: dict[str, int] | None = None,
    ):
        self.lose, self.errors, self.short = dict(lose or {}), dict(errors or {}), dict(short or {})
        self.received: list[str] = []
        self._parser, self._out = FrameParser(), bytearray()

    def write(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            name = MessageType(frame.type).name
            self.received.append(name)
            if self._take(self.lose, name):
                continue
            if self._take(self.errors, name):
                error = protocol.PAYLOADS["ERROR"].pack(code=protocol.ErrorCode.TRUNCATED, message="cut")
                self._out += encode(Frame(MessageType.ERROR, frame.seq, error))
                continue
            self._out += encode(Frame(protocol.reply_type(frame.type), frame.seq, self._reply(name, frame)))

    def _reply(self, name: str, frame: Frame) -> bytes:
        if name == "TENSOR_READ":
            length = protocol.REQUESTS[name].unpack(frame.payload)["length"]
            return bytes(length - 1 if self._take(self.short, name) else length)
        if name == "INVOKE":
            return protocol.REPLIES[name].pack(ticks=7, ops_run=1, reserved=0)
        return b""

    @staticmethod
    def _take(counts: dict[str, int], name: str) -> bool:
        if counts.get(name, 0) > 0:
            counts[name] -= 1
            return True
        return False

    def read(self, timeout: float) -> bytes:
        if not self._out:
            time.sleep(min(timeout, 0.01))
            return b""
        data, self._out = bytes(self._out), bytearray()
        return data

    def close(self) -> None:
        pass


def _link(device: FakeDevice) -> Link:
    return Link(device, "fake", timeout=0.2)


def _read(link: Link, length: int = 8) -> dict:
    def short(reply):
        return "short" if len(reply["data"]) != length else None

    return link.call("TENSOR_READ", check=short, tensor=0, reserved=0, offset=0, length=length)


def test_the_flag_comes_from_the_message_definitions():
    flagged = {name for name, msg in protocol.SPEC["messages"].items() if msg.get("idempotent")}
    assert flagged == IDEMPOTENT
    assert {"TENSOR_READ", "TENSOR_FILL", "TENSOR_WRITE", "MODEL_LOAD"} <= IDEMPOTENT
    assert "INVOKE" not in IDEMPOTENT and "RESET" not in IDEMPOTENT


def test_an_idempotent_request_whose_reply_is_lost_is_sent_again():
    device = FakeDevice(lose={"TENSOR_READ": ATTEMPTS - 1})
    assert _read(_link(device))["data"] == bytes(8)
    assert device.received == ["TENSOR_READ"] * ATTEMPTS


def test_an_idempotent_request_gives_up_after_its_attempts():
    device = FakeDevice(lose={"TENSOR_READ": ATTEMPTS})
    with pytest.raises(DeviceTimeout):
        _read(_link(device))
    assert device.received == ["TENSOR_READ"] * ATTEMPTS


def test_a_damaged_request_and_a_short_reply_are_retried():
    device = FakeDevice(errors={"TENSOR_FILL": 1})
    _link(device).call("TENSOR_FILL", tensor=0, reserved=0, seed=1)
    assert device.received == ["TENSOR_FILL"] * 2
    device = FakeDevice(short={"TENSOR_READ": 1})
    assert len(_read(_link(device))["data"]) == 8
    assert device.received == ["TENSOR_READ"] * 2


def test_replies_that_stay_short_are_one_link_error():
    device = FakeDevice(short={"TENSOR_READ": ATTEMPTS})
    with pytest.raises(LinkError, match="unusable"):
        _read(_link(device))


def test_a_request_that_is_not_idempotent_is_sent_once():
    device = FakeDevice(lose={"INVOKE": 1})
    with pytest.raises(DeviceTimeout):
        _link(device).call("INVOKE", first_op=0, end_op=0xFFFF)
    assert device.received == ["INVOKE"]
    device = FakeDevice(errors={"INVOKE": 1})
    with pytest.raises(DeviceError, match="TRUNCATED"):
        _link(device).call("INVOKE", first_op=0, end_op=0xFFFF)
    assert device.received == ["INVOKE"]
