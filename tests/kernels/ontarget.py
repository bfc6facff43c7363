"""Run kernel cases on emulated targets (QEMU): AVR (ATmega2560, 16-bit int)
and Cortex-M7 (mps2-an500, hard float).

A case is one kernel call: constant input buffers (raw little-endian bytes,
so int32/float parameter structs keep their layout, which has no pointers
and no padding on any target), a C call expression, and the size of the
output. ontarget.py writes runner_main.c, cross-compiles it with the kernels
and runner.c, runs it in QEMU and returns each case's (return code, output
bytes).
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import numpy as np
from kernels_lib import KERNEL_DIR, KERNEL_SOURCES

HERE = pathlib.Path(__file__).resolve().parent / "ontarget"

TARGETS = {
    "avr": dict(
        cc=["avr-gcc", "-mmcu=atmega2560", "-Os"],
        qemu="qemu-system-avr",
        qemu_args=["-M", "mega2560", "-nographic", "-serial", "stdio", "-monitor", "none"],
        image_flag="-bios",
        extra_sources=[],
        ldflags=[],
    ),
    "cortex-m7": dict(
        cc=["arm-none-eabi-gcc", "-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-O2"],
        qemu="qemu-system-arm",
        qemu_args=[
            "-M",
            "mps2-an500",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
        ],
        image_flag="-kernel",
        extra_sources=[HERE / "startup_cortexm.c"],
        ldflags=["-nostdlib", "-nostartfiles", "-T", str(HERE / "cortexm.ld"), "-lgcc"],
    ),
}

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]


def available(target: str) -> bool:
    t = TARGETS[target]
    return shutil.which(t["cc"][0]) is not None and shutil.which(t["qemu"]) is not None


@dataclass
class Case:
    """One kernel call. Buffers are declared in order; `call` is C code using their names."""

    decls: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    data: list[tuple[str, bytes]] = field(default_factory=list)
    out_name: str = ""
    out_bytes: int = 0
    call: str = ""

    def buf(self, name: str, value, ctype: str) -> str:
        """A RAM copy of constant data; value: numpy array or ctypes Structure."""
        raw = bytes(value) if isinstance(value, ctypes.Structure) else np.ascontiguousarray(value).tobytes()
        self.data.append((name, raw))
        self.body.append(f"{ctype} *{name} = ({ctype} *)runner_take(@{name}_data, {len(raw)});")
        return name

    def out(self, name: str, ctype: str, nbytes: int) -> str:
        self.out_name, self.out_bytes = name, nbytes
        self.body.append(f"{ctype} *{name} = ({ctype} *)runner_alloc({nbytes});")
        return name

    def line(self, code: str):
        self.body.append(code)


def render(cases: list[Case]) -> str:
    parts = ['#include "runner.h"', ""]
    for i, c in enumerate(cases):
        for name, raw in c.data:
            vals = ",".join(str(b) for b in raw) or "0"
            parts.append(f"static const uint8_t c{i}_{name}_data[{max(len(raw), 1)}] RUNNER_FLASH = {{{vals}}};")
        parts.append(f"static void case_{i}(void) {{")
        parts.append("    runner_reset();")
        for line in c.body:
            parts.append("    " + line.replace("@", f"c{i}_"))
        parts.append(f"    int32_t rc = {c.call};")
        parts.append(f"    runner_emit({i}, rc, {c.out_name}, {c.out_bytes});")
        parts.append("}")
    parts.append("int main(void) {")
    parts.append("    runner_init();")
    for i in range(len(cases)):
        parts.append(f"    case_{i}();")
    parts.append("    runner_done();")
    parts.append("    return 0;")
    parts.append("}")
    return "\n".join(parts) + "\n"


def build(target: str, cases: list[Case], work: pathlib.Path) -> pathlib.Path:
    t = TARGETS[target]
    main_c = work / "runner_main.c"
    main_c.write_text(render(cases))
    elf = work / f"kernels_{target}.elf"
    sources = [str(p) for p in KERNEL_SOURCES] + [str(HERE / "runner.c"), str(main_c)]
    sources += [str(p) for p in t["extra_sources"]]
    cmd = [*t["cc"], *CFLAGS, "-I", str(KERNEL_DIR), "-I", str(HERE), "-o", str(elf), *sources, *t["ldflags"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"build for {target} failed:\n{r.stderr}")
    if target == "avr":
        # memcpy_P and the start-up copy of .data read flash with 16-bit addresses in this setup:
        # the whole image must stay below 64 KB.
        sizes = subprocess.run(["avr-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
        flash = sum(int(line.split()[1]) for line in sizes.splitlines() if line.startswith((".text", ".data")))
        if flash >= 60 * 1024:
            raise RuntimeError(f"AVR image too large ({flash} bytes): use fewer cases per image")
    return elf


def run(target: str, elf: pathlib.Path, n_cases: int, timeout: float = 120.0) -> dict[int, tuple[int, bytes]]:
    """Run the image in QEMU until END (or timeout); returns {case: (rc, output bytes)}."""
    t = TARGETS[target]
    proc = subprocess.Popen(
        [t["qemu"], *t["qemu_args"], t["image_flag"], str(elf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"END\n" not in buf and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break  # QEMU exited
                buf += chunk
                if len(buf) > 16 * 1024 * 1024:
                    break  # runaway output
    finally:
        proc.kill()
        proc.wait()
    results: dict[int, tuple[int, bytes]] = {}
    lines = buf.decode("ascii", errors="replace").splitlines()
    for line in lines:
        if line.startswith("R "):
            _, case, rc, *hexdata = line.strip().split(" ")
            results[int(case)] = (int(rc), bytes.fromhex(hexdata[0] if hexdata else ""))
    if len(results) != n_cases:
        tail = "\n".join(lines[-5:])
        raise RuntimeError(f"{target}: got {len(results)} of {n_cases} results; last output:\n{tail}")
    return results
