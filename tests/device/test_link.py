"""The link, end to end with the real firmware: handshake, chunking, damage and recovery."""

import time

import pytest

from harness.boards import load_board
from harness.errors import DeviceError, DeviceFault, DeviceTimeout, LinkError
from harness.link import protocol
from harness.link.framing import Frame, encode
from harness.link.protocol import MessageType


def test_handshake_reports_the_board_file_and_build(dut):
    info = dut.info
    board = load_board(dut.board.name)
    memory = board.variant(dut.variant.emulator).memory
    assert info.protocol_version == protocol.VERSION
    assert info.board == board.name
    assert (info.flash_size, info.sram_size) == (memory.flash.size, memory.sram.size)
    assert (info.model_slot_addr, info.model_slot_size) == (memory.model_slot.origin, memory.model_slot.size)
    commit, _, built_at = info.build_id.partition(" ")
    assert commit and built_at.endswith("Z")


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 4096, 8192])
def test_echo_round_trips_every_size_through_chunking(dut, size):
    if size > dut.info.max_message:
        pytest.skip(f"board {dut.board.name} accepts requests of at most {dut.info.max_message} bytes")
    data = bytes((i * 7 + size) & 0xFF for i in range(size))
    assert dut.echo(data) == data


def test_4k_request_efficiency_on_the_wire(dut):
    if dut.info.max_message < 4096:
        pytest.skip(f"board {dut.board.name} accepts requests of at most {dut.info.max_message} bytes")
    before = (dut.link.counters.bytes_sent, dut.link.counters.bytes_received)
    assert dut.discard(bytes(4096)) == 4096
    wire = dut.link.counters.bytes_sent - before[0] + dut.link.counters.bytes_received - before[1]
    assert 4096 / wire >= 0.95


def test_request_larger_than_the_device_accepts_is_refused_on_the_host(dut):
    with pytest.raises(LinkError, match="larger than board"):
        dut.echo(bytes(dut.info.max_message + 1))


def test_garbage_is_skipped_and_counted(dut):
    before = dut.link_stats()["garbage_bytes"]
    dut.link.send_raw(b"\x00\xff\xa5\x00line noise\xa5")
    assert dut.echo(b"still here") == b"still here"
    assert dut.link_stats()["garbage_bytes"] >= before + 14


def test_bad_crc_is_reported_and_the_link_recovers(dut):
    seq = 0x7777
    damaged = bytearray(encode(Frame(MessageType.ECHO, seq, b"corrupted")))
    damaged[10] ^= 0x01
    dut.link.send_raw(bytes(damaged))
    with pytest.raises(DeviceError, match="BAD_CRC"):
        dut.link.await_reply(MessageType.ECHO, seq)
    assert dut.echo(b"after") == b"after"
    assert dut.link_stats()["bad_crc"] >= 1


def test_truncated_frame_is_reported_and_the_link_recovers(dut):
    seq = 0x6666
    payload = b"x" * min(200, dut.info.max_payload)  # a frame the board accepts, cut short
    dut.link.send_raw(encode(Frame(MessageType.ECHO, seq, payload))[:50])
    with pytest.raises(DeviceError, match="TRUNCATED"):
        dut.link.await_reply(MessageType.ECHO, seq)
    assert dut.echo(b"after") == b"after"
    assert dut.link_stats()["truncated"] >= 1


def test_a_header_whose_payload_never_comes_does_not_swallow_the_next_frame(dut):
    """The device waits for the bytes the header promises, the valid frame's bytes among
    them; at the inter-byte timeout it drops the bad header and finds the frame behind it."""
    length = min(200, dut.info.max_payload)  # a length the board accepts: it waits for the payload
    header_only = protocol.MAGIC + protocol.HEADER.pack(length, MessageType.ECHO, 0, 0x5555)
    seq = 0x5556
    dut.link.send_raw(header_only + encode(Frame(MessageType.ECHO, seq, b"answer me")))
    assert dut.link.await_reply(MessageType.ECHO, seq, timeout=5.0) == b"answer me"
    assert dut.echo(b"after") == b"after"


def test_unknown_request_gets_an_error_reply(dut):
    with pytest.raises(DeviceError, match="UNKNOWN_TYPE"):
        dut.link.request(0x7E)


def test_reset_reboots_the_firmware(dut):
    dut.echo(b"x")
    dut.reset()
    assert dut.link_stats()["frames_ok"] == 2  # counters start again: LINK_STATS after HELLO


def test_firmware_that_stops_answering_times_out_naming_the_board(fresh_dut):
    fresh_dut.link.timeout = 1.0
    fresh_dut.link.send_request_no_reply(MessageType.SELFTEST_HANG)
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match=f"board {fresh_dut.board.name} did not answer ECHO"):
        fresh_dut.echo(b"anyone?")
    assert time.monotonic() - start < 3.0


def test_hard_fault_is_reported_with_registers(fresh_dut):
    if not fresh_dut.board.firmware.fault_report:
        pytest.skip(f"{fresh_dut.board.mcu} ({fresh_dut.board.arch}) has no fault exceptions to report")
    fresh_dut.link.send_request_no_reply(MessageType.SELFTEST_FAULT)
    with pytest.raises(DeviceFault, match=r"hard fault \(UNDEFINSTR\) at pc=0x") as caught:
        fresh_dut.echo(b"x")
    assert caught.value.registers["hfsr"] & (1 << 30)  # FORCED: escalated to HardFault
