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


def test_a_board_declares_what_its_firmware_has():
    uno, nucleo = load_board("uno").firmware, load_board("nucleo_f746").firmware
    assert nucleo.services == ("engine", "metrics", "training") and nucleo.op_set == "full"
    assert nucleo.engine_pool is None and nucleo.fault_report and not nucleo.terse_errors
    assert uno.services == ("engine",) and set(uno.left_out) == {"metrics", "training"}
    assert uno.op_set == "minimal" and uno.engine_pool == 416 and uno.terse_errors and not uno.fault_report


def test_the_firmware_build_follows_the_board_file():
    from harness.build_config import firmware_config, services_left_out

    config = firmware_config(load_board("uno"), "qemu", "test")
    assert config.defines["ENGINE_POOL_SIZE"] == "416u" and config.defines["ENGINE_OPS_MINIMAL"] == 1
    assert config.defines["HIL_HAVE_METRICS"] == 0 and config.defines["ENGINE_TERSE_ERRORS"] == 1
    assert {"-<metrics/>", "-<training/>"} <= set(config.src_filter)
    assert set(services_left_out(load_board("uno"))) == {"metrics", "training"}
    full = firmware_config(load_board("netduinoplus2"), "qemu", "test")
    assert not {"ENGINE_POOL_SIZE", "ENGINE_OPS_MINIMAL", "HIL_HAVE_METRICS"} & set(full.defines)
    assert full.defines["HIL_EMULATED"] == 1
    assert firmware_config(load_board("netduinoplus2"), "none", "test").defines["HIL_EMULATED"] == 0


@pytest.mark.parametrize(
    "firmware, field",
    [
        ("firmware:\n  left_out: {radio: not built}\n", "firmware.left_out.radio"),
        ("firmware:\n  engine: {op_set: tiny}\n", "firmware.engine.op_set"),
        ("firmware:\n  engine: {pool: lots}\n", "firmware.engine.pool"),
        ("firmware:\n  fault_report: maybe\n", "firmware.fault_report"),
    ],
)
def test_a_malformed_firmware_section_names_the_field(tmp_path, firmware, field):
    (tmp_path / "netduinoplus2.yaml").write_text(GOOD.read_text() + firmware)
    with pytest.raises(BoardError, match=f"field '{field}'"):
        load_board("netduinoplus2", tmp_path)
