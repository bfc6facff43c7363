"""What a measurement ran on: harness version, emulator, toolchain and host (recorded in results
and shown in reports, so two numbers can be told apart by where they came from)."""
from __future__ import annotations

import functools
import platform
import shutil
import subprocess

from . import __version__

TOOLCHAINS = {"qemu": ("qemu-system-arm", "qemu-system-avr"), "toolchain": ("arm-none-eabi-gcc", "avr-gcc")}


@functools.cache
def tool_version(program: str) -> str | None:
    """The first line of `program --version`, or None when it is not installed."""
    if not shutil.which(program):
        return None
    try:
        done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def environment(avr: bool = False) -> dict[str, str | None]:
    """harness, qemu, toolchain, python, host; avr picks the AVR emulator and compiler."""
    pick = 1 if avr else 0
    return {"harness": __version__,
            "qemu": tool_version(TOOLCHAINS["qemu"][pick]),
            "toolchain": tool_version(TOOLCHAINS["toolchain"][pick]),
            "python": platform.python_version(),
            "host": f"{platform.node()} ({platform.system()} {platform.release()}, {platform.machine()})"}
