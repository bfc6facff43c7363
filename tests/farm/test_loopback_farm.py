"""A labgrid farm on 127.0.0.1: coordinator, exporter, and a QEMU board whose UART is a pty
exported by labgrid (ser2net, RFC 2217). The harness reserves, acquires and reaches the place
as it would a board in a lab, then releases it.

What runs through the place: the handshake (HELLO: board, build, memory map), echo round trips,
and an int8 model streamed into the board's RAM and run against tflite-micro, bit for bit.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from harness.dut import Dut
from harness.engine.session import InferenceSession
from harness.farm.labgrid import LabgridClient, LabgridError, claim_place, this_host_and_user
from harness.farm.lock import BoardBusy
from harness.farm.loopback import LoopbackFarm

PLACE = "hil-f746"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("labgrid") is None
    or shutil.which("socat") is None
    or not (shutil.which("ser2net") or os.path.exists("/usr/sbin/ser2net")),
    reason="the loopback farm needs labgrid, socat and ser2net (bash scripts/setup.sh installs them)",
)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    started = LoopbackFarm(tmp_path_factory.mktemp("farm"))
    try:
        started.start_coordinator()
        started.add_board(PLACE, "nucleo_f746")
        started.start_exporter()
        yield started
    except BaseException:
        print(started.logs())
        raise
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def private_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_handshake_and_echo_through_a_labgrid_place(farm):
    client = LabgridClient(farm.coordinator)
    with Dut.open("nucleo_f746", place=PLACE, coordinator=farm.coordinator, lock_timeout=10) as dut:
        assert dut.info.board == "nucleo_f746"
        assert dut.info.timer_kind == "instructions"  # the emulated board behind the place
        assert dut.echo(b"through the farm") == b"through the farm"
        assert dut.echo(bytes(range(256)) * 8) == bytes(range(256)) * 8  # 0xFF is escaped by telnet
        url = urlparse(dut.claim.port)
        assert (url.scheme, url.hostname) == ("rfc2217", "127.0.0.1")
        assert listening_addresses(url.port) == {"0100007F"}  # ser2net on 127.0.0.1 only
        assert client.acquired_by(PLACE) == this_host_and_user()
    assert client.acquired_by(PLACE) is None  # released at the end of the session


def test_inference_through_a_labgrid_place_matches_tflite_micro(farm):
    model = Path(__file__).resolve().parents[2] / "models" / "tiny_conv" / "tiny_conv_int8.tflite"
    with (
        Dut.open("nucleo_f746", place=PLACE, coordinator=farm.coordinator, lock_timeout=10) as dut,
        InferenceSession.on_dut(dut, model) as session,
    ):  # the real-board path: model into RAM
        result = session.run_seeded(count=3, seed=1)
    assert result.verdict.passed, result.describe()
    assert len(result.device_outputs) == 3 and min(result.instructions) > 0


def test_second_session_on_the_place_is_told_who_holds_it_and_gets_it_once_the_holder_is_killed(
    farm, sessions, monkeypatch
):
    place_args = ["-k", "hold", f"--lg-place={PLACE}", f"--lg-coordinator={farm.coordinator}"]
    first = sessions.start(*place_args)
    assert sessions.wait_until_holding(first) == f"labgrid place {PLACE}"

    owner = this_host_and_user()
    with monkeypatch.context() as env:
        # on this machine: the local lock names the holding process
        env.setenv("HIL_LOCK_DIR", sessions.env["HIL_LOCK_DIR"])
        with pytest.raises(
            BoardBusy, match=rf"labgrid place {PLACE} is busy after waiting 1 s: held by pid {first.pid} of "
        ):
            claim_place([PLACE], farm.coordinator, timeout=1)
        # from another machine (its own lock directory, another user): labgrid names the holder
        env.setenv("HIL_LOCK_DIR", str(sessions.workdir / "elsewhere"))
        env.setenv("USER", "colleague")
        with pytest.raises(BoardBusy, match=rf"labgrid place {PLACE} is busy: acquired by {re.escape(owner)}\."):
            claim_place([PLACE], farm.coordinator, timeout=0)
        with pytest.raises(
            BoardBusy, match=rf"labgrid place {PLACE} is busy after waiting 1 s: acquired by {re.escape(owner)}\."
        ):
            claim_place([PLACE], farm.coordinator, timeout=1)

    waiting = sessions.start(*place_args, "--lock-timeout=90", env={"HIL_PROBE_DIR": ""})
    time.sleep(1.0)
    assert waiting.poll() is None, "the second session should wait for the place"
    os.kill(first.pid, signal.SIGKILL)  # dies holding the place: no release, no cancelled reservation
    status, output = sessions.finish(waiting)
    assert status == 0, output
    assert "clearing what a session that ended left" in output, output
    assert LabgridClient(farm.coordinator).acquired_by(PLACE) is None


def test_unknown_place_is_one_clear_error(farm):
    with pytest.raises(
        LabgridError,
        match=rf"labgrid place f746 does not exist at {farm.coordinator} "
        rf"\(places there: {PLACE}\)",
    ):
        Dut.open("nucleo_f746", place="f746", coordinator=farm.coordinator)


def test_no_coordinator_is_one_clear_error():
    with pytest.raises(
        LabgridError,
        match="labgrid-client show \\(place hil-f746\\) failed at 127.0.0.1:9: .*Could not connect to coordinator",
    ):
        Dut.open("nucleo_f746", place=PLACE, coordinator="127.0.0.1:9")
