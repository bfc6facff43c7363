"""Builds the firmware with PlatformIO, offline.

PlatformIO's registry is not needed: the development platform lives in `firmware/platform` and
uses the system toolchains, and the one core package PlatformIO insists on, `tool-scons`, is made
here from the `scons` module installed beside PlatformIO.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .boards import Board
from .errors import BuildError
from .progress import Progress

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"

# PlatformIO would otherwise spend about a minute per command trying to reach its servers.
PIO_ENVIRONMENT = {
    "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
    "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true",
    "PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL": "36500",
    "PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD": "0",
}


@dataclass(frozen=True)
class Firmware:
    board: str
    emulator: str
    pio_env: str
    elf: Path
    bin: Path
    hex: Path

    @property
    def size_bytes(self) -> int:
        return self.bin.stat().st_size


def pio_environ() -> dict[str, str]:
    return {**os.environ, **PIO_ENVIRONMENT}


def _core_dir() -> Path:
    return Path(os.environ.get("PLATFORMIO_CORE_DIR", Path.home() / ".platformio"))


def ensure_tool_scons() -> Path:
    """Installs PlatformIO's `tool-scons` package from the local `scons` module, once."""
    from platformio.dependencies import get_core_dependencies  # noqa: PLC0415 (slow import)

    requirement = get_core_dependencies()["tool-scons"]
    version = requirement.lstrip("~^=<> ")
    package = _core_dir() / "packages" / "tool-scons"
    manifest = package / "package.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("version") == version:
        return package
    try:
        import SCons  # noqa: F401,PLC0415
    except ImportError:
        raise BuildError("the `scons` Python package is missing: pip install scons") from None
    package.mkdir(parents=True, exist_ok=True)
    (package / "scons.py").write_text(
        "# Runs the SCons installed beside PlatformIO (made by harness.build).\n"
        "import sys\nfrom SCons.Script import main\nsys.exit(main())\n"
    )
    manifest.write_text(json.dumps({"name": "tool-scons", "version": version,
                                    "description": "SCons from PyPI, wrapped by the HIL harness"}))
    (package / ".piopm").write_text(json.dumps({
        "type": "tool", "name": "tool-scons", "version": version,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                 "requirements": None, "uri": None},
    }))
    return package


@contextlib.contextmanager
def _build_lock(build_root: Path, pio_env: str) -> Iterator[None]:
    """One build per environment at a time: parallel pytest workers share the build directory."""
    build_root.mkdir(parents=True, exist_ok=True)
    with open(build_root / f".{pio_env}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes or the process dies
        yield


def _run_counting_compiles(command: list[str], environ: dict[str, str],
                           progress: Progress) -> subprocess.CompletedProcess:
    """Runs the PlatformIO build, counting its "Compiling ..." lines on a bar (no total: an
    incremental build compiles only what changed); returns the output as subprocess.run would."""
    lines: list[str] = []
    with progress.bar(None, "compiled", "file") as bar:
        with subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) as process:
            for line in process.stdout:
                lines.append(line)
                if line.startswith("Compiling "):
                    bar.update()
    return subprocess.CompletedProcess(command, process.returncode, "".join(lines), "")


def build(board: Board, emulator: str, progress: Progress | None = None,
          extra_flags: list[str] | None = None) -> Firmware:
    """Builds (incrementally) the firmware variant for `board` under `emulator`.

    `extra_flags` (e.g. ["-DHIL_BALLAST_RAM_BYTES=4096"]) make a modified firmware, built in a
    directory of its own so the ordinary build stays cached.
    """
    variant = board.variant(emulator)
    if variant.pio_env is None:
        raise BuildError(f"board {board.name} has no firmware build for --emulator={emulator}")
    progress = progress or Progress.quiet()
    ensure_tool_scons()
    command = [sys.executable, "-m", "platformio", "run", "-d", str(FIRMWARE_DIR), "-e", variant.pio_env]
    environ, build_root = pio_environ(), FIRMWARE_DIR / ".pio" / "build"
    if extra_flags:
        digest = hashlib.sha256(" ".join(extra_flags).encode()).hexdigest()[:12]
        build_root = FIRMWARE_DIR / ".pio" / "variants" / digest
        environ.update(PLATFORMIO_BUILD_DIR=str(build_root), PLATFORMIO_BUILD_FLAGS=" ".join(extra_flags))
    with progress.step(f"building firmware {variant.pio_env} {' '.join(extra_flags or [])}".rstrip()):
        with _build_lock(build_root, variant.pio_env):
            result = _run_counting_compiles(command, environ, progress)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise BuildError(f"firmware build for {variant.pio_env} failed:\n{tail}")
    out = build_root / variant.pio_env
    return Firmware(board.name, emulator, variant.pio_env,
                    out / "firmware.elf", out / "firmware.bin", out / "firmware.hex")
