"""Claiming a real board or a labgrid place for one session, from a pool of candidates.

Emulated boards need no claim: every session (every pytest-xdist worker) boots its own QEMU.
A real board is claimed through locks on each of its identities (its serial port, and its
probe's serial number when known), so a session that names the probe and one that names
the port of the same board exclude each other. (`hil flash` does not claim boards yet.) Several
candidates (several boards of one kind found by USB ID, `--port a,b`, `--lg-place p1,p2`) form a pool:
each session takes the first free one, which is how `pytest -n N` spreads its workers over the boards there are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from serial.tools import list_ports

from ..boards import Board
from ..errors import HarnessError
from ..targets.registry import capabilities
from ..targets.serial_port import resolve_port
from .lock import POLL_S, BoardBusy, BoardLock, lock_key

Say = Callable[[str], None]
LOCK_TIMEOUT_ENV = "HIL_LOCK_TIMEOUT"


@dataclass
class Candidate:
    """One board that could serve the session, and the identities to lock for it."""

    label: str
    keys: list[tuple[str, str]]  # (kind, name) pairs, e.g. ("port", "/dev/ttyACM0")
    port: str | None = None
    place: str | None = None


@dataclass
class Claim:
    """What a session holds until it closes: locks, and a labgrid place if there is one."""

    label: str
    port: str | None
    locks: list[BoardLock] = field(default_factory=list)
    release_hooks: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        for hook in reversed(self.release_hooks):
            hook()
        self.release_hooks.clear()
        for lock in reversed(self.locks):
            lock.release()
        self.locks.clear()


def default_lock_timeout() -> float:
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise HarnessError(f"${LOCK_TIMEOUT_ENV} must be a number of seconds, not {text!r}") from None


def split_pool(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def port_candidates(board: Board, port: str | None, probe_serial: str | None) -> list[Candidate]:
    """The real boards that may serve: the given port(s), else every port with the probe's USB IDs."""
    probe_keys = [("probe", probe_serial)] if probe_serial else []
    if port:
        return [Candidate(f"{board.name} on {p}", [("port", p), *probe_keys], port=p) for p in split_pool(port)]
    found = [
        info
        for info in list_ports.comports()
        if board.usb_vid is not None
        and info.vid == board.usb_vid
        and info.pid == board.usb_pid
        and (probe_serial is None or info.serial_number == probe_serial)
    ]
    if not found:
        resolve_port(board, None, probe_serial)  # raises the usual "no board found" message
    return [
        Candidate(
            f"{board.name} on {info.device}",
            [("port", info.device)] + ([("probe", info.serial_number)] if info.serial_number else []),
            port=info.device,
        )
        for info in sorted(found, key=lambda i: i.device)
    ]


def _lock_all(candidate: Candidate) -> list[BoardLock] | None:
    """Locks every identity of the candidate, or none of them."""
    locks: list[BoardLock] = []
    for kind, name in sorted(candidate.keys):  # one order everywhere: no deadlock between sessions
        lock = BoardLock(lock_key(kind, name), what=f"{candidate.label} ({kind} {name})")
        if not lock.try_acquire():
            for held in locks:
                held.release()
            return None
        locks.append(lock)
    return locks


def _busy_text(candidates: list[Candidate]) -> str:
    """Who holds each candidate ("held by pid ... of user@host since ... (command)")."""
    holders = []
    for candidate in candidates:
        for kind, name in sorted(candidate.keys):
            lock = BoardLock(lock_key(kind, name), what=candidate.label)
            if not lock.try_acquire():
                prefix = f"{candidate.label}: " if len(candidates) > 1 else ""
                holders.append(f"{prefix}held by {lock.holder_text()}")
                break
            lock.release()
    return "; ".join(holders) or "held by other sessions"


def claim_first_free(
    candidates: list[Candidate], timeout: float, say: Say | None = None
) -> tuple[Candidate, list[BoardLock]]:
    """Takes the first free candidate, waiting up to `timeout` s; else BoardBusy naming the holders."""
    deadline = time.monotonic() + max(timeout, 0.0)
    told = False
    while True:
        for candidate in candidates:
            locks = _lock_all(candidate)
            if locks is not None:
                return candidate, locks
        if time.monotonic() >= deadline:
            what = (
                f"{candidates[0].label} is" if len(candidates) == 1 else f"all {len(candidates)} boards of the pool are"
            )
            waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
            raise BoardBusy(
                f"{what} busy{waited}: {_busy_text(candidates)}. "
                "Pass --lock-timeout SECONDS to wait for it, or choose another board"
            )
        if say and not told:
            say(f"waiting up to {timeout:g} s for a free board: {_busy_text(candidates)}")
            told = True
        time.sleep(POLL_S)


def claim_board(
    board: Board,
    emulator: str,
    port: str | None = None,
    probe_serial: str | None = None,
    place: str | None = None,
    coordinator: str | None = None,
    lock_timeout: float | None = None,
    say: Say | None = None,
) -> Claim | None:
    """Claims what the session will use; None for an emulated board (nothing shared).

    `lock_timeout`: seconds to wait for a busy board; None means $HIL_LOCK_TIMEOUT, else 0 (fail at once).
    """
    lock_timeout = default_lock_timeout() if lock_timeout is None else lock_timeout
    if place:
        from .labgrid import claim_place  # labgrid is optional: imported only for places

        return claim_place(split_pool(place), coordinator, lock_timeout, say)
    if not capabilities(board, emulator).needs_claim:
        return None
    candidate, locks = claim_first_free(port_candidates(board, port, probe_serial), lock_timeout, say)
    return Claim(candidate.label, candidate.port, locks)
