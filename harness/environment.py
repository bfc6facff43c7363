"""What a measurement ran on: harness version, emulator, toolchain and host (recorded in results
and shown in reports, so two numbers can be told apart by where they came from)."""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess

from . import __version__

TOOLCHAINS = {
    "arm": {"qemu": "qemu-system-arm", "toolchain": "arm-none-eabi-gcc"},  # by the board's arch
    "avr": {"qemu": "qemu-system-avr", "toolchain": "avr-gcc"},
}


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


def environment(arch: str = "arm") -> dict[str, str | None]:
    """harness, qemu, toolchain, python, host; `arch` (a board's) picks the emulator and compiler."""
    tools = TOOLCHAINS[arch]
    return {
        "harness": __version__,
        "qemu": tool_version(tools["qemu"]),
        "toolchain": tool_version(tools["toolchain"]),
        "python": platform.python_version(),
        "host": f"{platform.node()} ({platform.system()} {platform.release()}, {platform.machine()})",
    }
