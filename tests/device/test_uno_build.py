"""The Uno's build holds the ATmega328P's limits: 28 KB of flash for the firmware (32 KB less the
model slot and the bootloader) and 2 KB of SRAM less the stack reserve."""

import subprocess

import pytest

from harness.boards import load_board
from harness.build import build
from harness.build_config import AVR_STACK_RESERVE
from harness.errors import BuildError

pytestmark = pytest.mark.boards("uno")


def _section_sizes(elf) -> dict[str, int]:
    out = subprocess.run(["avr-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    return {
        parts[0]: int(parts[1])
        for parts in (line.split() for line in out.splitlines())
        if len(parts) >= 3 and parts[1].isdigit()
    }


def test_image_fits_the_chip_with_room_for_the_stack():
    board = load_board("uno")
    sizes = _section_sizes(build(board, "qemu").elf)
    assert sizes[".text"] + sizes[".data"] <= board.memory.firmware_flash.size
    assert sizes[".data"] + sizes[".bss"] <= board.memory.sram.size - AVR_STACK_RESERVE


def test_firmware_too_big_for_the_flash_does_not_link():
    board = load_board("uno")
    with pytest.raises(BuildError, match="region `text' overflowed"):
        build(board, "qemu", extra_flags=[f"-DHIL_BALLAST_FLASH_BYTES={board.memory.firmware_flash.size}"])
