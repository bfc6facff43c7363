"""labgrid places: reserve, acquire, reach the serial port over RFC 2217, release.

The harness drives labgrid (>= 24, the gRPC coordinator) through its own `labgrid-client`
command line, the interface labgrid keeps stable, run with this Python so the installed
labgrid is the one used. A place is claimed in two layers:
  1. a local file lock (harness.farm.lock), so sessions on this machine queue with a message
     naming the holder's pid and command;
  2. a labgrid reservation (`reserve name=PLACE`, fair across machines) and `acquire`, so
     sessions elsewhere are excluded; the coordinator names the holder as host/user.
Released in reverse order when the session closes. A session that dies loses its local lock
at once; labgrid keeps the place acquired, so the next session here clears the dead one's
acquisition and reservation (see PlaceSession). Each step is one `labgrid-client` run, about a
second each: claiming a place takes a few seconds.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import TargetError
from .claim import Candidate, Claim, claim_first_free
from .lock import BoardBusy

DEFAULT_COORDINATOR = "127.0.0.1:20408"
COMMAND_TIMEOUT_S = 30.0
CLIENT_START_S = 10.0
RESOURCE_HEADER = re.compile(r"^Acquired resource '([^']+)' \(([^/]+)/([^/]+)/([^/]+)/([^)]+)\):$")

Say = Callable[[str], None]


class LabgridError(TargetError):
    """labgrid refused or failed a step (no coordinator, unknown place, no serial port...)."""


@dataclass(frozen=True)
class PlaceResource:
    name: str
    cls: str
    params: dict


def this_host_and_user() -> str:
    """How labgrid names this session's owner in `acquired: HOST/USER`."""
    from labgrid.util.helper import get_user

    return f"{socket.gethostname()}/{get_user()}"


def coordinator_address(coordinator: str | None) -> str:
    return coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


class LabgridClient:
    """`labgrid-client -x COORDINATOR ...`, one command per call, errors as one line."""

    def __init__(self, coordinator: str | None = None):
        if importlib.util.find_spec("labgrid") is None:
            raise LabgridError("labgrid places need labgrid: pip install 'hil-harness[farm]' (labgrid >= 24)")
        self.coordinator = coordinator_address(coordinator)

    def run(self, *args: str, place: str | None = None, timeout: float = COMMAND_TIMEOUT_S) -> str:
        command = [sys.executable, "-m", "labgrid.remote.client", "-x", self.coordinator]
        command += ["-p", place] if place else []
        try:
            result = subprocess.run(
                command + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise LabgridError(
                f"labgrid-client {' '.join(args)} did not finish within {timeout:g} s (coordinator {self.coordinator})"
            ) from None
        if result.returncode != 0:
            raise LabgridError(
                f"labgrid-client {' '.join(args)}{f' (place {place})' if place else ''} "
                f"failed at {self.coordinator}: {_last_line(result)}"
            )
        return result.stdout

    def acquired_by(self, place: str) -> str | None:
        """host/user holding the place, or None; LabgridError if there is no place of that name."""
        try:
            text = self.run("show", place=place)
        except LabgridError as exc:
            if "matches nothing" not in str(exc):
                raise
            text = ""
        shown = re.search(r"^Place '([^']+)':", text, re.MULTILINE)
        if not shown or shown.group(1) != place:  # labgrid also matches names by substring
            names = [line.split()[0] for line in self.run("places").splitlines() if line.strip()]
            raise LabgridError(
                f"labgrid place {place} does not exist at {self.coordinator} "
                f"(places there: {', '.join(names) or 'none'})"
            )
        match = re.search(r"^\s*acquired: (.+)$", text, re.MULTILINE)
        holder = match.group(1).strip() if match else "None"
        return None if holder == "None" else holder

    def resources(self, place: str) -> list[PlaceResource]:
        """The resources of an acquired place, parsed from `labgrid-client show`."""
        found: list[PlaceResource] = []
        lines = self.run("show", place=place).splitlines()
        for index, line in enumerate(lines):
            header = RESOURCE_HEADER.match(line.strip())
            if not header:
                continue
            body = []
            for follow in lines[index + 1 :]:
                if not follow.startswith("  ") or RESOURCE_HEADER.match(follow.strip()):
                    break
                body.append(follow.strip())
            data = ast.literal_eval(" ".join(body))  # labgrid prints pformat(resource.asdict())
            found.append(PlaceResource(header.group(1), data.get("cls", header.group(4)), data.get("params", {})))
        return found


def _last_line(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr + result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def serial_url(resources: list[PlaceResource], place: str) -> str:
    """The pyserial URL of the place's (single) network serial port."""
    ports = [r for r in resources if r.cls == "NetworkSerialPort"]
    if not ports:
        classes = ", ".join(sorted({r.cls for r in resources})) or "none"
        raise LabgridError(f"labgrid place {place} has no NetworkSerialPort (its resources: {classes})")
    params = ports[0].params
    if params.get("protocol") == "raw":
        return f"socket://{params['host']}:{params['port']}"
    _require_labgrids_pyserial()
    # ser2net answers SET_CONTROL in its own way: ignore those answers, as labgrid's SerialDriver does
    return f"rfc2217://{params['host']}:{params['port']}?ign_set_control"


def _require_labgrids_pyserial() -> None:
    """pyserial's own RFC 2217 client renegotiates the port at every timeout change, which the
    harness makes at every read; labgrid's fork (pyserial-labgrid) does not. Both install `serial`."""
    import importlib.metadata

    import serial

    try:
        fork = importlib.metadata.version("pyserial-labgrid")
    except importlib.metadata.PackageNotFoundError:
        fork = None
    if serial.__version__ != fork:
        raise LabgridError(
            f"the installed `serial` package is pyserial {serial.__version__}, not labgrid's fork, whose RFC 2217 "
            "client the harness needs: pip install --no-deps --force-reinstall pyserial-labgrid"
        )


class PlaceSession:
    """One place reserved and acquired for this session.

    The reservation token is kept in a file beside the place's local lock while the session
    holds it: a session that died leaves the file behind, and the next one, holding the lock,
    knows that the acquisition and reservation it finds are leftovers and clears them.
    """

    def __init__(self, client: LabgridClient, place: str, token_path: Path):
        self.client, self.place, self.token_path = client, place, token_path
        self.token: str | None = None
        self.acquired = False

    def claim(self, timeout: float, remaining: float, say: Say | None = None) -> None:
        """Waits at most `remaining` of the session's `timeout` seconds (which messages name)."""
        holder = self._clear_what_a_dead_session_left(say)
        if holder and timeout <= 0:  # fail fast without queueing
            raise BoardBusy(self._busy(f"acquired by {holder}", timeout))
        reply = self.client.run("reserve", "--shell", f"name={self.place}")
        match = re.search(r"LG_TOKEN=(\S+)", reply)
        if not match:
            raise LabgridError(f"labgrid-client reserve gave no token for place {self.place}: {reply.strip()}")
        self.token = match.group(1)
        self.token_path.write_text(self.token)
        try:  # the budget includes labgrid-client's own start (about a second, more under load)
            self.client.run("wait", self.token, timeout=remaining + CLIENT_START_S)
        except LabgridError:
            holder = self._holder_text()
            self.release()
            raise BoardBusy(self._busy(holder, timeout)) from None
        self.client.run("acquire", place=self.place)
        self.acquired = True

    def _busy(self, holder: str, timeout: float) -> str:
        waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
        return (
            f"labgrid place {self.place} is busy{waited}: {holder}. "
            "Pass --lock-timeout SECONDS to wait for it, or choose another place"
        )

    def _clear_what_a_dead_session_left(self, say: Say | None) -> str | None:
        """Returns who holds the place now (host/user), after clearing a dead session's hold."""
        holder = self.client.acquired_by(self.place)
        try:
            token = self.token_path.read_text().strip()
        except OSError:
            return holder  # the last session here released the place properly
        if say:
            say(f"labgrid place {self.place}: clearing what a session that ended left (reservation {token})")
        if holder == this_host_and_user():
            _quietly(lambda: self.client.run("release", place=self.place))
            holder = None
        _quietly(lambda: self.client.run("cancel-reservation", token))
        self.token_path.unlink(missing_ok=True)
        return holder

    def _holder_text(self) -> str:
        try:
            holder = self.client.acquired_by(self.place)
        except LabgridError as exc:
            return f"holder unknown ({exc})"
        return f"acquired by {holder}" if holder else "reserved by another session"

    def release(self) -> None:
        if self.acquired:
            self.acquired = False
            _quietly(lambda: self.client.run("release", place=self.place))
        if self.token:
            token, self.token = self.token, None
            _quietly(lambda: self.client.run("cancel-reservation", token))
            self.token_path.unlink(missing_ok=True)


def _quietly(step: Callable[[], object]) -> None:
    """Cleanup goes on past a failing step: the coordinator may already be gone."""
    try:
        step()
    except LabgridError as exc:
        print(f"hil: {exc}", file=sys.stderr)


def claim_place(places: list[str], coordinator: str | None, timeout: float, say: Say | None = None) -> Claim:
    """Locks, reserves and acquires the first free place of `places`; the Claim carries its serial URL."""
    client = LabgridClient(coordinator)
    deadline = time.monotonic() + max(timeout, 0.0)
    candidates = [
        Candidate(f"labgrid place {name}", [("place", f"{client.coordinator}/{name}")], place=name) for name in places
    ]
    candidate, locks = claim_first_free(candidates, timeout, say)
    claim = Claim(candidate.label, None, locks)
    place = candidate.place
    assert place is not None  # every candidate above is a place
    place_lock = locks[0]
    session = PlaceSession(client, place, place_lock.directory / f"{place_lock.key}.labgrid-token")
    claim.release_hooks.append(session.release)
    try:
        session.claim(timeout, max(deadline - time.monotonic(), 0.0), say)
        claim.port = serial_url(client.resources(place), place)
    except BaseException:
        claim.release()
        raise
    if say:
        say(f"acquired {candidate.label} at {client.coordinator}: serial {claim.port}")
    return claim
