"""Stopping cleanly: SIGTERM and SIGHUP take the path Ctrl-C takes, and children die with us.

`hil` and the pytest plugin turn SIGTERM/SIGHUP into `Terminated`, a KeyboardInterrupt, so the
same `finally`/`with` blocks that stop QEMU and the reference workers on Ctrl-C run for a
`kill`, a CI job cancelled, or a closed terminal. `die_with_parent` is the second line: an
emulator started with it gets SIGTERM from the kernel when its parent dies, even by SIGKILL.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# What signal.signal() accepts and returns: a function, SIG_DFL / SIG_IGN, or None (not set from Python).
SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal; exit status 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    for other in STOP_SIGNALS:  # one signal starts the shutdown; more must not interrupt it
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


def install_stop_handlers() -> dict[int, SignalHandler]:
    """Makes SIGTERM/SIGHUP raise Terminated in the main thread; returns the previous handlers.
    Does nothing outside the main thread (Python delivers signals only there)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, SignalHandler] = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) == signal.SIG_IGN:  # e.g. nohup: the user wants it ignored
            continue
        previous[signum] = signal.signal(signum, _raise_terminated)
    return previous


def restore_handlers(previous: dict[int, SignalHandler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    previous = install_stop_handlers()
    try:
        yield
    finally:
        restore_handlers(previous)


def die_with_parent() -> Callable[[], None] | None:
    """A Popen `preexec_fn` that has the kernel send the child SIGTERM when this process dies
    (Linux prctl PR_SET_PDEATHSIG); None where that does not exist."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return set_parent_death_signal
