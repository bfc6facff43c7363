"""Firmware builds in the per-user cache: a project's own board builds and boots, a variant build
(extra flags) names its flags' digest in the build id the firmware reports, and nothing is
written beside the firmware sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import resources
from harness.boards import load_board
from harness.build import build, flags_digest
from harness.dut import Dut
from tests.unit.test_project_home import project_board

REPO = Path(__file__).resolve().parents[2]


def test_a_project_board_builds_and_boots_from_the_project(tmp_path):
    path = project_board(tmp_path / "boards", "myf746")
    path.write_text(path.read_text().replace("size: 320K", "size: 256K"))  # its own SRAM size
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "ping", "--board", "myf746", "--emulator", "qemu", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)  # the firmware's handshake: configured from the project's file
    assert (info["board"], info["sram_size"]) == ("myf746", 256 * 1024)


def test_a_variant_build_is_told_apart_by_its_build_id():
    start = time.time()
    flags = ["-DHIL_TEST_VARIANT_OF_THE_BUILD_CACHE=1"]
    board = load_board("nucleo_f746")
    plain, variant = build(board, "qemu"), build(board, "qemu", extra_flags=flags)
    assert plain.elf.parent != variant.elf.parent
    assert resources.build_root() in variant.elf.parents
    with Dut.open(board, "qemu", extra_flags=flags) as dut:
        commit, _, built_at = dut.info.build_id.partition(" ")
    assert commit.endswith(f"+f{flags_digest(flags)}") and built_at.endswith("Z")
    written = [p for p in resources.firmware_dir().rglob("*") if p.stat().st_mtime >= start]
    assert not written, f"the build wrote beside the firmware sources: {written[:3]}"


def test_a_current_build_returns_without_spawning_platformio(monkeypatch):
    board = load_board("nucleo_f746")
    built = build(board, "qemu")  # real PlatformIO, once (it records the build's inputs)

    def no_spawn(*args, **kwargs):
        raise AssertionError(f"PlatformIO spawned for a current build: {args[0]}")

    monkeypatch.setattr(subprocess, "Popen", no_spawn)
    assert build(board, "qemu") == built and built.elf.is_file()
