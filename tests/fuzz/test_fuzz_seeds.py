"""The engine fuzz target over its seed corpus (every shared model, packed, and random
single-op models): the firmware's loader and kernels take each without a sanitizer report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _libfuzzer_available() -> bool:
    if shutil.which("clang") is None:
        return False
    probe = subprocess.run(
        ["clang", "-x", "c", "-fsanitize=fuzzer", "-o", "/dev/null", "-"],
        input=b"int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }",
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    not _libfuzzer_available(), reason="clang with libFuzzer not installed (scripts/fuzz.sh installs it)"
)
def test_engine_target_runs_every_seed_without_a_crash(tmp_path):
    seeds = [tmp_path / name for name in ("engine", "engine_large")]
    for directory in seeds:
        subprocess.run(
            [sys.executable, str(REPO / "tests" / "fuzz" / "seeds.py"), directory.name, str(directory)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "fuzz.sh"), "engine", "-runs=0", *map(str, seeds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    counts = [len(list(directory.iterdir())) for directory in seeds]
    assert counts[0] >= 20 and counts[1] >= 1, f"seed corpora hold only {counts} files"
    for directory, count in zip(seeds, counts):
        assert f"{count} files found in {directory}" in run.stderr
