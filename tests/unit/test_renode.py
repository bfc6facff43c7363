"""Renode target: the generated script and commands as text, the monitor client against a
scripted socket, and (only where `renode` is installed) the firmware booted in Renode."""

import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from harness.boards import load_board
from harness.dut import Dut
from harness.errors import TargetError
from harness.targets.renode import (
    RenodeMonitor,
    clean_monitor_output,
    monitor_commands,
    renode_command,
    resc_script,
)

RENODE = shutil.which("renode")
needs_renode = pytest.mark.skipif(
    RENODE is None, reason="Renode is not installed here (no `renode` on PATH; see docs/renode.md)"
)


def test_f746_script_builds_the_machine_and_exposes_usart3_as_a_raw_socket():
    board = load_board("nucleo_f746")
    script = resc_script(board, board.variant("renode"), Path("/tmp/fw/firmware.elf"), 40123)
    lines = script.splitlines()
    assert 'mach create "hil"' in lines
    assert "machine LoadPlatformDescription @platforms/cpus/stm32f746.repl" in lines
    assert 'emulation CreateServerSocketTerminal 40123 "hil_uart" false' in lines
    assert "connector Connect sysbus.usart3 hil_uart" in lines
    assert "sysbus LoadELF @/tmp/fw/firmware.elf" in lines
    assert "sysbus.cpu VectorTableOffset 0x8000000" in lines
    assert "start" not in lines  # started by the harness once it listens on the UART


def test_nano33ble_script_uses_the_nrf52840_and_the_bootloader_offset():
    board = load_board("nano33ble")
    lines = resc_script(board, board.variant("renode"), Path("/x.elf"), 1).splitlines()
    assert "machine LoadPlatformDescription @platforms/cpus/nrf52840.repl" in lines
    assert "connector Connect sysbus.uart0 hil_uart" in lines
    assert "sysbus.cpu VectorTableOffset 0x10000" in lines


def test_variant_without_platform_is_refused_naming_the_board_file():
    board = load_board("nucleo_f746")
    variant = replace(board.variant("renode"), extra={})
    with pytest.raises(TargetError, match="emulators.renode needs `platform`"):
        resc_script(board, variant, Path("/x.elf"), 1)


@pytest.mark.parametrize(
    "help_text, option",
    [
        ("  --disable-gui   Disable the GUI", "--disable-gui"),  # Renode >= 1.14
        ("  --disable-xwt   Disable XWT GUI", "--disable-xwt"),  # older
    ],
)
def test_headless_option_follows_this_renodes_help(help_text, option):
    assert renode_command(help_text, 4444) == ["renode", option, "--plain", "--port", "4444"]


def test_monitor_includes_the_script_then_starts_the_cpu():
    assert monitor_commands(Path("/w/b.resc")) == ["include @/w/b.resc", "start"]


def test_monitor_output_loses_telnet_negotiation_and_colours():
    raw = b"\xff\xfb\x01\xff\xfb\x03\x1b[32mRenode, version 1.15\x1b[0m\r\n(hil) "
    assert clean_monitor_output(raw) == "Renode, version 1.15\n(hil) "


def _scripted_monitor(replies: dict[bytes, bytes]) -> tuple[int, list[bytes]]:
    """A TCP server that greets like Renode's monitor and answers each command line."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received: list[bytes] = []

    def serve():
        connection, _ = server.accept()
        connection.sendall(b"\xff\xfb\x01Renode monitor\r\n(monitor) ")
        buffer = b""
        while True:
            data = connection.recv(1024)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                received.append(line)
                connection.sendall(replies.get(line, b"") + b"\r\n(hil) ")
        connection.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], received


def test_monitor_sends_commands_and_reads_to_the_prompt():
    port, received = _scripted_monitor(
        {b"machine Reset": b"", b"bogus": b"There was an error executing command 'bogus'"}
    )
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        monitor = RenodeMonitor(port, idle, timeout=5)
        monitor.execute("machine Reset")
        with pytest.raises(TargetError, match="Renode refused `bogus`"):
            monitor.execute("bogus")
        monitor.close()
    finally:
        idle.kill()
        idle.wait()
    assert received == [b"machine Reset", b"bogus"]


@pytest.mark.skipif(RENODE is not None, reason="Renode is installed: the real thing is tested below")
def test_without_renode_opening_says_how_to_install_it():
    with pytest.raises(TargetError, match="Renode is not installed.*docs/renode.md"):
        Dut.open("nucleo_f746", "renode")


@needs_renode
@pytest.mark.parametrize("board", ["nucleo_f746", "nano33ble"])
def test_real_board_image_boots_in_renode_and_shakes_hands(board):
    with Dut.open(board, "renode") as dut:
        assert dut.info.board == board
        assert dut.echo(b"renode") == b"renode"
