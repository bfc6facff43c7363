"""SIGTERM and SIGHUP become Terminated (a KeyboardInterrupt), so Ctrl-C's clean-up runs."""

import os
import signal

import pytest

from harness.shutdown import Terminated, die_with_parent, stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signals_raise_terminated_and_the_old_handlers_come_back(signum):
    before = signal.getsignal(signum)
    with pytest.raises(Terminated) as raised, stop_on_signals():
        os.kill(os.getpid(), signum)  # the handler runs as soon as kill() returns
        pytest.fail("no Terminated raised")
    assert isinstance(raised.value, KeyboardInterrupt)
    assert raised.value.exit_status == 128 + signum
    assert str(raised.value) == f"stopped by {signal.Signals(signum).name}"
    assert signal.getsignal(signum) == before


def test_a_signal_ignored_by_the_caller_stays_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_children_can_be_tied_to_this_process_on_linux():
    if os.uname().sysname != "Linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    assert callable(die_with_parent())
