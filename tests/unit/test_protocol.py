"""The protocol is defined once (its C header's staleness test: test_contracts.py)."""

import pytest

from harness.link import protocol


def test_every_request_type_is_distinct_from_link_frames_and_replies():
    ids = [m.value for m in protocol.MessageType]
    assert len(ids) == len(set(ids))
    assert all(i < protocol.REPLY_BIT for i in ids)


def test_hello_layout_round_trip():
    layout = protocol.REPLIES["HELLO"]
    values = {name: 0 for name, _ in layout.fields}
    values.update(board="nucleo_f746", build_id="abc 2026-01-01T00:00:00Z", core_clock_hz=216_000_000)
    unpacked = layout.unpack(layout.pack(**values))
    assert unpacked["board"] == "nucleo_f746" and unpacked["core_clock_hz"] == 216_000_000


def test_layout_rejects_a_payload_of_the_wrong_size():
    with pytest.raises(ValueError):
        protocol.REPLIES["LINK_STATS"].unpack(b"\x00" * 3)


def test_tail_field_takes_the_rest():
    layout = protocol.PAYLOADS["ERROR"]
    assert layout.unpack(layout.pack(code=5, message="bad")) == {"code": 5, "message": "bad"}
