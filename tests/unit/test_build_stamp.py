"""harness.build skips PlatformIO when nothing a build reads has changed (build_stamp.py): an
unchanged tree spawns nothing, a changed source, flag, board file or missing output rebuilds,
and a failed build is never taken as current."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness import build as firmware_build
from harness.boards import load_board, load_board_file
from harness.errors import BuildError

FIRMWARE = Path(firmware_build.__file__).resolve().parents[1] / "firmware"


class FakePio:
    """Stands in for `pio run`: records each spawn and writes the three outputs (or fails)."""

    def __init__(self) -> None:
        self.runs = 0
        self.returncode = 0

    def __call__(self, command: list[str], environ: dict[str, str], progress) -> subprocess.CompletedProcess:
        self.runs += 1
        project, env = Path(command[command.index("-d") + 1]), command[command.index("-e") + 1]
        out = project / ".pio" / "build" / env
        out.mkdir(parents=True, exist_ok=True)
        for name in ("firmware.elf", "firmware.bin", "firmware.hex"):
            (out / name).write_text(f"{name} of run {self.runs}")
        return subprocess.CompletedProcess(command, self.returncode, "", "fake pio failed")


@pytest.fixture
def pio(tmp_path, monkeypatch) -> FakePio:
    firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, firmware, ignore=shutil.ignore_patterns(".pio", "__pycache__"))
    monkeypatch.setenv("HIL_BUILD_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(firmware_build, "firmware_dir", lambda: firmware)
    monkeypatch.setattr(firmware_build, "ensure_tool_scons", lambda: None)
    fake = FakePio()
    monkeypatch.setattr(firmware_build, "_run_counting_compiles", fake)
    return fake


BOARD = load_board("nucleo_f746")


def test_an_unchanged_tree_does_not_spawn_platformio(pio):
    first = firmware_build.build(BOARD, "qemu")
    second = firmware_build.build(BOARD, "qemu")
    assert pio.runs == 1 and second == first and second.bin.read_text() == "firmware.bin of run 1"


def test_a_changed_flag_or_source_rebuilds(pio, tmp_path):
    firmware_build.build(BOARD, "qemu")
    firmware_build.build(BOARD, "qemu", extra_flags=["-DHIL_SOMETHING=1"])
    assert pio.runs == 2
    source = sorted((tmp_path / "firmware" / "src").rglob("*.c"))[0]
    source.write_text(source.read_text() + "\n/* changed */\n")
    firmware_build.build(BOARD, "qemu")
    assert pio.runs == 3
    firmware_build.build(BOARD, "qemu")
    assert pio.runs == 3


def test_a_changed_board_file_or_a_missing_output_rebuilds(pio, tmp_path):
    board_file = tmp_path / BOARD.path.name
    board_file.write_text(BOARD.path.read_text())
    board = load_board_file(board_file)
    firmware = firmware_build.build(board, "qemu")
    firmware.bin.unlink()
    firmware_build.build(board, "qemu")
    assert pio.runs == 2
    board_file.write_text(board_file.read_text() + "\n# changed\n")
    firmware_build.build(board, "qemu")
    assert pio.runs == 3


def test_a_failed_build_is_never_current(pio):
    pio.returncode = 1
    with pytest.raises(BuildError):
        firmware_build.build(BOARD, "qemu")
    pio.returncode = 0
    firmware_build.build(BOARD, "qemu")
    assert pio.runs == 2
