"""The exact commands that write a packed model into a real board's flash model slot (no board
can be attached here, so the command lines are what is tested; the firmware side is
tests/device/test_model_slot_files.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.boards import load_board
from harness.errors import TargetError
from harness.shared_models import SHARED_MODELS
from harness.targets import flash as flash_module
from harness.targets.flash import intel_hex, model_flash_command, require_flasher, write_slot_files

IMAGE = bytes(range(256)) * 3 + b"\x01\x02\x03"


def _parse_hex(text: str) -> dict[int, int]:
    """address -> byte of an Intel HEX file (data and extended linear address records), checking
    every record's checksum."""
    memory, upper = {}, 0
    for line in text.split():
        body = bytes.fromhex(line[1:])
        assert sum(body) & 0xFF == 0, f"bad checksum: {line}"
        count, offset, kind, data = body[0], int.from_bytes(body[1:3], "big"), body[3], body[4:-1]
        assert len(data) == count
        if kind == 4:
            upper = int.from_bytes(data, "big") << 16
        elif kind == 0:
            memory.update({upper + offset + i: b for i, b in enumerate(data)})
    return memory


def test_intel_hex_carries_the_slot_address_across_64k_pages():
    memory = _parse_hex(intel_hex(IMAGE, 0x0800FFF0))
    assert memory == {0x0800FFF0 + i: b for i, b in enumerate(IMAGE)}


@pytest.mark.parametrize(
    "probe, expected",
    [
        (None, ["st-flash", "--reset", "write", "{model_bin}", "0x08040000"]),
        ("0669FF37", ["st-flash", "--serial", "0669FF37", "--reset", "write", "{model_bin}", "0x08040000"]),
    ],
)
def test_nucleo_f746_writes_the_slot_with_st_flash_at_its_address(tmp_path, probe, expected):
    board = load_board("nucleo_f746")
    files = write_slot_files(board, IMAGE, tmp_path)
    assert files["model_bin"].read_bytes() == IMAGE
    assert model_flash_command(board, files, probe, None) == [a.format(**files) for a in expected]


def test_netduinoplus2_writes_the_slot_with_st_flash():
    board = load_board("netduinoplus2")
    files = {"model_bin": "m.bin", "model_hex": "m.hex"}
    assert model_flash_command(board, files, None, None) == ["st-flash", "--reset", "write", "m.bin", "0x08040000"]


def test_uno_writes_the_slot_as_intel_hex_with_avrdude_without_erasing(tmp_path):
    board = load_board("uno")
    files = write_slot_files(board, IMAGE[:1000], tmp_path)
    command = model_flash_command(board, files, None, "/dev/ttyACM0")
    assert command == [
        "avrdude",
        "-p",
        "atmega328p",
        "-c",
        "arduino",
        "-P",
        "/dev/ttyACM0",
        "-b",
        "115200",
        "-D",
        "-U",
        f"flash:w:{files['model_hex']}:i",
    ]
    assert _parse_hex(files["model_hex"].read_text()) == {0x6E00 + i: b for i, b in enumerate(IMAGE[:1000])}


def test_nano33ble_writes_the_slot_with_bossac_at_its_offset_without_erasing():
    board = load_board("nano33ble")
    command = model_flash_command(board, {"model_bin": "m.bin", "model_hex": "m.hex"}, None, "/dev/ttyACM1")
    assert command == ["bossac", "--port=/dev/ttyACM1", "-U", "-i", "--offset=0x70000", "-w", "m.bin", "-R"]
    assert "-e" not in command


def test_a_model_bigger_than_the_slot_is_refused(tmp_path):
    with pytest.raises(TargetError, match="does not fit uno's model slot of 4096 bytes"):
        write_slot_files(load_board("uno"), bytes(4097), tmp_path)


def test_flash_model_runs_the_command_and_finds_the_port_again(monkeypatch):
    board = load_board("nucleo_f746")
    ran = []
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(
        flash_module.subprocess,
        "run",
        lambda command, **kw: ran.append(command) or subprocess.CompletedProcess(command, 0, "", ""),
    )
    monkeypatch.setattr(flash_module, "wait_for_port", lambda board, probe: "/dev/ttyACM3")
    assert flash_module.flash_model(board, IMAGE, "ABC") == "/dev/ttyACM3"
    (command,) = ran
    assert command[:5] == ["st-flash", "--serial", "ABC", "--reset", "write"] and command[6] == "0x08040000"
    with open(command[5], "rb") as written:
        assert written.read() == IMAGE


def test_a_missing_flasher_is_named_before_anything_is_built(monkeypatch):
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: None)
    with pytest.raises(TargetError, match="needs st-flash, which is not installed: apt-get install stlink-tools"):
        require_flasher(load_board("nucleo_f746"), model=True)


@pytest.mark.skipif(not (SHARED_MODELS / "mlperf_tiny/vww_96_int8.tflite").is_file(), reason="shared models")
def test_hil_flash_with_a_model_refuses_without_the_flasher_before_building(tmp_path):
    env = {"PATH": str(tmp_path), "PYTHONPATH": ":".join(sys.path)}  # no st-flash on this PATH
    for argv in (
        ["flash", "--board", "nucleo_f746", "--model"],
        ["run", "--board", "nucleo_f746", "--emulator", "none", "--model"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", *argv, str(SHARED_MODELS / "mlperf_tiny/vww_96_int8.tflite")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 2, done.stderr
        assert "needs st-flash, which is not installed" in done.stderr
        assert "building" not in done.stderr and "Traceback" not in done.stderr
