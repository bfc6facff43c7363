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


def _symbols(elf: Path) -> dict[str, tuple[int, int]]:
    with elf.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        if not isinstance(table, SymbolTableSection):
            raise PluginError(f"{elf} has no symbol table: cannot find the metrics markers")
        return {
            sym.name: (sym["st_value"], sym["st_size"])
            for sym in table.iter_symbols()
            if sym.name in (MARKS_SYMBOL, MARK_FUNCTION)
        }


def plugin_arguments(elf: Path, out: Path) -> list[str]:
    """QEMU arguments that load the plugin for firmware `elf`, writing region counts to `out`."""
    symbols = _symbols(elf)
    missing = {MARKS_SYMBOL, MARK_FUNCTION} - symbols.keys()
    if missing:
        raise PluginError(f"{elf} lacks {', '.join(sorted(missing))}: is src/metrics compiled in?")
    marks, marks_size = symbols[MARKS_SYMBOL]
    regions = marks_size // 2
    function, function_size = symbols[MARK_FUNCTION]
    start = function & ~1  # Thumb bit
    options = [
        f"out={out}",
        f"marks={marks:#x}",
        f"regions={regions}",
        f"mark_lo={start:#x}",
        f"mark_hi={start + function_size:#x}",
    ]
    if any("," in option for option in options):
        raise PluginError(f"QEMU cannot take a plugin output path with a comma: {out}")
    return ["-plugin", ",".join([str(build_plugin()), *options])]
