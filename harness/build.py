"""Builds the firmware with PlatformIO, offline, into the per-user build cache.

PlatformIO's registry is not needed: the development platform lives in `firmware/platform` and
uses the system toolchains, and the one core package PlatformIO insists on, `tool-scons`, is made
here from the `scons` module installed beside PlatformIO.

Each build runs in a PlatformIO project generated under `harness.resources.build_root()`
(`$HIL_BUILD_DIR`), whose platformio.ini points at the firmware sources wherever they are (a
checkout, or site-packages), so nothing is written beside them. Its folder is named by the
harness version, a digest of the firmware sources and a digest of the extra flags: two harness
versions or flag sets never share a build. A build whose inputs and outputs are as the last
successful one left them returns without spawning PlatformIO (build_stamp.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from . import __version__
from .boards import Board
from .build_stamp import BuildStamp, build_inputs_digest
from .errors import BuildError
from .input_files import check_regular_file
from .progress import Progress
from .resources import build_key, build_root, firmware_dir

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
    manifest.write_text(
        json.dumps(
            {"name": "tool-scons", "version": version, "description": "SCons from PyPI, wrapped by the HIL harness"}
        )
    )
    (package / ".piopm").write_text(
        json.dumps(
            {
                "type": "tool",
                "name": "tool-scons",
                "version": version,
                "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None},
            }
        )
    )
    return package


@contextlib.contextmanager
def _build_lock(project: Path) -> Iterator[None]:
    """One build per project at a time: parallel pytest workers share the build directory."""
    project.mkdir(parents=True, exist_ok=True)
    with open(project / ".build.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes or the process dies
        yield


def _run_counting_compiles(
    command: list[str], environ: dict[str, str], progress: Progress
) -> subprocess.CompletedProcess:
    """Runs the PlatformIO build, counting its "Compiling ..." lines on a bar (no total: an
    incremental build compiles only what changed); returns the output as subprocess.run would."""
    lines: list[str] = []
    with (
        progress.bar(None, "compiled", "file") as bar,
        subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process,
    ):
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Compiling "):
                bar.update()
    return subprocess.CompletedProcess(command, process.returncode, "".join(lines), "")


def flags_digest(extra_flags: list[str]) -> str:
    return hashlib.sha256(" ".join(extra_flags).encode()).hexdigest()[:6]


def project_ini(board: Board, emulator: str, pio_env: str, firmware: Path, extra_flags: list[str]) -> str:
    """The platformio.ini of a generated build project: one environment, sources elsewhere.

    Its platforms folder is its own: PlatformIO keeps one `hil` platform per platforms folder, and
    checkouts and installed copies sharing ~/.platformio/platforms would replace each other's."""
    lines = [
        "; generated by harness.build: builds the harness firmware here, outside its sources",
        "[platformio]",
        f"src_dir = {firmware / 'src'}",
        f"include_dir = {firmware / 'sdk' / 'include'}",
        "platforms_dir = .platforms",
        f"default_envs = {pio_env}",
        "",
        f"[env:{pio_env}]",
        f"platform = symlink://{firmware / 'platform'}",
        f"extra_scripts = pre:{firmware / 'scripts' / 'configure.py'}",
        "upload_protocol = custom",
        f'upload_command = echo "use: hil flash --board {board.name}" && false',
        f"custom_board = {board.name}",
        f"custom_board_file = {board.path}",
        f"custom_emulator = {emulator}",
        f"custom_arch = {board.arch}",
        f"custom_firmware_dir = {firmware}",
    ]
    if extra_flags:
        lines += [f"build_flags = {' '.join(extra_flags)}", f"custom_flags_digest = {flags_digest(extra_flags)}"]
    return "\n".join(lines) + "\n"


def project_dir(pio_env: str, extra_flags: list[str]) -> Path:
    """The cache folder a build of `pio_env` with `extra_flags` runs in."""
    return build_root() / "firmware" / build_key([firmware_dir()], extra_flags) / pio_env


def build(
    board: Board, emulator: str, progress: Progress | None = None, extra_flags: list[str] | None = None
) -> Firmware:
    """Builds (incrementally) the firmware variant for `board` under `emulator`.

    `extra_flags` (e.g. ["-DHIL_BALLAST_RAM_BYTES=4096"]) make a modified firmware, built in a
    directory of its own so the ordinary build stays cached.
    """
    variant = board.variant(emulator)
    if variant.pio_env is None:
        raise BuildError(f"board {board.name} has no firmware build for --emulator={emulator}")
    progress = progress or Progress.quiet()
    ensure_tool_scons()
    extra_flags = list(extra_flags or [])
    project = project_dir(variant.pio_env, extra_flags)
    ini = project_ini(board, emulator, variant.pio_env, firmware_dir(), extra_flags)
    command = [sys.executable, "-m", "platformio", "run", "-d", str(project), "-e", variant.pio_env]
    out = project / ".pio" / "build" / variant.pio_env
    firmware = Firmware(
        board.name, emulator, variant.pio_env, out / "firmware.elf", out / "firmware.bin", out / "firmware.hex"
    )
    with progress.step(f"building firmware {variant.pio_env} {' '.join(extra_flags)}".rstrip()), _build_lock(project):
        ini_path = project / "platformio.ini"
        if not ini_path.is_file() or ini_path.read_text() != ini:
            ini_path.write_text(ini)
        stamp = BuildStamp(
            out / "hil_inputs.json",
            (firmware.elf, firmware.bin, firmware.hex),
            build_inputs_digest(project, ini, board, pio_environ()),
        )
        if stamp.current():
            return firmware
        result = _run_counting_compiles(command, pio_environ(), progress)
        if result.returncode == 0:
            stamp.write()
    if result.returncode != 0:
        raise build_failure(f"firmware build for {variant.pio_env}", result, project / "build.log")
    return firmware


# Lines of a compiler's or linker's output that say why a build failed.
_BUILD_ERROR = re.compile(r"error|overflow|not within region|undefined reference|\bld(\.bfd)?: ", re.IGNORECASE)
SHOWN_BUILD_ERRORS = 4
_TOOL_PATH = re.compile(r"^/\S*/([\w.+-]+: )")  # "/usr/lib/gcc/.../bin/ld: " -> "ld: "


def build_failure(what: str, result: subprocess.CompletedProcess, log: Path) -> BuildError:
    """One line for a failed build: its first error lines, and the log file that holds all of
    its output (a build's output is dozens of lines; the error is one or two of them)."""
    output = result.stdout + result.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    lines = [_TOOL_PATH.sub(r"\1", line.strip()) for line in output.splitlines()]
    errors = [
        line for line in lines if _BUILD_ERROR.search(line) and "warning" not in line and not line.startswith("*** [")
    ]
    shown = " | ".join(errors[:SHOWN_BUILD_ERRORS]) or next((line for line in reversed(lines) if line), "no output")
    return BuildError(f"{what} failed: {shown} (full output in {log})")


# -- a firmware of the user's own (docs/byo_firmware.md) -----------------------------------------


# ELF header fields a firmware for each board architecture has (e_machine: EM_ARM, EM_AVR).
ELF_MACHINES = {"arm": 40, "avr": 83}
ELF_HEADER = struct.Struct("<4sBBBxxxxxxxxxHH")  # magic, class, data, version; type, machine
ELF32_HEADER_BYTES = 52
MAX_ELF_BYTES = 256 * 1024 * 1024  # far above any microcontroller firmware with its debug info


def prebuilt(elf: str | Path, board: Board, emulator: str) -> Firmware:
    """A firmware built elsewhere (`--firmware ELF`): its .bin and .hex are expected beside it
    (they are what a real board's flasher takes; QEMU boots the ELF itself). The file must be a
    32-bit little-endian executable ELF for the board's architecture: QEMU given anything else
    fails to load it with no reason the user sees."""
    path = check_regular_file(elf, "firmware ELF file", BuildError)
    size = path.stat().st_size
    if size > MAX_ELF_BYTES:
        raise BuildError(f"{elf}: {size} bytes is no microcontroller firmware ELF (limit {MAX_ELF_BYTES})")
    with open(path, "rb") as image:
        header = image.read(ELF32_HEADER_BYTES)
    if not header.startswith(b"\x7fELF"):
        raise BuildError(f"{elf}: not an ELF file (give the firmware's .elf)")
    problem = _elf_header_problem(header, board.arch) or _elf_layout_problem(path, size)
    if problem:
        raise BuildError(f"{elf}: {problem}, not a firmware for {board.name} ({board.arch})")
    variant = board.variant(emulator)
    return Firmware(
        board.name, emulator, variant.pio_env or "", path, path.with_suffix(".bin"), path.with_suffix(".hex")
    )


def _elf_header_problem(header: bytes, arch: str) -> str | None:
    """What in an ELF header does not fit a 32-bit little-endian executable for `arch`."""
    if len(header) < ELF_HEADER.size:
        return f"the ELF header is cut short ({len(header)} bytes)"
    _, elf_class, data, _, kind, machine = ELF_HEADER.unpack_from(header)
    if elf_class != 1 or data != 1:
        return "a 64-bit or big-endian ELF file"
    if kind != 2:  # ET_EXEC: a linked program, not an object file or a shared library
        return f"an ELF file of type {kind} (not an executable)"
    if machine != ELF_MACHINES[arch]:
        return f"an ELF file for machine {machine} (want {ELF_MACHINES[arch]})"
    if len(header) < ELF32_HEADER_BYTES:
        return f"the ELF header is cut short ({len(header)} bytes)"
    return None


def _elf_layout_problem(path: Path, size: int) -> str | None:
    """What makes the ELF's section and segment tables unreadable, or points them past the file's
    end (a cut-short copy): the memory figures and QEMU's loader read both."""
    try:
        with open(path, "rb") as stream:
            elf = ELFFile(stream)
            for section in elf.iter_sections():
                if section["sh_type"] != "SHT_NOBITS" and section["sh_offset"] + section["sh_size"] > size:
                    return f"section {section.name or section['sh_name']} lies past the file's end (a cut-short ELF)"
            for segment in elf.iter_segments():
                if segment["p_offset"] + segment["p_filesz"] > size:
                    return "a program segment lies past the file's end (a cut-short ELF)"
    except (ELFError, struct.error, ValueError) as exc:
        return f"an ELF file that cannot be read ({exc})"
    return None


def project_environment(project: Path, board: Board, emulator: str) -> str:
    """The environment of a user's PlatformIO project that builds for `board` under `emulator`:
    the one named as the board file's `pio_env` for that variant (nucleo_f746_qemu, ...)."""
    ini = project / "platformio.ini"
    if not ini.is_file():
        raise BuildError(f"{project}: not a PlatformIO project (no platformio.ini)")
    pio_env = board.variant(emulator).pio_env
    if pio_env is None:
        raise BuildError(f"board {board.name} has no firmware environment for --emulator={emulator}")
    if f"[env:{pio_env}]" not in ini.read_text(errors="replace"):
        raise BuildError(
            f"{ini}: no [env:{pio_env}] environment, which --board {board.name} --emulator {emulator} builds"
        )
    return pio_env


def build_project(
    project: str | Path,
    board: Board,
    emulator: str,
    model: str | Path | None = None,
    progress: Progress | None = None,
    extra_flags: list[str] | None = None,
) -> Firmware:
    """Builds a user's PlatformIO project (`--firmware-project DIR`) for `board`: its environment
    named as the board's pio_env, with HIL_MODEL=`model` (the project's build script compiles it
    in), HIL_FIRMWARE_DIR the harness's firmware folder (its platform and SDK, wherever the
    harness is installed: the project's platformio.ini may name them through it) and
    `extra_flags` as PLATFORMIO_BUILD_FLAGS. The build goes to the harness's build cache, one
    folder per project, model, flag set and harness (version and firmware folder), so the
    project's tree gets no build output and two harnesses never share a build."""
    project = Path(project).resolve()
    pio_env = project_environment(project, board, emulator)
    progress = progress or Progress.quiet()
    ensure_tool_scons()
    extra_flags = list(extra_flags or [])
    model_path = str(Path(model).resolve()) if model else ""
    harness = [__version__, str(firmware_dir())]
    key = hashlib.sha256("\0".join([str(project), model_path, *extra_flags, *harness]).encode()).hexdigest()[:12]
    work = build_root() / "projects" / f"{project.name}-{key}"
    environ = {
        **pio_environ(),
        "HIL_MODEL": model_path,
        "HIL_FIRMWARE_DIR": str(firmware_dir()),
        "PLATFORMIO_BUILD_DIR": str(work / "build"),
        "PLATFORMIO_LIBDEPS_DIR": str(work / "libdeps"),
        "PLATFORMIO_PLATFORMS_DIR": str(work / "platforms"),
    }
    if extra_flags:
        environ["PLATFORMIO_BUILD_FLAGS"] = " ".join(extra_flags)
    command = [sys.executable, "-m", "platformio", "run", "-d", str(project), "-e", pio_env]
    with progress.step(f"building {project.name} ({pio_env}) {' '.join(extra_flags)}".rstrip()), _build_lock(work):
        result = _run_counting_compiles(command, environ, progress)
    if result.returncode != 0:
        raise build_failure(f"build of {project} ({pio_env})", result, work / "build.log")
    out = work / "build" / pio_env
    return Firmware(board.name, emulator, pio_env, out / "firmware.elf", out / "firmware.bin", out / "firmware.hex")
