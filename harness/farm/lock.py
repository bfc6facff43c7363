"""One test session per board: OS file locks in a shared lock directory.

A board (a serial port, a probe's serial number, a labgrid place) is held through
`fcntl.flock` on `<lock dir>/<key>.lock`. The kernel drops the lock when its holder exits,
however it exits (a crash, `kill -9`), so a dead session never keeps a board. Beside the
lock, `<key>.holder.json` names the holder (pid, user, host, command, since) for the
message the next session shows while it waits or gives up.

Lock directory: $HIL_LOCK_DIR, else ~/.cache/hil/locks. Sessions of several users share
boards only when they share the directory (e.g. HIL_LOCK_DIR=/var/lock/hil, mode 1777).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import TargetError

LOCK_DIR_ENV = "HIL_LOCK_DIR"
POLL_S = 0.1


class BoardBusy(TargetError):
    """The board is held by another session (and stayed so until the lock timeout)."""


def lock_dir() -> Path:
    configured = os.environ.get(LOCK_DIR_ENV)
    path = Path(configured) if configured else Path.home() / ".cache" / "hil" / "locks"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(f"cannot create the board lock directory {path} (${LOCK_DIR_ENV}): {exc}") from None
    return path


def lock_key(kind: str, name: str) -> str:
    """A file name for one board identity, e.g. ("port", "/dev/ttyACM0") -> port-dev-ttyACM0."""
    if kind == "port" and not re.match(r"^[a-z0-9+]+://", name):
        name = os.path.realpath(name)  # /dev/serial/by-id/... and /dev/ttyACM0 are one board
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_.+-]+", "-", name).strip("-")


@dataclass(frozen=True)
class Holder:
    """Who holds a board, as written beside its lock."""

    pid: int
    user: str
    host: str
    command: str
    since: float  # epoch seconds

    @classmethod
    def this_process(cls) -> Holder:
        return cls(os.getpid(), _user(), socket.gethostname(), " ".join(sys.argv)[:300], time.time())

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} of {self.user}@{self.host} since {since} ({self.command})"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class BoardLock:
    """An exclusive, process-lifetime lock on one board identity."""

    def __init__(self, key: str, what: str | None = None, directory: Path | None = None):
        self.key = key
        self.what = what or key  # how messages name the board
        self.directory = directory or lock_dir()
        self.path = self.directory / f"{key}.lock"
        self.holder_path = self.directory / f"{key}.holder.json"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Takes the lock if it is free; never waits."""
        if self._fd is not None:
            return True
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        self._write_holder()
        return True

    def acquire(self, timeout: float = 0.0, on_wait=None) -> None:
        """Waits up to `timeout` seconds (0: fail at once) and raises BoardBusy naming the holder."""
        deadline = time.monotonic() + max(timeout, 0.0)
        told = False
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise BoardBusy(self.busy_message(timeout))
            if on_wait and not told:
                on_wait(f"{self.what} is busy: held by {self.holder_text()}; waiting up to {timeout:g} s")
                told = True
            time.sleep(POLL_S)

    def release(self) -> None:
        if self._fd is None:
            return
        try:  # the holder file goes first, while we still own the board
            self.holder_path.unlink(missing_ok=True)
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self.holder_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def holder_text(self) -> str:
        holder = self.holder()
        return holder.describe() if holder else "another session (no holder information)"

    def busy_message(self, timeout: float) -> str:
        waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
        return (
            f"{self.what} is busy{waited}: held by {self.holder_text()}. "
            f"Wait for it, pass --lock-timeout SECONDS to queue, or choose another board"
        )

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:  # another user's lock file: reading is enough for flock
            return os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise TargetError(f"cannot open the lock file {self.path}: {exc}") from None

    def _write_holder(self) -> None:
        text = json.dumps(asdict(Holder.this_process()))
        temporary = self.holder_path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_text(text)
            os.replace(temporary, self.holder_path)
        except OSError:
            pass  # the lock is what counts; the holder file only explains it

    def __enter__(self) -> BoardLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)
