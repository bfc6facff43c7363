"""Every board with a QEMU variant boots its firmware and shakes hands, whatever --board says."""

import pytest

from harness.boards import load_all_boards
from harness.dut import Dut

EMULATED = [board for board in load_all_boards() if "qemu" in board.variants]


@pytest.mark.parametrize("board", EMULATED, ids=[b.name for b in EMULATED])
def test_board_boots_in_qemu_and_shakes_hands(board):
    with Dut.open(board, "qemu") as dut:
        variant = board.variant("qemu")
        assert dut.info.board == board.name
        assert dut.info.sram_size == variant.memory.sram.size
        assert dut.info.timer_kind == variant.timer.kind
        assert dut.echo(b"hello " + board.name.encode()) == b"hello " + board.name.encode()


@pytest.mark.parametrize("board", EMULATED, ids=[b.name for b in EMULATED])
def test_firmware_too_big_for_the_real_board_does_not_link(board):
    """The stand-in may have more RAM than the real chip; the linker holds the real limit."""
    from harness.build import build
    from harness.errors import BuildError

    too_much = board.variant("qemu").memory.sram.size  # all of SRAM, plus what the firmware needs
    # GNU ld says "region `RAM' overflowed" (ARM, our script) or "not within region `data'" (AVR)
    with pytest.raises(BuildError, match="region `RAM' overflowed|not within region `data'"):
        build(board, "qemu", extra_flags=[f"-DHIL_BALLAST_RAM_BYTES={too_much}"])
