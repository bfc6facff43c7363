"""The `hil` command and the pytest plugin as a user meets them, in subprocesses."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def hil(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_unknown_board_lists_known_boards_and_exits_2():
    result = hil("ping", "--board", "nosuch")
    assert result.returncode == 2
    assert "unknown board 'nosuch'" in result.stderr and "nucleo_f746" in result.stderr
    assert "Traceback" not in result.stderr


def test_boards_json_shows_where_each_board_runs():
    rows = {row["name"]: row for row in json.loads(hil("boards", "--json").stdout)}
    assert "stand-in" in rows["nucleo_f746"]["available"]["qemu"]
    assert "no STM32F7" in rows["nucleo_f746"]["stand_in"]


def test_ping_prints_the_handshake_of_the_emulated_board():
    result = hil("ping", "--board", "nucleo_f746", "--emulator", "qemu", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["board"] == "nucleo_f746" and data["machine"] == "mps2-an500"
    assert data["protocol_version"] == 1 and data["timer_kind"] == "instructions"
    assert result.stderr == ""  # --json: no progress lines, stdout holds the data alone


def test_json_errors_are_one_json_object_on_stderr():
    result = hil("run", "--board", "nosuch", "--model", "x.tflite", "--json")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    error = json.loads(line)
    assert error["exit_status"] == 2 and error["type"] == "BoardError"
    assert error["error"].startswith("unknown board 'nosuch'")


def test_real_board_missing_fails_fast_with_advice():
    start = time.monotonic()
    result = hil("ping", "--board", "nucleo_f746", "--emulator", "none")
    assert result.returncode == 2
    assert "no nucleo_f746 board found" in result.stderr and "--emulator=qemu" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - start < 60


def _pytest(tmp_path, *options, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_pytest_without_an_attached_board_stops_at_the_first_device_test(tmp_path):
    (tmp_path / "test_needs_board.py").write_text(
        "def test_hello(dut):\n    assert dut.info\n\n"
        "def test_echo(dut):\n    assert dut.echo(b'x')\n\n"
        "def test_model(run_model):\n    run_model('model.tflite')\n"
    )
    start = time.monotonic()
    result = _pytest(tmp_path, "--board=nucleo_f746", "--emulator=none")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output  # as `hil`: the run could not be made
    assert output.count("no nucleo_f746 board found") == 1, output
    assert "During handling" not in output and "Traceback" not in output
    assert "test_echo" not in output and "test_model" not in output  # never started
    assert time.monotonic() - start < 60


def test_pytest_with_an_unknown_board_is_a_usage_error_said_once(tmp_path):
    (tmp_path / "test_needs_board.py").write_text("def test_hello(dut):\n    pass\n\ndef test_again(dut):\n    pass\n")
    result = _pytest(tmp_path, "--board=nosuch")
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # pytest's usage error
    assert output.count("unknown board 'nosuch'") == 1 and "nucleo_f746" in output
    assert "Traceback" not in output and "test_hello" not in output


def test_pytest_hil_timeout_must_be_positive(tmp_path):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = _pytest(tmp_path, "--hil-timeout=0")
    assert result.returncode == 4 and "--hil-timeout" in result.stderr and "Traceback" not in result.stderr


def test_junit_xml_records_board_and_build(tmp_path):
    (tmp_path / "test_board.py").write_text("def test_hello(dut):\n    assert dut.info.board\n")
    xml = tmp_path / "junit.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--board=netduinoplus2",
            "--emulator=qemu",
            "-p",
            "no:cacheprovider",
            f"--junitxml={xml}",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = xml.read_text()
    assert 'name="hil_board" value="netduinoplus2"' in text
    assert 'name="hil_emulator" value="qemu"' in text
    assert 'name="hil_firmware_build_id"' in text


def test_boards_marker_skips_other_boards(tmp_path):
    (tmp_path / "test_marker.py").write_text(
        "import pytest\n\n@pytest.mark.boards('uno')\ndef test_only_uno():\n    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "--board=nucleo_f746", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "only for boards uno" in result.stdout


def test_renode_runs_without_renode_are_skips_with_the_reason(tmp_path):
    if shutil.which("renode"):
        pytest.skip("Renode is installed here: the Renode tests run instead")
    (tmp_path / "test_board.py").write_text("def test_hello(dut):\n    assert dut.info\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "--board=nucleo_f746",
            "--emulator=renode",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout and "Renode is not installed" in result.stdout
