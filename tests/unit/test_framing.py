"""The host's frame parser: round trips, and recovery from every kind of damage."""

import zlib

import pytest

from harness.link import protocol
from harness.link.framing import Frame, FrameParser, encode


def frames(parser, data):
    return parser.feed(data)


def test_round_trip_any_payload():
    frame = Frame(0x11, 7, bytes(range(256)) * 3, protocol.FLAG_MORE)
    assert FrameParser().feed(encode(frame)) == [frame]


def test_frame_layout_is_magic_header_payload_crc():
    wire = encode(Frame(0x10, 0x0102, b"ab"))
    assert wire[:2] == protocol.MAGIC
    assert wire[2:8] == bytes([2, 0, 0x10, 0, 0x02, 0x01])
    assert int.from_bytes(wire[-4:], "little") == zlib.crc32(wire[2:-4])


def test_byte_by_byte_delivery():
    parser, frame = FrameParser(), Frame(0x12, 1, b"hello")
    got = [f for byte in encode(frame) for f in parser.feed(bytes([byte]))]
    assert got == [frame]


def test_garbage_before_and_between_frames_is_skipped_and_counted():
    parser = FrameParser()
    a, b = Frame(1, 1, b"a"), Frame(2, 2, b"b")
    garbage = b"\x00\xa5\xa5noise\x5a"
    assert parser.feed(garbage + encode(a) + garbage + encode(b)) == [a, b]
    assert parser.stats.garbage_bytes >= 2 * len(garbage) - 2


def test_bad_crc_is_counted_and_the_next_frame_survives():
    parser = FrameParser()
    damaged = bytearray(encode(Frame(1, 1, b"payload")))
    damaged[-1] ^= 0xFF
    good = Frame(1, 2, b"next")
    assert parser.feed(bytes(damaged) + encode(good)) == [good]
    assert parser.stats.bad_crc == 1


def test_truncated_frame_followed_by_a_good_one():
    parser = FrameParser()
    truncated = encode(Frame(1, 1, b"x" * 100))[:30]
    good = Frame(1, 2, b"ok")
    # The parser first waits for the long frame's remaining bytes...
    assert parser.feed(truncated + encode(good)) == []
    # ...and finds the good frame once the inter-byte timeout drops the truncated one,
    # or, here, as soon as enough bytes arrive to fail the long frame's CRC.
    assert parser.feed(b"\x00" * 100) == [good]
    assert parser.stats.bad_crc == 1


def test_drop_partial_counts_a_truncated_frame():
    parser = FrameParser()
    parser.feed(encode(Frame(1, 1, b"abcdef"))[:9])
    assert parser.drop_partial() == []
    assert parser.stats.truncated == 1 and parser.pending == 0


def test_a_header_whose_payload_never_comes_does_not_swallow_the_next_frame():
    parser = FrameParser()
    header_only = protocol.MAGIC + protocol.HEADER.pack(200, 1, 0, 1)
    good = Frame(1, 2, b"answer me")
    assert parser.feed(header_only + encode(good)) == []  # could still be the long frame
    assert parser.drop_partial() == [good]  # the inter-byte timeout: rescanned, not discarded
    assert parser.stats.truncated == 1 and parser.pending == 0


def test_impossible_length_is_rejected_without_waiting():
    parser = FrameParser(max_payload=64)
    fake_header = protocol.MAGIC + protocol.HEADER.pack(60000, 1, 0, 1)
    good = Frame(1, 2, b"fine")
    assert parser.feed(fake_header + encode(good)) == [good]
    assert parser.stats.oversize == 1


@pytest.mark.parametrize("payload_size, frame_payload", [(4096, 1024), (4096, 2048)])
def test_chunked_4k_payload_efficiency_is_at_least_95_percent(payload_size, frame_payload):
    """Bytes on the wire for one chunked request, counted both ways (frames, ACKs, reply)."""
    chunks = -(-payload_size // frame_payload)
    request_bytes = payload_size + chunks * protocol.OVERHEAD
    ack_bytes = (chunks - 1) * protocol.OVERHEAD
    reply_bytes = protocol.OVERHEAD + 4  # DISCARD's reply: the length
    assert payload_size / (request_bytes + ack_bytes + reply_bytes) >= 0.95
