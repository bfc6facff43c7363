"""Builds the instruction-counting QEMU plugin on demand and makes its `-plugin` argument.

The plugin (tools/qemu_plugin/insn_regions.c) is compiled with the host's C compiler into a
shared object cached in the harness's build cache (`$HIL_BUILD_DIR`, harness/resources.py), keyed
by the harness version and a hash of its sources, so a changed plugin rebuilds itself and
parallel runs share one build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from .. import __version__
from ..errors import HarnessError
from ..resources import build_root, qemu_plugin_dir

SOURCES = ("insn_regions.c", "qemu_plugin_api.h")
MARKS_SYMBOL = "metrics_plugin_marks"
MARK_FUNCTION = "metrics_plugin_mark"
# The device SDK's model runner marks its invoke and its timing hooks the same way
# (firmware/sdk/src/hil_runner.c): a user's firmware has these instead of src/metrics'.
RUNNER_MARKS = ("hil_runner_plugin_marks", "hil_runner_plugin_mark")


class PluginError(HarnessError):
    """The instruction-counting plugin could not be built or attached."""


def build_plugin() -> Path:
    """Returns the path of the compiled plugin, compiling it first if its sources changed."""
    source_dir = qemu_plugin_dir()
    digest = hashlib.sha256(b"".join((source_dir / name).read_bytes() for name in SOURCES)).hexdigest()[:16]
    target = build_root() / "qemu_plugin" / f"insn_regions-v{__version__}-{digest}.so"
    if target.is_file():
        return target
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise PluginError("no host C compiler (gcc) to build the QEMU plugin: apt-get install gcc")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".so", delete=False) as partial:
        partial_path = Path(partial.name)
    result = subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fvisibility=hidden",
            "-o",
            str(partial_path),
            str(source_dir / "insn_regions.c"),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        partial_path.unlink(missing_ok=True)
        raise PluginError(f"building the QEMU plugin failed: {result.stderr.strip()[-2000:]}")
    partial_path.replace(target)  # atomic: a concurrent run sees a whole file or none
    return target


def _symbols(elf: Path, names: tuple[str, str]) -> dict[str, tuple[int, int]]:
    with elf.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        if not isinstance(table, SymbolTableSection):
            raise PluginError(f"{elf} has no symbol table: cannot find the metrics markers")
        return {sym.name: (sym["st_value"], sym["st_size"]) for sym in table.iter_symbols() if sym.name in names}


def region_slots(elf: Path, marks: tuple[str, str] = (MARKS_SYMBOL, MARK_FUNCTION)) -> int:
    """How many region ids the firmware has (its marks array holds a begin and an end per id)."""
    symbols = _symbols(elf, marks)
    if marks[0] not in symbols:
        raise PluginError(f"{elf} lacks {marks[0]}: is src/metrics (or the SDK's runner) compiled in?")
    return symbols[marks[0]][1] // 2


def plugin_arguments(elf: Path, out: Path, marks: tuple[str, str] = (MARKS_SYMBOL, MARK_FUNCTION)) -> list[str]:
    """QEMU arguments that load the plugin for firmware `elf`, writing region counts to `out`;
    `marks` names the marks array and the marking function (src/metrics', or RUNNER_MARKS)."""
    symbols = _symbols(elf, marks)
    missing = set(marks) - symbols.keys()
    if missing:
        raise PluginError(
            f"{elf} lacks {', '.join(sorted(missing))}: is src/metrics (or the SDK's runner) compiled in?"
        )
    marks_address, marks_size = symbols[marks[0]]
    regions = marks_size // 2
    function, function_size = symbols[marks[1]]
    start = function & ~1  # Thumb bit
    options = [
        f"out={out}",
        f"marks={marks_address:#x}",
        f"regions={regions}",
        f"mark_lo={start:#x}",
        f"mark_hi={start + function_size:#x}",
    ]
    if any("," in option for option in options):
        raise PluginError(f"QEMU cannot take a plugin output path with a comma: {out}")
    return ["-plugin", ",".join([str(build_plugin()), *options])]
