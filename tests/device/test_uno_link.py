"""The Uno's link at its own limits (64-byte frames, 256-byte requests in 2 KB of SRAM), and
QEMU's AVR reset, which is a relaunch: QEMU 7.2's AVR machine cannot reset itself."""

import pytest

from harness.dut import BOOT_TIMEOUT_S
from harness.link.protocol import MessageType

pytestmark = pytest.mark.boards("uno")


def test_handshake_reports_the_link_limits_of_the_board_file(dut):
    assert (dut.info.max_payload, dut.info.max_message) == (dut.board.link_max_payload, dut.board.link_max_message)


@pytest.mark.parametrize("where", ["payload-1", "payload", "payload+1", "2 frames+1", "message"])
def test_echo_round_trips_around_the_frame_and_request_limits(dut, where):
    payload, message = dut.info.max_payload, dut.info.max_message
    size = {
        "payload-1": payload - 1,
        "payload": payload,
        "payload+1": payload + 1,
        "2 frames+1": 2 * payload + 1,
        "message": message,
    }[where]
    data = bytes((i * 13 + size) & 0xFF for i in range(size))
    assert dut.echo(data) == data


@pytest.mark.requires("can_reset")
def test_emulator_reset_relaunches_qemu_and_the_link_carries_on(fresh_dut):
    fresh_dut.echo(b"before")
    fresh_dut.target.reset()
    fresh_dut.link.wait_for(MessageType.READY, BOOT_TIMEOUT_S)
    assert fresh_dut.link_stats()["frames_ok"] == 1  # a new machine: only this request counted
    assert fresh_dut.echo(b"after") == b"after"
