"""harness.build.build_project (`--firmware-project DIR`): the harness's firmware folder reaches
the user's build as $HIL_FIRMWARE_DIR, so a project copied anywhere builds with whichever harness
runs it (a checkout or a wheel), and two harnesses never share a build folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness import build as firmware_build
from harness.boards import load_board

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "user_firmware"
BOARD = load_board("nucleo_f746")


@pytest.fixture
def spawns(tmp_path, monkeypatch) -> list[dict[str, str]]:
    """The environment of each `pio run` build_project would spawn (none is)."""
    seen: list[dict[str, str]] = []

    def fake_pio(command: list[str], environ: dict[str, str], progress) -> subprocess.CompletedProcess:
        seen.append(environ)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setenv("HIL_BUILD_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(firmware_build, "ensure_tool_scons", lambda: None)
    monkeypatch.setattr(firmware_build, "_run_counting_compiles", fake_pio)
    return seen


def test_the_build_gets_the_harness_s_firmware_folder(spawns):
    firmware_build.build_project(EXAMPLE, BOARD, "qemu", REPO / "models/tiny_conv/tiny_conv_int8.tflite")
    (environ,) = spawns
    assert environ["HIL_FIRMWARE_DIR"] == str(firmware_build.firmware_dir())
    assert (Path(environ["HIL_FIRMWARE_DIR"]) / "platform" / "platform.json").is_file()


def test_two_harnesses_never_share_a_project_build(spawns, monkeypatch, tmp_path):
    first = firmware_build.build_project(EXAMPLE, BOARD, "qemu")
    monkeypatch.setattr(firmware_build, "firmware_dir", lambda: tmp_path / "another_harness" / "firmware")
    second = firmware_build.build_project(EXAMPLE, BOARD, "qemu")
    assert first.elf.parent != second.elf.parent
    assert spawns[1]["HIL_FIRMWARE_DIR"] == str(tmp_path / "another_harness" / "firmware")


def test_the_example_names_the_harness_only_through_hil_firmware_dir():
    """No path relative to this repository: a copy outside it must build (scripts/test_wheel.sh)."""
    ini = (EXAMPLE / "platformio.ini").read_text()
    settings = [line for line in ini.splitlines() if not line.lstrip().startswith(";")]
    assert not [line for line in settings if "../../" in line]
    for option in ("platform", "lib_deps", "custom_model"):
        assert re.search(rf"^{option} = symlink://\$\{{sysenv.HIL_FIRMWARE_DIR\}}/|^{option} = \$\{{sysenv", ini, re.M)
