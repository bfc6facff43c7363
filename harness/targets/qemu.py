"""Boots a firmware in QEMU and connects to its UART.

The UART is a TCP server socket inside QEMU that waits for us (`wait=on`), so not one byte of
early output is lost, with `nodelay=on` so small frames are not held back. `-nographic` is
never used: its stdio multiplexer would treat bytes 01 78 in a payload as "quit".
QMP (a UNIX socket) resets the machine. The target owns the flash model slot's image when one
is given (`slot_image`): written into its work folder, loaded by QEMU's generic loader at boot,
removed with the folder when the target stops.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .. import build as firmware_build
from ..boards import Board, Variant
from ..build import Firmware
from ..errors import HarnessError, TargetError
from ..progress import Progress
from ..shutdown import die_with_parent
from .base import FLASH_AT_BOOT, Capabilities, Target, TargetOptions
from .transport import SerialTransport

QEMU_BINARY = {"arm": "qemu-system-arm", "avr": "qemu-system-avr"}
CONNECT_TIMEOUT_S = 10.0
EXIT_WAIT_S = 0.5  # after SIGTERM; QEMU quits at once, so a longer wait only hides a hang
EXIT_STATUS_MEANING = {0: "firmware exited normally", 3: "firmware halted after a hard fault"}


class Qmp:
    """A minimal QEMU Machine Protocol client (JSON lines over a UNIX socket)."""

    def __init__(self, path: Path, timeout: float = 5.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:  # QEMU opens the QMP socket a little after the UART's
            try:
                self._sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise TargetError(f"QEMU did not open its QMP socket {path}") from None
                time.sleep(0.01)
        self._file = self._sock.makefile("rwb")
        self._read_message()  # greeting
        self.execute("qmp_capabilities")

    def _read_message(self) -> dict:
        line = self._file.readline()
        if not line:
            raise TargetError("QEMU closed its QMP socket")
        return json.loads(line)

    def execute(self, command: str) -> dict:
        self._file.write(json.dumps({"execute": command}).encode() + b"\n")
        self._file.flush()
        while True:
            message = self._read_message()
            if "return" in message:
                return message["return"]
            if "error" in message:
                raise TargetError(f"QEMU refused {command}: {message['error'].get('desc')}")

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # QEMU already gone
        self._sock.close()


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QemuTarget(Target):
    """One QEMU instance running one firmware for one board variant."""

    name = "qemu"

    def __init__(
        self,
        board: Board,
        variant: Variant,
        firmware: Firmware,
        extra_args: list[str] | None = None,
        icount: bool = True,
        slot_image: bytes | None = None,
    ):
        if variant.machine is None:
            raise TargetError(f"board {board.name} names no QEMU machine in {board.path}")
        slot = variant.memory.model_slot
        if slot_image is not None and len(slot_image) > slot.size:
            raise HarnessError(
                f"slot image of {len(slot_image)} bytes does not fit {board.name}'s model slot of {slot.size} bytes"
            )
        self.board, self.variant, self.firmware = board, variant, firmware
        self.extra_args = list(extra_args or [])
        self.icount = icount and self.capabilities(board).counts_instructions
        self._workdir = Path(tempfile.mkdtemp(prefix=f"hil-qemu-{board.name}-"))
        if slot_image is not None:
            slot_file = self._workdir / "model_slot.bin"  # removed with the folder by stop()
            slot_file.write_bytes(slot_image)
            self.extra_args += ["-device", f"loader,file={slot_file},addr=0x{slot.origin:x},force-raw=on"]
        self._process: subprocess.Popen | None = None
        self._port = 0
        self._qmp: Qmp | None = None
        self.transport: SerialTransport | None = None

    @classmethod
    def capabilities(cls, board: Board) -> Capabilities:
        arm = board.arch == "arm"  # QEMU's AVR machine has neither -icount nor plugins' counts
        return Capabilities(
            emulated=True,
            preloads_model_slot=True,
            counts_instructions=arm,
            needs_claim=False,
            can_reset=True,
            flash=FLASH_AT_BOOT,
        )

    @classmethod
    def create(cls, board: Board, variant: Variant, options: TargetOptions, progress: Progress) -> QemuTarget:
        firmware = options.firmware or firmware_build.build(board, variant.emulator, progress, options.extra_flags)
        extra = options.extra_args(firmware) if options.extra_args else None
        return cls(board, variant, firmware, extra_args=extra, slot_image=options.slot_image)

    @classmethod
    def availability(cls, board: Board) -> str:
        variant = board.variant(cls.name)
        where = f"machine {variant.machine}" + (", stand-in" if variant.stand_in else "")
        binary = QEMU_BINARY[board.arch]
        return f"available ({where})" if shutil.which(binary) else f"{binary} not installed ({where})"

    def where(self) -> str:
        return f"qemu {self.variant.machine}"

    @property
    def binary(self) -> str:
        return QEMU_BINARY[self.board.arch]

    def command(self, port: int) -> list[str]:
        chardev = f"socket,id=uart0,host=127.0.0.1,port={port},server=on,wait=on,nodelay=on"
        assert self.variant.machine is not None  # a board's qemu variant names its machine (boards.py)
        command = [
            self.binary,
            "-M",
            self.variant.machine,
            "-display",
            "none",
            "-monitor",
            "none",
            "-chardev",
            chardev,
            "-serial",
            "chardev:uart0",
            "-qmp",
            f"unix:{self._workdir / 'qmp.sock'},server=on,wait=off",
            "-bios" if self.board.arch == "avr" else "-kernel",
            str(self.firmware.elf),  # AVR boots its flash image
        ]
        if self.board.arch == "arm":
            command += ["-semihosting-config", "enable=on,target=native"]
        if self.icount:
            command += ["-icount", "shift=0"]  # deterministic: one virtual ns per instruction
        return command + self.extra_args

    def launch(self) -> str:
        """Starts QEMU and returns the pyserial URL of its UART (nobody connected yet)."""
        if shutil.which(self.binary) is None:
            raise TargetError(
                f"{self.binary} is not installed: apt-get install "
                f"{'qemu-system-arm' if self.board.arch == 'arm' else 'qemu-system-misc'}"
            )
        if not self.firmware.elf.is_file():
            raise TargetError(f"firmware {self.firmware.elf} does not exist: build it first")
        self._port = _free_tcp_port()
        with (self._workdir / "qemu.log").open("wb") as log:  # QEMU keeps its own copy of the fd
            self._process = subprocess.Popen(
                self.command(self._port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),  # no orphaned QEMU, however this process ends
            )
        return f"socket://127.0.0.1:{self._port}"

    def start(self) -> SerialTransport:
        self.launch()
        self.transport = self._connect(self._port)
        try:
            self._qmp = Qmp(self._workdir / "qmp.sock")
        except (OSError, ValueError, TargetError) as exc:  # QEMU died as it started (a firmware it cannot run)
            raise TargetError(f"QEMU for {self.board.name} did not start ({exc}){self.exit_reason()}") from None
        return self.transport

    def _connect(self, port: int) -> SerialTransport:
        """Connects as soon as QEMU listens; QEMU starts the CPU only once we are connected."""
        assert self._process is not None  # launched
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise TargetError(f"QEMU for {self.board.name} did not start{self.exit_reason()}")
            try:
                return SerialTransport(f"socket://127.0.0.1:{port}")
            except TargetError:
                if time.monotonic() > deadline:
                    raise TargetError(
                        f"QEMU for {self.board.name} did not open its UART socket within {CONNECT_TIMEOUT_S:.0f} s"
                    ) from None
                time.sleep(0.02)

    def reset(self) -> None:
        """Resets the machine (RAM is not cleared), as a reset button would."""
        if self._qmp is None:
            raise TargetError("QEMU is not running")
        if self.board.arch == "avr":
            self._relaunch()
            return
        self._qmp.execute("system_reset")

    def _relaunch(self) -> None:
        """QEMU's AVR machine has no working system_reset (and no watchdog): a reset is a new
        QEMU on the same port, and the transport reconnects (its pyserial port reopens the URL)."""
        assert self._qmp is not None and self._process is not None and self.transport is not None  # running
        self._qmp.execute("quit")
        self._qmp.close()
        self._process.wait(timeout=5)
        self.transport.disconnect()  # the same object the Link reads from: it reconnects below
        with (self._workdir / "qemu.log").open("ab") as log:  # QEMU keeps its own copy of the fd
            self._process = subprocess.Popen(
                self.command(self._port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),  # no orphaned QEMU, however this process ends
            )
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            try:
                self.transport.reconnect()
                break
            except TargetError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise TargetError(f"QEMU for {self.board.name} did not restart{self.exit_reason()}") from None
                time.sleep(0.02)
        self._qmp = Qmp(self._workdir / "qmp.sock")

    @property
    def exit_status(self) -> int | None:
        return self._process.poll() if self._process else None

    def exit_reason(self) -> str:
        """A sentence for error messages: how QEMU ended and the tail of its output."""
        status = self._exit_status_after_lost_link()
        if status is None:
            return ""
        meaning = EXIT_STATUS_MEANING.get(status, "")
        text = f"; QEMU exited with status {status}" + (f" ({meaning})" if meaning else "")
        log = self._workdir / "qemu.log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        # "qemu: fatal: ..." comes before a register dump; QEMU's "info:" lines say nothing of the end
        own = [line for line in lines if line.startswith("qemu") and ": info: " not in line]
        tail = own[-2:] or lines[-5:]
        return text + (": " + " | ".join(tail) if tail else "")

    def _exit_status_after_lost_link(self) -> int | None:
        """QEMU's exit status; a QEMU that closed its sockets is given a moment to finish exiting."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Ends QEMU at once (SIGTERM, SIGKILL if it lingers) and removes the work folder with the
        slot image: nothing of the machine is kept, so there is nothing to wait for."""
        if self.transport:
            self.transport.close()
        if self._qmp:
            self._qmp.close()
            self._qmp = None
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)
