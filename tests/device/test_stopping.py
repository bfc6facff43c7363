"""SIGTERM and SIGHUP stop `hil` and a pytest session as Ctrl-C does: the emulator (QEMU) and the
reference workers go with them (a cancelled CI job or a closed terminal used to leave QEMU running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
BOOT_WAIT_S = 300  # includes an incremental firmware build on a loaded machine
EMULATOR_PROGRAMS = ("qemu-system", "renode")  # how an emulated target's process is told apart


def _descendants(pid: int) -> dict[int, str]:
    """Every live descendant of `pid`: {pid: command line}."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":  # a zombie has finished
                parents[int(entry.name)] = int(fields[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = _cmdline(child)
                frontier.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_emulator(process: subprocess.Popen) -> dict[int, str]:
    """The process's descendants once an emulator is among them (and has run for a moment)."""
    deadline = time.monotonic() + BOOT_WAIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before the emulator started: {process.communicate()}")
        children = _descendants(process.pid)
        if any(program in line for line in children.values() for program in EMULATOR_PROGRAMS):
            time.sleep(2)  # let it get going: inferences running, the reference worker started
            return _descendants(process.pid)
        time.sleep(0.2)
    process.kill()
    pytest.fail("no emulator started")


def _assert_all_stopped(children: dict[int, str]) -> None:
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = {pid: line for pid, line in children.items() if _alive(pid)}
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)  # leave the machine clean even when the test fails
    assert not survivors, f"still running after their parent stopped: {survivors}"


@pytest.fixture
def emulated(hil_options) -> tuple[str, str]:
    """The board and emulator under test, for a `hil` or pytest that starts its own instance."""
    hil_options.require("emulated", why="starts its own emulator")
    if not HELLO.exists():
        pytest.skip("shared models not available")
    return hil_options.board, hil_options.emulator


def test_sigterm_stops_hil_run_and_its_qemu_and_workers(emulated):
    board, emulator = emulated
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--board",
            board,
            "--emulator",
            emulator,
            "--model",
            str(HELLO),
            "--inputs",
            "1000000",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children = _wait_for_emulator(process)
    assert any("harness.reference" in line for line in children.values()), children
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "stopped by SIGTERM" and "Traceback" not in err
    _assert_all_stopped(children)


def test_sighup_to_a_pytest_session_stops_its_qemu(emulated, tmp_path):
    """SIGHUP here, SIGTERM above: both take the same path (tests/unit/test_shutdown.py)."""
    (tmp_path / "test_waits.py").write_text("import time\n\ndef test_waits_on_the_board(dut):\n    time.sleep(600)\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--board={emulated[0]}",
            f"--emulator={emulated[1]}",
            str(tmp_path),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children = _wait_for_emulator(process)
    process.send_signal(signal.SIGHUP)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out  # as for Ctrl-C
    _assert_all_stopped(children)
