"""`hil bench`, `hil baseline update` and `hil regress` on a user's firmware (examples/user_firmware,
docs/byo_firmware.md), in real QEMU: instructions counted by the plugin between the SDK runner's
markers, memory from the ELF, a bit-exact verdict of the output and of every published layer, in
the engine's record schema; the same firmware twice counts the same; a baseline of it catches the
perturbed build at its layer. Also `hil run --dataset` on it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.baseline import write_baseline
from harness.boards import load_board
from harness.build import build_project
from harness.cli import main
from harness.metrics.memory import firmware_memory
from harness.results import ResultsFile
from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "user_firmware"
HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
BOARD = ("--board", "nucleo_f746", "--emulator", "qemu")

pytestmark = pytest.mark.skipif(not HELLO.exists(), reason="shared models not available")


@pytest.fixture(autouse=True)
def _qemu_only(hil_options):
    hil_options.require("emulated", why="boots its own QEMU")


def _hil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def hello_elf() -> Path:
    """The example built for nucleo_f746 (QEMU) with hello_world compiled in (the build
    tests/device/test_user_firmware.py makes: cached)."""
    return build_project(EXAMPLE, load_board("nucleo_f746"), "qemu", HELLO).elf


def test_bench_record_baseline_and_regress_on_the_users_firmware(hello_elf, tmp_path):
    results, baseline = tmp_path / "runs.jsonl", tmp_path / "baseline.json"
    done = _hil("bench", "--firmware", str(hello_elf), "--model", str(HELLO), *BOARD, "--results", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = ResultsFile(results).records()
    assert record["case"] == "hello_world_int8@firmware" and record["verdict"] == "pass" and record["bit_exact"]
    # the graph output (1 element) and the three published FULLY_CONNECTED outputs (16 + 16 + 1)
    assert record["compared"] == {"elements": 34, "exact": 34}
    assert record["layer_names"] == ["FULLY_CONNECTED"] * 3 and record["layer_timing"] == "firmware regions"
    timing = record["metrics"]["timing"]
    assert timing["unit"] == "instructions" and timing["source"] == "qemu-plugin" and timing["total"] > 0
    layers = [region for region in timing["regions"] if region["layer"] is not None]
    assert [region["name"] for region in layers] == ["layer0", "layer1", "layer2"]
    assert all(0 < region["instructions"] < timing["total"] for region in layers)
    assert sum(region["instructions"] for region in layers) < timing["total"]  # the layers are inside the invoke
    # memory from the ELF alone (the firmware has no metrics service), the engine's figures
    assert record["metrics"]["memory"] == firmware_memory(hello_elf)
    # the firmware's identity: its ELF, and the model it reports (the one benchmarked)
    elf_sha = hashlib.sha256(hello_elf.read_bytes()).hexdigest()
    assert record["firmware_sha256"] == elf_sha and record["build_id"] == "elf-" + elf_sha[:16]
    assert record["firmware_model_sha256"] == record["model_sha256"] == hashlib.sha256(HELLO.read_bytes()).hexdigest()

    done = _hil("baseline", "update", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(baseline.read_text())["cases"]["hello_world_int8@firmware"]["metrics"]["instructions.layer1"] > 0

    # regress re-measures the baseline's firmware case (its model from the baseline): the same counts
    done = _hil("regress", "--firmware", str(hello_elf), *BOARD, "--baseline", str(baseline), "--results", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    first, again = ResultsFile(results).records()
    assert again["metrics"]["timing"] == first["metrics"]["timing"]  # exact and repeatable, every region

    # the perturbed build (operator 1's first output one too high) fails the gate at its layer
    done = _hil(
        "regress",
        "--firmware-project",
        str(EXAMPLE),
        "--firmware-flag=-DEXAMPLE_PERTURB_OP=1",
        "--model",
        str(HELLO),
        *BOARD,
        "--baseline",
        str(baseline),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "hello_world_int8.tflite: no longer bit-exact" in done.stdout
    assert "first difference at layer 1 (FULLY_CONNECTED)" in done.stdout


def test_dataset_on_the_users_firmware(hello_elf, tmp_path):
    # hello_world's output has its input's shape: scored as a reconstruction (AUC), device == reference
    np.savez(tmp_path / "sine.npz", x=np.linspace(0, 6, 8, dtype=np.float32).reshape(8, 1), y=np.array([0, 1] * 4))
    done = _hil(
        "run", "--firmware", str(hello_elf), "--model", str(HELLO), *BOARD, "--dataset", str(tmp_path / "sine.npz")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report_line = next(line for line in done.stdout.splitlines() if line.startswith("auc on 8 samples"))
    device, reference = report_line.split("device ")[1].split(", reference (tflite-micro) ")
    assert device == reference
    assert "8/8 exact" in done.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--model", str(HELLO)), "bench one --model"),
        (("--selftest",), "--selftest needs the harness's firmware"),
        (("--firmware-flag=-DX=1",), "--firmware-flag builds a variant"),
    ],
)
def test_bench_options_a_users_firmware_cannot_take_are_one_line(tmp_path, capsys, extra, message):
    elf = tmp_path / "app.elf"
    elf.write_bytes(b"\x7fELF")  # refused before it is read or anything boots
    assert main(["bench", "--firmware", str(elf), "--model", str(HELLO), *extra, *BOARD]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error:") and message in line


def test_regress_of_a_users_firmware_without_its_cases_in_the_baseline_is_one_line(tmp_path, capsys):
    write_baseline(tmp_path / "b.json", "nucleo_f746", "qemu", {})  # the engine's cases only (here: none)
    elf = tmp_path / "app.elf"
    elf.write_bytes(b"\x7fELF")
    assert main(["regress", "--firmware", str(elf), *BOARD, "--baseline", str(tmp_path / "b.json")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "has no case of a user's firmware" in line
