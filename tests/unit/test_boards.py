"""Board files: loading, validation and the messages a user sees for bad input."""
from pathlib import Path

import pytest

from harness.boards import load_all_boards, load_board, parse_size
from harness.errors import BoardError

GOOD = Path(__file__).resolve().parents[2] / "boards" / "netduinoplus2.yaml"


def test_every_board_file_loads_and_states_its_limits():
    boards = load_all_boards()
    assert {b.name for b in boards} >= {"nucleo_f746", "netduinoplus2"}
    for board in boards:
        for variant in board.variants.values():
            assert variant.memory.model_slot.end <= variant.memory.flash.end
            assert variant.memory.firmware_flash.size > 0


def test_nucleo_f746_stand_in_keeps_the_real_limits():
    board = load_board("nucleo_f746")
    real, qemu = board.variant("none"), board.variant("qemu")
    assert (board.memory.sram.size, board.memory.flash.size) == (320 * 1024, 1024 * 1024)
    assert (qemu.memory.sram.size, qemu.memory.flash.size) == (real.memory.sram.size, real.memory.flash.size)
    assert qemu.machine == "mps2-an500" and "no STM32F7" in qemu.stand_in
    assert board.fpu == "fpv5-sp-d16"


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardError, match=r"unknown board 'nosuch'; known boards: .*nucleo_f746"):
        load_board("nosuch")


def test_unsupported_emulator_names_the_choices():
    with pytest.raises(BoardError, match="cannot run with --emulator=renode; it supports"):
        load_board("netduinoplus2").variant("renode")


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("clock_hz: 16000000", "clock_hz: fast", "clock_hz"),
        ("sram: {origin: 0x20000000, size: 128K}", "sram: {origin: 0x20000000, size: lots}", "memory.sram.size"),
        ("  baud: 115200\n", "", "serial.baud"),
        ("arch: arm", "arch: riscv", "arch"),
        ("model_slot: {offset: 0x40000, size: 768K}", "model_slot: {offset: 0x40000, size: 2M}", "memory.model_slot"),
    ],
)
def test_malformed_board_file_names_the_field(tmp_path, old, new, field):
    text = GOOD.read_text()
    assert old in text
    (tmp_path / "netduinoplus2.yaml").write_text(text.replace(old, new))
    with pytest.raises(BoardError, match=f"field '{field}'"):
        load_board("netduinoplus2", tmp_path)


def test_file_that_is_not_yaml_is_reported(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(BoardError, match="not valid YAML"):
        load_board("broken", tmp_path)


@pytest.mark.parametrize("text, size", [("320K", 320 * 1024), ("1M", 1 << 20), (4096, 4096), ("64KB", 65536)])
def test_sizes(text, size):
    assert parse_size(text) == size
