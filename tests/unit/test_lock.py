"""Board locks across processes: one holder, the holder named, freed when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.errors import HarnessError
from harness.farm.claim import Candidate, claim_first_free, default_lock_timeout
from harness.farm.lock import BoardBusy, BoardLock, lock_key

HOLDER = textwrap.dedent("""\
    import sys, time
    from harness.farm.lock import BoardLock
    lock = BoardLock(sys.argv[1])
    lock.acquire(timeout=float(sys.argv[3]))
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
""")


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))
    return tmp_path / "locks"


def start_holder(key: str, seconds: float = 60.0, wait: float = 0.0) -> subprocess.Popen:
    """Another session: a process that takes the lock and keeps it for `seconds`."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, key, str(seconds), str(wait)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_free_board_is_taken_and_released():
    lock = BoardLock("port-dev-ttyACM0")
    lock.acquire()
    assert lock.held and lock.holder().pid == os.getpid()
    lock.release()
    assert not lock.held and lock.holder() is None
    with BoardLock("port-dev-ttyACM0") as again:
        assert again.held


def test_a_busy_board_fails_at_once_naming_the_holder():
    holder = start_holder("port-dev-ttyACM0")
    try:
        with pytest.raises(BoardBusy) as caught:
            BoardLock("port-dev-ttyACM0", what="nucleo_f746 on /dev/ttyACM0").acquire(timeout=0)
        message = str(caught.value)
        assert message.startswith("nucleo_f746 on /dev/ttyACM0 is busy: held by pid ")
        assert f"pid {holder.pid} of " in message and "since " in message and "-c" in message
        assert caught.value.exit_status == 2
    finally:
        stop(holder)


def test_waiting_gives_up_after_the_lock_timeout():
    holder = start_holder("probe-0670FF")
    try:
        start = time.monotonic()
        with pytest.raises(BoardBusy, match=rf"busy after waiting 0.5 s: held by pid {holder.pid} "):
            BoardLock("probe-0670FF").acquire(timeout=0.5)
        assert time.monotonic() - start >= 0.5
    finally:
        stop(holder)


def test_a_waiting_session_gets_the_board_when_the_holder_ends():
    holder = start_holder("port-dev-ttyACM1", seconds=1.0)
    try:
        waits = []
        lock = BoardLock("port-dev-ttyACM1")
        lock.acquire(timeout=30, on_wait=waits.append)
        assert holder.wait(timeout=5) == 0
        assert lock.holder().pid == os.getpid()
        assert len(waits) == 1 and f"held by pid {holder.pid}" in waits[0]
        lock.release()
    finally:
        stop(holder)


def test_killing_the_holder_frees_the_board():
    holder = start_holder("place-rack1")
    try:
        with pytest.raises(BoardBusy):
            BoardLock("place-rack1").acquire(timeout=0)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        lock = BoardLock("place-rack1")
        lock.acquire(timeout=0)  # the kernel dropped the dead holder's lock
        assert lock.holder().pid == os.getpid()
        lock.release()
    finally:
        stop(holder)


def test_a_pool_hands_out_the_first_free_board_and_names_every_holder_when_all_are_busy():
    first = start_holder(lock_key("port", "/dev/ttyACM0"))
    try:
        pool = [
            Candidate("f746 on /dev/ttyACM0", [("port", "/dev/ttyACM0")], port="/dev/ttyACM0"),
            Candidate("f746 on /dev/ttyACM1", [("port", "/dev/ttyACM1")], port="/dev/ttyACM1"),
        ]
        chosen, locks = claim_first_free(pool, timeout=0)
        assert chosen.port == "/dev/ttyACM1"
        second = start_holder(lock_key("port", "/dev/ttyACM2"))
        try:
            pool[1:] = [Candidate("f746 on /dev/ttyACM2", [("port", "/dev/ttyACM2")], port="/dev/ttyACM2")]
            with pytest.raises(
                BoardBusy, match=rf"all 2 boards of the pool are busy: .*pid {first.pid} .*pid {second.pid} "
            ):
                claim_first_free(pool, timeout=0)
        finally:
            stop(second)
        for lock in locks:
            lock.release()
    finally:
        stop(first)


def test_a_board_is_locked_through_all_its_identities_or_none():
    """A session holding the probe keeps out a session that names the port of the same board."""
    holder = start_holder(lock_key("probe", "066DFF"))
    try:
        board = Candidate("f746", [("port", "/dev/ttyACM0"), ("probe", "066DFF")])
        with pytest.raises(BoardBusy, match=f"pid {holder.pid}"):
            claim_first_free([board], timeout=0)
        BoardLock(lock_key("port", "/dev/ttyACM0")).acquire(timeout=0)  # the port lock was given back
    finally:
        stop(holder)


def test_lock_keys_name_one_board_once(tmp_path):
    alias = tmp_path / "usb-STMicroelectronics_STM32_STLink-if02"
    alias.symlink_to("/dev/null")
    assert lock_key("port", str(alias)) == lock_key("port", "/dev/null") == "port-dev-null"
    assert lock_key("port", "rfc2217://lab1:4001") == "port-rfc2217-lab1-4001"
    assert lock_key("place", "127.0.0.1:20408/rack 1") == "place-127.0.0.1-20408-rack-1"


def test_lock_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("HIL_LOCK_TIMEOUT", raising=False)
    assert default_lock_timeout() == 0.0
    monkeypatch.setenv("HIL_LOCK_TIMEOUT", "30")
    assert default_lock_timeout() == 30.0
    monkeypatch.setenv("HIL_LOCK_TIMEOUT", "soon")
    with pytest.raises(HarnessError, match=r"\$HIL_LOCK_TIMEOUT must be a number of seconds, not 'soon'"):
        default_lock_timeout()


def test_an_unusable_lock_directory_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HIL_LOCK_DIR", str(blocker / "locks"))
    with pytest.raises(HarnessError, match="cannot create the board lock directory"):
        BoardLock("port-x")
