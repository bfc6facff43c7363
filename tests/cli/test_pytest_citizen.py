"""The pytest plugin among other plugins, in the user's own project.

- no option clash with pytest-embedded (`--port`, `--baud` are its: ours are `--hil-port`,
  `--hil-baud`), checked against a stand-in declaring pytest-embedded's options, and against
  pytest-embedded itself where it is installed (scripts/test_wheel.sh installs it);
- board files from the project (`boards/` beside the rootdir, `--boards-dir`, ini hil_boards_dir);
- JUnit properties on each test case, also under `pytest -n 2`, with no warning (-W error) under
  pytest's default junit_family.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
PLUGIN_OPTIONS_OF_PYTEST_EMBEDDED = """
def pytest_addoption(parser):
    group = parser.getgroup("embedded-serial")
    group.addoption("--port", help="serial port")
    group.addoption("--baud", help="baud rate")
"""


def pytest_run(*args: str, cwd: Path, timeout: float = 120, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(cwd)]), **env_vars}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_pytest_starts_beside_a_plugin_with_pytest_embeddeds_options(tmp_path):
    (tmp_path / "embedded_standin.py").write_text(PLUGIN_OPTIONS_OF_PYTEST_EMBEDDED)
    result = pytest_run("-p", "embedded_standin", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--hil-port" in result.stdout and "--hil-baud" in result.stdout and "--board" in result.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_embedded") is None,
    reason="pytest-embedded is not installed here (scripts/test_wheel.sh installs it)",
)
def test_pytest_starts_beside_pytest_embedded(tmp_path):
    result = pytest_run("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--hil-port" in result.stdout and "--embedded-services" in result.stdout


BOARD_TEST = """
from harness.boards import load_board

def test_board_file(hil_options):
    print("BOARD FILE", load_board(hil_options.board).path)
"""


@pytest.mark.parametrize("how", ["rootdir", "option", "ini"])
def test_board_files_come_from_the_project(tmp_path, how):
    from tests.unit.test_project_home import project_board

    folder = {"rootdir": "boards", "option": "given", "ini": "hw/boards"}[how]
    path = project_board(tmp_path / folder, "myf746")
    ini = "[pytest]\n" + ("hil_boards_dir = hw/boards\n" if how == "ini" else "")
    (tmp_path / "pytest.ini").write_text(ini)
    (tmp_path / "test_board.py").write_text(BOARD_TEST)
    options = ["--boards-dir", "given"] if how == "option" else []
    result = pytest_run("-q", "-s", "--board=myf746", *options, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"BOARD FILE {path}" in result.stdout


def test_junit_properties_per_test_case_under_xdist_without_warnings(tmp_path):
    """The user project of examples/ (dut and run_model) under -n 2, -W error."""
    pytest.importorskip("xdist")
    project = REPO / "examples" / "user_project"
    junit = tmp_path / "junit.xml"
    # pytest-benchmark (a dev extra) warns that xdist disables it: not the harness's warning
    result = pytest_run(
        "-q",
        "-W",
        "error",
        "-p",
        "no:benchmark",
        "-n",
        "2",
        "--board=nucleo_f746",
        "--emulator=qemu",
        f"--junitxml={junit}",
        cwd=project,
        timeout=600,
        HIL_SHARED_MODELS=str(SHARED_MODELS),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    model = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
    cases = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(junit).getroot().iter("testcase")
    }
    assert len(cases) == 2
    for props in cases.values():
        assert props["hil_board"] == "nucleo_f746" and props["hil_emulator"] == "qemu"
        assert props["hil_firmware_build_id"]
    inference = cases["test_hello_world_matches_tflite_micro"]
    assert inference["hil_model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert int(inference["hil_elements_exact"]) == int(inference["hil_elements_compared"]) == 5
    assert int(inference["hil_instructions"]) > 0 and int(inference["hil_arena_bytes"]) > 0


A_DUT_OF_ANOTHER_PLUGIN = """
import sys
import pytest

def pytest_configure(config):  # its `dut` registered after the harness's plugin modules
    config.pluginmanager.register(sys.modules[__name__ + "_fixtures"], "other-dut")
"""
ITS_DUT = """
import pytest

@pytest.fixture
def dut():
    return "another plugin's dut"
"""


def test_dut_is_the_harness_s_when_a_board_is_named_beside_another_plugin_s_dut(tmp_path):
    """pytest-embedded has a `dut` fixture too; a run that names a board gets the harness's."""
    (tmp_path / "other_plugin.py").write_text("import other_plugin_fixtures\n" + A_DUT_OF_ANOTHER_PLUGIN)
    (tmp_path / "other_plugin_fixtures.py").write_text(ITS_DUT)
    (tmp_path / "test_uses_dut.py").write_text("def test_it(dut):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    unnamed = pytest_run("-p", "other_plugin", "--fixtures-per-test", cwd=tmp_path)
    assert "other_plugin_fixtures.py" in unnamed.stdout  # the stand-in does take `dut` over
    named = pytest_run("-p", "other_plugin", "--fixtures-per-test", "--board=nucleo_f746", cwd=tmp_path)
    assert named.returncode == 0, named.stdout + named.stderr
    assert "harness/pytest_dut.py" in named.stdout and "other_plugin_fixtures.py" not in named.stdout
