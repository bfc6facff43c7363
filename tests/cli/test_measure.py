"""hil bench / baseline / regress / report as a user runs them, in subprocesses on QEMU."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
KWS = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite"
BOARD = ["--board", "nucleo_f746", "--emulator", "qemu"]


def hil(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def _counts(record):
    timing = record["metrics"]["timing"]
    return timing["total"], [(r["name"], r[r["unit"]]) for r in timing["regions"]]


needs_kws = pytest.mark.skipif(not KWS.is_file(), reason=f"{KWS} is not here")


@needs_kws
def test_bench_counts_per_layer_instructions_identically_across_runs(tmp_path):
    runs = []
    for _ in range(2):
        result = hil("bench", *BOARD, "--model", str(KWS), "--json", "--results", str(tmp_path / "r.jsonl"))
        assert result.returncode == 0, result.stderr
        runs.append(json.loads(result.stdout)[0])
    first, second = runs
    assert first["metrics"]["timing"]["unit"] == "instructions"
    assert first["metrics"]["timing"]["source"] == "qemu-plugin"
    assert first["verdict"] == "pass" and first["bit_exact"] is True
    total, regions = _counts(first)
    layers = [name for name, _ in regions if name.startswith("layer")]
    assert len(layers) == len(first["layer_names"]) > 5 and total > 0
    assert _counts(second) == (total, regions)
    assert first["metrics"]["memory"] == second["metrics"]["memory"]
    memory = first["metrics"]["memory"]
    assert memory["flash_bytes"] > 0 and memory["ram_static_bytes"] > 0
    assert 0 < memory["arena_used"] <= memory["arena_size"] and memory["stack_high_water"] > 0


def test_slower_and_bigger_firmware_fails_regress_naming_metric_baseline_and_value(tmp_path):
    baseline = tmp_path / "nucleo_f746-qemu.json"
    update = hil("baseline", "update", *BOARD, "--baseline", str(baseline))
    assert update.returncode == 0, update.stderr
    same = hil("regress", *BOARD, "--baseline", str(baseline))
    assert same.returncode == 0, same.stdout + same.stderr
    base = json.loads(baseline.read_text())["cases"]["selftest"]["metrics"]

    worse = hil("regress", *BOARD, "--baseline", str(baseline), "--json",
                "--firmware-flag=-DHIL_SLOWDOWN_LOOPS=300", "--firmware-flag=-DHIL_BALLAST_FLASH_BYTES=2048")
    assert worse.returncode == 1, worse.stderr
    failures = json.loads(worse.stdout)["failures"]
    slower = next(line for line in failures if "instructions.selftest " in line)
    assert slower.startswith(f"selftest: instructions.selftest baseline {base['instructions.selftest']}, now ")
    bigger = next(line for line in failures if "memory.flash_bytes" in line)
    assert f"baseline {base['memory.flash_bytes']}, now " in bigger
    assert "regressions against" in worse.stderr and "Traceback" not in worse.stderr

    lenient = hil("regress", *BOARD, "--baseline", str(baseline), "--threshold", "instructions=10",
                  "--threshold", "memory=10", "--firmware-flag=-DHIL_SLOWDOWN_LOOPS=300",
                  "--firmware-flag=-DHIL_BALLAST_FLASH_BYTES=2048")
    assert lenient.returncode == 0, lenient.stdout


@needs_kws
def test_a_broken_kernel_fails_regress_on_bit_exactness_naming_the_layer(tmp_path):
    baseline = tmp_path / "b.json"
    update = hil("baseline", "update", *BOARD, "--model", str(KWS), "--baseline", str(baseline))
    assert update.returncode == 0, update.stderr
    broken = hil("regress", *BOARD, "--baseline", str(baseline),
                 "--firmware-flag=-DHIL_BREAK_KERNEL_FULLY_CONNECTED")
    assert broken.returncode == 1
    assert ("REGRESSION kws_ref_model.tflite: no longer bit-exact with the reference: first difference "
            "at layer 11 (FULLY_CONNECTED)") in broken.stdout


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_a_killed_run_keeps_completed_cases_and_a_rerun_resumes(tmp_path):
    results = tmp_path / "r.jsonl"
    sizes = ",".join(str(100000 + i) for i in range(6))
    command = [sys.executable, "-m", "harness.cli", "bench", *BOARD, "--iterations", sizes,
               "--results", str(results), "--resume"]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)  # its own group: QEMU dies with it
    try:
        deadline = time.monotonic() + 300
        while len(_lines(results)) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    kept = [json.loads(line) for line in _lines(results)]  # every line is a whole record
    assert 2 <= len(kept) < 6, "the run finished before it could be killed: make the cases longer"
    assert [r["case"] for r in kept] == [f"selftest-i{100000 + i}" for i in range(len(kept))]

    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("already in") == len(kept)
    cases = [json.loads(line)["case"] for line in _lines(results)]
    assert sorted(cases) == sorted(f"selftest-i{100000 + i}" for i in range(6))  # each once


def test_report_renders_in_headless_chromium(tmp_path):
    results = tmp_path / "r.jsonl"
    assert hil("bench", *BOARD, "--iterations", "1000,3000", "--results", str(results)).returncode == 0
    report = tmp_path / "report.html"
    made = hil("report", "--results", str(results), "--out", str(report))
    assert made.returncode == 0, made.stderr
    html = report.read_text()
    assert "<svg" in html and "<script" not in html and "http" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    if not (shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    check = subprocess.run(["bash", str(REPO / "benchmarks" / "check_report.sh"), str(report),
                            str(tmp_path / "report.png")], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_bad_input_is_a_one_line_error():
    missing = hil("bench", *BOARD, "--model", "/nonexistent.tflite")
    assert missing.returncode == 2 and "model /nonexistent.tflite does not exist" in missing.stderr
    no_baseline = hil("regress", *BOARD, "--baseline", "/nonexistent.json")
    assert no_baseline.returncode == 2 and "hil baseline update" in no_baseline.stderr
    for result in (missing, no_baseline):
        assert "Traceback" not in result.stderr


def test_pytest_records_metric_properties_and_fails_against_a_tighter_baseline(tmp_path):
    baseline = tmp_path / "b.json"
    assert hil("baseline", "update", *BOARD, "--baseline", str(baseline)).returncode == 0
    test = "tests/device/test_metrics_bench.py"
    junit = tmp_path / "junit.xml"
    passed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test, "-W", "error",
                             f"--hil-baseline={baseline}", f"--junitxml={junit}"],  # no xunit2 warning
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert passed.returncode == 0, passed.stdout
    xml = junit.read_text()
    assert 'name="hil.instructions.selftest"' in xml and 'name="hil.memory.flash_bytes"' in xml
    assert 'name="hil_board" value="nucleo_f746"' in xml and 'name="hil_firmware_build_id"' in xml

    data = json.loads(baseline.read_text())
    old = data["cases"]["selftest"]["metrics"]["instructions.layer0"]
    data["cases"]["selftest"]["metrics"]["instructions.layer0"] = old // 2  # the firmware "got slower"
    baseline.write_text(json.dumps(data))
    failed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test,
                             f"--hil-baseline={baseline}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert failed.returncode == 1
    assert f"selftest: instructions.layer0 baseline {old // 2}, now {old}" in failed.stdout
