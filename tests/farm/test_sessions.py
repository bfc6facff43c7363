"""Sessions sharing boards, each a separate pytest process as a colleague's would be.

The shared "real" board is the firmware in QEMU reached only through its UART's socket URL
(`--emulator none --hil-port socket://...`): to the harness it is a board on a port, locked as one.
"""

from __future__ import annotations

import os
import re
import signal
import time
import xml.etree.ElementTree as ElementTree

import pytest

from harness.boards import load_board
from harness.build import build
from harness.targets.qemu import QemuTarget


@pytest.fixture
def board_url():
    board = load_board("nucleo_f746")
    emulated = QemuTarget(board, board.variant("qemu"), build(board, "qemu"))
    try:
        yield emulated.launch()
    finally:
        emulated.stop()


def test_second_session_fails_naming_the_holder_then_gets_the_board_when_the_first_is_killed(sessions, board_url):
    first = sessions.start("-k", "hold", "--emulator=none", f"--hil-port={board_url}")
    sessions.wait_until_holding(first)

    status, output = sessions.run(
        "-k", "hold", "--emulator=none", f"--hil-port={board_url}", "--lock-timeout=1", env={"HIL_PROBE_DIR": ""}
    )
    assert status == 1, output
    assert re.search(
        rf"nucleo_f746 on {re.escape(board_url)} is busy after waiting 1 s: held by pid {first.pid} "
        r"of \S+@\S+ since [0-9-]+ [0-9:]+ \(.*pytest.*\)",
        output,
    ), output

    waiting = sessions.start(
        "-k", "hold", "--emulator=none", f"--hil-port={board_url}", "--lock-timeout=90", env={"HIL_PROBE_DIR": ""}
    )
    time.sleep(1.0)
    assert waiting.poll() is None, "the second session should wait for the board"
    os.kill(first.pid, signal.SIGKILL)  # a session that dies without closing anything
    status, output = sessions.finish(waiting)
    assert status == 0, output
    assert "1 passed" in output


def test_a_session_waiting_within_its_timeout_runs_after_the_holder_finishes(sessions, board_url):
    first = sessions.start("-k", "hold", "--emulator=none", f"--hil-port={board_url}")
    sessions.wait_until_holding(first)
    waiting = sessions.start(
        "-k", "hold", "--emulator=none", f"--hil-port={board_url}", "--lock-timeout=90", env={"HIL_PROBE_DIR": ""}
    )
    time.sleep(1.0)
    sessions.let_go()
    assert sessions.finish(first)[0] == 0
    status, output = sessions.finish(waiting)
    assert status == 0, output


def test_two_workers_run_on_two_emulated_boards_and_both_are_reported(sessions, tmp_path):
    junit = tmp_path / "junit.xml"
    status, output = sessions.run(
        "-k", "echo", "-n", "2", "--emulator=qemu", f"--junitxml={junit}", env={"HIL_PROBE_DIR": ""}
    )
    assert status == 0, output
    assert "hil board instances: 2" in output, output
    instances = re.findall(
        r"^(gw[01]): nucleo_f746 qemu mps2-an500 at socket://127\.0\.0\.1:(\d+): (\d+) passed$", output, re.MULTILINE
    )
    assert sorted(worker for worker, _, _ in instances) == ["gw0", "gw1"], output
    assert instances[0][1] != instances[1][1]  # two QEMU instances, two UARTs
    assert sum(int(passed) for _, _, passed in instances) == 4

    recorded = {
        prop.get("value").split(":")[0]
        for prop in ElementTree.parse(junit).iter("property")
        if prop.get("name") == "hil_board_instance"
    }
    assert recorded == {"gw0", "gw1"}
