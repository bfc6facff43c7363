"""A board reached through a pyserial URL, as one attached to another machine would be.

QEMU's UART socket stands in for the remote end (ser2net, an RFC 2217 server): the harness is
told only the URL and treats it as a real board (`--emulator none --port socket://...`).
"""

from harness.boards import load_board
from harness.build import build
from harness.dut import Dut
from harness.targets.qemu import QemuTarget


def test_board_behind_a_socket_url_is_reached_like_a_real_one():
    board = load_board("netduinoplus2")
    emulated = QemuTarget(board, board.variant("qemu"), build(board, "qemu"))
    url = emulated.launch()
    try:
        with Dut.open(board, "none", port=url) as dut:
            assert dut.info.board == "netduinoplus2"
            assert dut.echo(b"over the network") == b"over the network"
    finally:
        emulated.stop()
