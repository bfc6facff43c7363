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

from harness.results import ResultsFile
from harness.shared_models import SHARED_MODELS
from harness.training.record import training_record
from tests.unit.test_report_training import _result as training_result

REPO = Path(__file__).resolve().parents[2]
KWS = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite"
HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
BOARD = ["--board", "nucleo_f746", "--emulator", "qemu"]


def hil(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


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

    worse = hil(
        "regress",
        *BOARD,
        "--baseline",
        str(baseline),
        "--json",
        "--firmware-flag=-DHIL_SLOWDOWN_LOOPS=300",
        "--firmware-flag=-DHIL_BALLAST_FLASH_BYTES=2048",
    )
    assert worse.returncode == 1, worse.stderr
    failures = json.loads(worse.stdout)["failures"]
    slower = next(line for line in failures if "instructions.selftest " in line)
    assert slower.startswith(f"selftest: instructions.selftest baseline {base['instructions.selftest']}, now ")
    bigger = next(line for line in failures if "memory.flash_bytes" in line)
    assert f"baseline {base['memory.flash_bytes']}, now " in bigger
    assert "regressions against" in worse.stderr and "Traceback" not in worse.stderr

    lenient = hil(
        "regress",
        *BOARD,
        "--baseline",
        str(baseline),
        "--threshold",
        "instructions=10",
        "--threshold",
        "memory=10",
        "--firmware-flag=-DHIL_SLOWDOWN_LOOPS=300",
        "--firmware-flag=-DHIL_BALLAST_FLASH_BYTES=2048",
    )
    assert lenient.returncode == 0, lenient.stdout


@needs_kws
def test_a_broken_kernel_fails_regress_on_bit_exactness_naming_the_layer(tmp_path):
    baseline = tmp_path / "b.json"
    update = hil("baseline", "update", *BOARD, "--model", str(KWS), "--baseline", str(baseline))
    assert update.returncode == 0, update.stderr
    # hello_world is a case the baseline does not hold: new, and its bit-exactness is gated too
    broken = hil(
        "regress",
        *BOARD,
        "--baseline",
        str(baseline),
        "--model",
        str(KWS),
        "--model",
        str(HELLO),
        "--firmware-flag=-DHIL_BREAK_KERNEL_FULLY_CONNECTED",
    )
    assert broken.returncode == 1
    assert (
        "REGRESSION kws_ref_model.tflite: no longer bit-exact with the reference: first difference "
        "at layer 11 (FULLY_CONNECTED)"
    ) in broken.stdout
    assert (
        "REGRESSION hello_world_int8.tflite: not bit-exact with the reference: first difference "
        "at layer 0 (FULLY_CONNECTED)"
    ) in broken.stdout
    assert "new        hello_world_int8: new case, not in the baseline" in broken.stdout
    assert not [line for line in broken.stdout.splitlines() if line.startswith("improved") and "hello_world" in line]


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_a_killed_run_keeps_completed_cases_and_a_rerun_resumes(tmp_path):
    results = tmp_path / "r.jsonl"
    sizes = ",".join(str(100000 + i) for i in range(6))
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "bench",
        *BOARD,
        "--iterations",
        sizes,
        "--results",
        str(results),
        "--resume",
    ]
    run = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )  # its own group: QEMU dies with it
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
    baseline = tmp_path / "baseline.json"
    assert (
        hil(
            "baseline", "update", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline)
        ).returncode
        == 0
    )
    # a `hil train --results` run in the same file: charted in its own section, not a case
    ResultsFile(results).append(training_record(training_result([0.70, 0.66, 0.61, 0.55]), "vww"))
    report = tmp_path / "report.html"
    made = hil("report", "--results", str(results), "--baseline", str(baseline), "--out", str(report))
    assert made.returncode == 0, made.stderr
    html = report.read_text()
    assert "Training runs" in html and "train vww faces" in html
    assert (
        "<svg" in html
        and "<script" not in html
        and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert '2 cases: <span class="pass">2 passed</span>, <span class="">0 failed</span>' in html
    assert "QEMU emulator version" in html and "arm-none-eabi-gcc" in html  # environment
    assert html.count("<h4>selftest-i") == 2 and "instructions.selftest" in html and "+0.00%" in html
    assert "of 1,048,576, " in html  # flash with its share of the board's capacity
    cases = html[: html.index("Training runs")]
    assert cases.count('<div class="grid">') == 2  # baseline tables and one small trend chart per case
    if not (shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    check = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "check_report.sh"), str(report), str(tmp_path / "report.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
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
    alone = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # not an xdist worker
    passed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            test,
            "-W",
            "error",
            f"--hil-baseline={baseline}",
            f"--junitxml={junit}",
        ],  # no xunit2 warning
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=alone,
    )
    assert passed.returncode == 0, passed.stdout
    xml = junit.read_text()
    assert 'name="hil.instructions.selftest"' in xml and 'name="hil.memory.flash_bytes"' in xml
    assert 'name="hil_board" value="nucleo_f746"' in xml and 'name="hil_firmware_build_id"' in xml

    data = json.loads(baseline.read_text())
    old = data["cases"]["selftest"]["metrics"]["instructions.layer0"]
    data["cases"]["selftest"]["metrics"]["instructions.layer0"] = old // 2  # the firmware "got slower"
    baseline.write_text(json.dumps(data))
    failed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test, f"--hil-baseline={baseline}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert failed.returncode == 1
    assert f"selftest: instructions.layer0 baseline {old // 2}, now {old}" in failed.stdout


def _gate_record(case, bit_exact=True, instructions=1000, metrics=True):
    regions = [{"id": 0, "name": "inference", "layer": None, "unit": "instructions", "instructions": instructions}]
    return {
        "board": "nucleo_f746",
        "emulator": "qemu",
        "build_id": "b",
        "case": case,
        "model": f"{case}.tflite",
        "model_sha256": None,
        "seed": 0,
        "verdict": "pass" if bit_exact else "fail",
        "bit_exact": bit_exact,
        "metrics": {"timing": {"unit": "instructions", "regions": regions}} if metrics else {},
    }


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture
def gate_files(tmp_path):
    """A baseline of cases a and b, recorded from a results file (no device needed)."""
    results = _write_jsonl(tmp_path / "base.jsonl", [_gate_record("a"), _gate_record("b")])
    baseline = tmp_path / "b.json"
    made = hil("baseline", "update", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline))
    assert made.returncode == 0, made.stderr
    return tmp_path, baseline


def _regress(baseline, results, *extra):
    return hil(
        "regress", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline), "--json", *extra
    )


def test_a_new_case_is_new_not_improved_and_must_be_bit_exact(gate_files):
    tmp, baseline = gate_files
    good = _regress(baseline, _write_jsonl(tmp / "r1.jsonl", [_gate_record("a"), _gate_record("b"), _gate_record("c")]))
    assert good.returncode == 0, good.stdout + good.stderr
    report = json.loads(good.stdout)
    assert report["new"] == ["c: new case, not in the baseline"] and report["improvements"] == []
    broken = _write_jsonl(tmp / "r2.jsonl", [_gate_record("a"), _gate_record("b"), _gate_record("c", bit_exact=False)])
    bad = _regress(baseline, broken)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert json.loads(bad.stdout)["failures"] == ["c.tflite: not bit-exact with the reference"]


def test_a_baseline_case_not_measured_is_missing_and_fails_with_strict(gate_files):
    tmp, baseline = gate_files
    only_a = _write_jsonl(tmp / "r.jsonl", [_gate_record("a")])
    lenient = _regress(baseline, only_a)
    assert lenient.returncode == 0 and json.loads(lenient.stdout)["missing"] == [
        "b: in the baseline, not measured by this run"
    ]
    strict = _regress(baseline, only_a, "--strict")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["failures"] == ["missing b: in the baseline, not measured by this run"]


@pytest.mark.parametrize(
    "broken, reason",
    [
        (_gate_record("b", bit_exact=None), "b.tflite: the record has no bit-exactness verdict (bit_exact: null)"),
        (_gate_record("b", metrics=False), "b.tflite: the record has no metrics"),
    ],
)
def test_a_record_without_verdict_or_metrics_fails_regress_and_baseline_update(gate_files, broken, reason):
    tmp, baseline = gate_files
    results = _write_jsonl(tmp / "r.jsonl", [_gate_record("a"), broken])
    gated = _regress(baseline, results)
    assert gated.returncode == 1 and json.loads(gated.stdout)["failures"] == [reason]
    before = baseline.read_text()
    update = hil("baseline", "update", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline))
    assert update.returncode == 1 and reason in update.stderr and "Traceback" not in update.stderr
    assert baseline.read_text() == before


def test_resumed_records_and_every_record_of_the_results_file_are_gated(tmp_path):
    results, baseline = tmp_path / "r.jsonl", tmp_path / "b.json"
    assert hil("bench", *BOARD, "--results", str(results)).returncode == 0
    made = hil("baseline", "update", *BOARD, "--from-results", "--results", str(results), "--baseline", str(baseline))
    assert made.returncode == 0, made.stderr
    (record,) = [json.loads(line) for line in _lines(results)]
    slower = json.loads(json.dumps(record))
    for region in slower["metrics"]["timing"]["regions"]:  # this build's own record, 50 % slower
        region["instructions"] = region["instructions"] * 3 // 2
    other = {**record, "case": "other", "model": "other", "bit_exact": False, "verdict": "fail"}
    _write_jsonl(results, [slower, other])  # other: a case this run does not measure
    resumed = hil("regress", *BOARD, "--results", str(results), "--resume", "--baseline", str(baseline), "--json")
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert len(_lines(results)) == 2  # selftest was not measured again (nothing appended), and yet it is gated
    report = json.loads(resumed.stdout)
    assert report["cases"] == 2 and report["new"] == ["other: new case, not in the baseline"]
    assert "other: not bit-exact with the reference" in report["failures"]
    assert any(line.startswith("selftest: instructions.selftest baseline ") for line in report["failures"])
