"""The kernels compile warning-free for every target and need no libc/libm.

Cross-compiles each firmware/src/kernels/*.c for Cortex-M7 (hard float),
Cortex-M0 (soft float) and AVR (int is 16 bits there), with the firmware's
warning flags plus a few stricter ones, and checks that the objects only
reference compiler support routines (names starting with "__") or other
kernel symbols: no malloc, no libm (the float softmax/logistic use hil_expf).
memset/memcpy/memmove are allowed: gcc may emit calls to them for struct
and array initialisation even in freestanding code.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from kernels_lib import KERNEL_HEADERS, KERNEL_SOURCES

WARNINGS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffp-contract=off",
    "-Wpedantic",
    "-Wshadow",
    "-Wdouble-promotion",
    "-Wfloat-conversion",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
]

TARGETS = {
    "host": (["gcc"], "nm"),
    "cortex-m7": (
        ["arm-none-eabi-gcc", "-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
        "arm-none-eabi-nm",
    ),
    "cortex-m0": (["arm-none-eabi-gcc", "-mthumb", "-mcpu=cortex-m0", "-mfloat-abi=soft"], "arm-none-eabi-nm"),
    "avr": (["avr-gcc", "-mmcu=atmega328p"], "avr-nm"),
}

SOURCES = KERNEL_SOURCES


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("opt", ["-O0", "-Os", "-O2"])
def test_compiles_warning_free_without_libc(target, opt, tmp_path):
    cc, nm = TARGETS[target]
    if shutil.which(cc[0]) is None or shutil.which(nm) is None:
        pytest.skip(f"{cc[0]} not installed (scripts/setup.sh installs it)")
    defined, undefined = set(), set()
    for src in SOURCES:
        obj = tmp_path / (src.parent.name + "_" + src.stem + ".o")
        r = subprocess.run([*cc, *WARNINGS, opt, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert r.returncode == 0, f"{target} {opt} {src.name}:\n{r.stderr}"
        out = subprocess.run([nm, str(obj)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[-2] == "U":
                undefined.add(parts[-1])
            elif len(parts) == 3 and parts[1] in "TDBR":
                defined.add(parts[2])
    allowed = {"memset", "memcpy", "memmove", "_GLOBAL_OFFSET_TABLE_"}
    foreign = sorted(s for s in undefined - defined if not s.startswith("__") and s not in allowed)
    assert not foreign, f"{target}: kernels reference {foreign}"


def test_sources_use_fixed_width_types_only():
    """`int`, `long`, `short`, `double` and `size_t` are different sizes on AVR and Cortex-M."""
    bad = []
    for path in [*SOURCES, *KERNEL_HEADERS]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = re.sub(r"/\*.*?\*/|//.*$", "", line).strip()
            if code.startswith("*") or code.startswith("/*"):
                continue  # inside a block comment
            if re.search(r"\b(int|long|short|double|size_t)\b", code):
                bad.append(f"{path.name}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)
