"""docs/environment.md names every environment variable the harness, its firmware build scripts,
the example firmware, the scripts, CI, benchmarks and tests read (a new one read without being
documented fails here)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON_READS = re.compile(
    r"""environ(?:\.get)?\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[\s*["']([A-Z][A-Z0-9_]+)["']\]"""
    r"""|getenv\(\s*["']([A-Z][A-Z0-9_]+)["']|_ENV\s*=\s*["']([A-Z][A-Z0-9_]+)["']"""
)
SHELL_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]+):-")  # ${NAME:-default}: a variable the caller may set
INI_READS = re.compile(r"\$\{sysenv\.([A-Z][A-Z0-9_]+)\}")


def _read_variables() -> set[str]:
    names: set[str] = set()
    for folder in ("harness", "firmware/scripts", "firmware/platform", "examples", "benchmarks", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            if path != Path(__file__):
                names |= {n for match in PYTHON_READS.findall(path.read_text()) for n in match if n}
    for path in [*(REPO / "scripts").glob("*.sh"), *(REPO / "benchmarks").glob("*.sh"), REPO / ".ci" / "run"]:
        names |= set(SHELL_READS.findall(path.read_text()))
    for path in (REPO / "examples").rglob("platformio.ini"):
        names |= set(INI_READS.findall(path.read_text()))
    return names


def test_every_variable_read_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (REPO / "docs" / "environment.md").read_text()))
    read = _read_variables()
    assert {
        "HIL_BUILD_DIR",
        "HIL_LOCK_DIR",
        "HIL_FIRMWARE_DIR",
        "CLANG",
        "FUZZ_SECONDS",
        "HIL_SVD_DIR",
    } <= read  # the scan finds them
    assert not read - documented, f"read but not in docs/environment.md: {sorted(read - documented)}"
