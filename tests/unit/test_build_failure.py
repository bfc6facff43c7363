"""A failed firmware build is one line naming the compiler's or linker's errors, with the whole
output in a log file (the device tests that make the linker fail match these lines)."""

from __future__ import annotations

import subprocess

import pytest

from harness.build import build_failure

LD = "/usr/lib/gcc/arm-none-eabi/12.2.1/../../../arm-none-eabi/bin/ld"
OUTPUTS = {  # build output: what the one line shows
    "compile error": (
        "Compiling .pio/build/x/src/main.o\nsrc/main.c:3:1: error: unknown type name 'this'\n"
        "*** [.pio/build/x/src/main.o] Error 1\n========= [FAILED] Took 1.0 seconds =========\n",
        "x failed: src/main.c:3:1: error: unknown type name 'this' (full output in ",
    ),
    "RAM overflow": (
        f"Linking firmware.elf\n{LD}: firmware.elf section `.bss' will not fit in region `RAM'\n"
        f"{LD}: region `RAM' overflowed by 9 bytes\ncollect2: error: ld returned 1 exit status\n",
        "x failed: ld: firmware.elf section `.bss' will not fit in region `RAM' "
        "| ld: region `RAM' overflowed by 9 bytes",
    ),
    "linker assertion": (
        f"{LD}: RAM overflow: less than MIN_STACK_SIZE left for the stack\n",
        "x failed: ld: RAM overflow: less than MIN_STACK_SIZE left for the stack",
    ),
    "AVR data": (
        "avr-ld: address 0x800900 of firmware.elf section `.data' is not within region `data'\n",
        "not within region `data'",
    ),
    "no error line": ("something went wrong\n\n", "x failed: something went wrong (full output in "),
}


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_failed_build_is_one_line_with_a_log(name, tmp_path):
    output, shown = OUTPUTS[name]
    error = build_failure("x", subprocess.CompletedProcess([], 1, output, ""), tmp_path / "build.log")
    assert "\n" not in str(error) and shown in str(error), str(error)
    assert (tmp_path / "build.log").read_text() == output and str(tmp_path / "build.log") in str(error)
