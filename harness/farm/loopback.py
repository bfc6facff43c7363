"""A labgrid farm on this machine, on 127.0.0.1 only: for tests, demos and trying places out.

    coordinator (gRPC, 127.0.0.1)  <-  exporter (RawSerialPort -> ser2net, RFC 2217)
                                            |
    QEMU board: UART TCP socket  <->  socat  <->  pty /dev/pts/N  (the exported "serial port")

Each QEMU-emulated board becomes a place whose serial port is a real pty exported the way a
USB-serial adapter would be. labgrid's exporter lets ser2net listen on every interface; the
farm puts a small ser2net wrapper first on the exporter's PATH that pins it to 127.0.0.1.
Every process dies with its parent (PR_SET_PDEATHSIG) and `stop()` ends them all, so a
failed or killed test leaves nothing running.

    python -m harness.farm.loopback nucleo_f746   # runs a one-place farm until Ctrl-C
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from ..boards import Board, load_board
from ..build import build
from ..errors import TargetError
from ..targets.qemu import QemuTarget
from .labgrid import LabgridClient, LabgridError

START_TIMEOUT_S = 20.0
PR_SET_PDEATHSIG = 1

SER2NET_WRAPPER = """\
#!{python}
# labgrid's exporter starts ser2net listening on every interface; this farm stays on loopback.
import ctypes, os, re, signal, sys
ctypes.CDLL(None).prctl({pdeathsig}, signal.SIGTERM)  # die with the exporter
args = [re.sub(r",tcp,(\\d+)$", r",tcp,127.0.0.1,\\1", arg) for arg in sys.argv[1:]]
os.execv({ser2net!r}, [{ser2net!r}, *args])
"""


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def find_ser2net() -> str:
    path = shutil.which("ser2net") or ("/usr/sbin/ser2net" if os.path.exists("/usr/sbin/ser2net") else None)
    if path is None:
        raise TargetError("the loopback farm needs ser2net: apt-get install ser2net (scripts/setup.sh does)")
    return path


class LoopbackFarm:
    """Coordinator, exporter and emulated boards; `add_board()` before `start_exporter()`."""

    def __init__(self, workdir: Path | None = None):
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="hil-farm-"))
        self.name = f"hil-loopback-{os.getpid()}"
        self.coordinator = ""
        self.places: dict[str, Board] = {}
        self._processes: list[tuple[str, subprocess.Popen]] = []
        self._boards: list[QemuTarget] = []
        self._exports: dict[str, str] = {}  # place -> pty path

    # -- starting ------------------------------------------------------------------------------

    def start_coordinator(self) -> str:
        log = self._spawn(
            "coordinator", [sys.executable, "-m", "labgrid.remote.coordinator", "--listen", "127.0.0.1:0"]
        )
        text = self._wait_for(log, re.compile(r"listening on 127\.0\.0\.1:(\d+)"), "coordinator")
        self.coordinator = f"127.0.0.1:{text.group(1)}"
        return self.coordinator

    def add_board(self, place: str, board: str | Board) -> None:
        """Boots the board in QEMU and gives its UART a pty, to be exported as place `place`."""
        board = load_board(board) if isinstance(board, str) else board
        target = QemuTarget(board, board.variant("qemu"), build(board, "qemu"))
        self._boards.append(target)
        uart = target.launch().removeprefix("socket://")
        link = self.workdir / f"tty-{place}"
        # socat retries until QEMU listens; the pty is raw, as a USB-serial adapter's would be
        self._spawn(
            f"socat-{place}", ["socat", "-d", "pty,raw,echo=0,link=" + str(link), f"tcp:{uart},retry=100,interval=0.05"]
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not link.is_symlink():
            self._check_alive()
            if time.monotonic() > deadline:
                raise TargetError(f"socat did not create the pty for place {place}")
            time.sleep(0.05)
        self._exports[place] = os.readlink(link)
        self.places[place] = board

    def start_exporter(self) -> None:
        config = self.workdir / "exporter.yaml"
        config.write_text(
            "".join(
                f"{place}:\n  serial:\n    cls: RawSerialPort\n    port: {pty}\n    speed: {self.places[place].baud}\n"
                for place, pty in self._exports.items()
            )
        )
        wrapper_dir = self.workdir / "bin"
        wrapper_dir.mkdir(exist_ok=True)
        wrapper = wrapper_dir / "ser2net"
        wrapper.write_text(
            SER2NET_WRAPPER.format(python=sys.executable, pdeathsig=PR_SET_PDEATHSIG, ser2net=find_ser2net())
        )
        wrapper.chmod(0o755)
        env = {**os.environ, "PATH": f"{wrapper_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        self._spawn(
            "exporter",
            [
                sys.executable,
                "-m",
                "labgrid.remote.exporter",
                "-c",
                self.coordinator,
                "--name",
                self.name,
                "--hostname",
                "127.0.0.1",
                str(config),
            ],
            env=env,
        )
        client = LabgridClient(self.coordinator)
        for place in self.places:
            client.run("create", place=place)
            client.run("add-match", f"{self.name}/{place}/*", place=place)
        self._wait_for_resources(client)

    def _wait_for_resources(self, client: LabgridClient) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self._check_alive()
            listed = client.run("resources")
            if all(f"{self.name}/{place}/NetworkSerialPort" in listed for place in self.places):
                return
            if time.monotonic() > deadline:
                raise TargetError(f"the exporter did not register its serial ports:\n{listed}")
            time.sleep(0.2)

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Path:
        log = self.workdir / f"{name}.log"
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._processes.append((name, process))
        return log

    def _wait_for(self, log: Path, pattern: re.Pattern, what: str) -> re.Match:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            match = pattern.search(log.read_text(errors="replace"))
            if match:
                return match
            self._check_alive()
            if time.monotonic() > deadline:
                raise TargetError(
                    f"the labgrid {what} did not start within {START_TIMEOUT_S:g} s: {self.log_tail(log)}"
                )
            time.sleep(0.05)

    def _check_alive(self) -> None:
        for name, process in self._processes:
            if process.poll() is not None:
                raise TargetError(
                    f"farm process {name} exited with status {process.returncode}: "
                    f"{self.log_tail(self.workdir / f'{name}.log')}"
                )

    @staticmethod
    def log_tail(log: Path, lines: int = 5) -> str:
        text = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        return " | ".join(text[-lines:])

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.workdir / f'{name}.log').read_text(errors='replace')}"
            for name, _ in self._processes
            if (self.workdir / f"{name}.log").exists()
        )

    # -- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ends every process of the farm (each in its own process group), newest first."""
        for _, process in reversed(self._processes):
            _end_group(process, signal.SIGTERM)
        for _, process in reversed(self._processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _end_group(process, signal.SIGKILL)
                process.wait()
        self._processes.clear()
        for target in self._boards:
            target.stop()
        self._boards.clear()

    def __enter__(self) -> LoopbackFarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    boards = (argv if argv is not None else sys.argv[1:]) or ["nucleo_f746"]
    with LoopbackFarm() as farm:
        try:
            farm.start_coordinator()
            for index, board in enumerate(boards):
                farm.add_board(f"{board}-{index}", board)
            farm.start_exporter()
        except (TargetError, LabgridError) as exc:
            print(f"hil: {exc}", file=sys.stderr)
            return 2
        print(
            textwrap.dedent(f"""\
            loopback farm at {farm.coordinator}, places: {", ".join(farm.places)}
            try: pytest --board={boards[0]} --emulator=none --lg-coordinator={farm.coordinator} \\
                 --lg-place={next(iter(farm.places))}
            Ctrl-C stops the farm"""),
            flush=True,
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
