"""Helpers for tests that run whole pytest sessions as subprocesses, as other users would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("session_probe.py")
SESSION_TIMEOUT_S = 180.0


class Sessions:
    """Starts pytest sessions on session_probe.py; kills whatever is left at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.signals = workdir / "signals"
        self.signals.mkdir()
        self.env = {**os.environ, "HIL_LOCK_DIR": str(workdir / "locks"), "HIL_PROBE_DIR": str(self.signals)}
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.env.pop("PYTEST_ADDOPTS", None)
        self._started: list[subprocess.Popen] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        command = [sys.executable, "-m", "pytest", str(PROBE), "-q", "-s", "--board=nucleo_f746", *args]
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env={**self.env, **(env or {})},
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._started.append(process)
        return process

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        process = self.start(*args, env=env)
        try:
            output, _ = process.communicate(timeout=SESSION_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"pytest session did not finish within {SESSION_TIMEOUT_S:g} s:\n{output}")
        return process.returncode, output

    def wait_until_holding(self, process: subprocess.Popen, timeout: float = 120.0) -> str:
        ready = self.signals / f"ready-{process.pid}"
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if process.poll() is not None:
                pytest.fail(f"the holding session ended (status {process.returncode}):\n{process.stdout.read()}")
            if time.monotonic() > deadline:
                pytest.fail("the holding session did not take the board in time")
            time.sleep(0.05)
        return ready.read_text()

    def let_go(self) -> None:
        (self.signals / "release").write_text("")

    def finish(self, process: subprocess.Popen) -> tuple[int, str]:
        output, _ = process.communicate(timeout=SESSION_TIMEOUT_S)
        return process.returncode, output

    def kill_all(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[Sessions]:
    started = Sessions(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()
