"""Not collected by the suite: tests/farm runs it as separate pytest sessions (other users).

test_hold_the_board  takes the board through the `dut` fixture and, when $HIL_PROBE_DIR is set,
                     says so (a `ready-<pid>` file) and keeps it until a `release` file appears.
test_echo            a few short tests, for pytest -n 2 to spread over its workers.
"""

import os
import time
from pathlib import Path

import pytest

HOLD_AT_MOST_S = 120.0


def test_hold_the_board(dut):
    assert dut.echo(b"held") == b"held"
    signals = os.environ.get("HIL_PROBE_DIR")
    if not signals:
        return
    Path(signals, f"ready-{os.getpid()}").write_text(dut.claim.label if dut.claim else "emulated")
    deadline = time.monotonic() + HOLD_AT_MOST_S
    while not Path(signals, "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dut.echo(b"still mine") == b"still mine"


@pytest.mark.parametrize("n", range(4))
def test_echo(dut, n):
    assert dut.echo(bytes([n]) * 64) == bytes([n]) * 64
