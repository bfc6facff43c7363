"""Whether a firmware build is current, without asking PlatformIO.

PlatformIO's own up-to-date check costs about a second per run (its start-up, SCons reading
every dependency). The build folder is already named by a digest of the firmware tree and the
flags (harness.build.project_dir); a stamp beside the outputs records a digest of everything
else a build reads and the outputs it left (size, modification time). When both still hold, the
build is current and PlatformIO is not spawned.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .boards import Board

# What the generated project's configure script reads of the harness (firmware/scripts/configure.py).
_CONFIGURE_MODULES = ("boards.py", "build_config.py", "link/protocol.py", "link/protocol.yaml")
_TOOLCHAIN_PREFIX = {"arm": "arm-none-eabi-", "avr": "avr-"}  # as firmware/platform/builder/main.py


def build_inputs_digest(project: Path, ini: str, board: Board, environ: dict[str, str]) -> str:
    """A digest of what a build reads besides the firmware tree (whose digest names `project`):
    the project ini (flags, paths), the board file, the harness modules the configure script
    imports, $HIL_BUILD_ID, PlatformIO's version and the compiler binary on `environ`'s PATH."""
    import platformio  # noqa: PLC0415 (slow import)

    digest = hashlib.sha256()
    for text in (
        str(project),
        ini,
        environ.get("HIL_BUILD_ID", ""),
        platformio.__version__,
        _compiler_identity(board.arch, environ.get("PATH")),
    ):
        digest.update(text.encode() + b"\0")
    for path in (board.path, *(Path(__file__).parent / name for name in _CONFIGURE_MODULES)):
        digest.update(Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def _compiler_identity(arch: str, path: str | None) -> str:
    """Where the compiler is, its size and modification time: a changed toolchain rebuilds."""
    found = shutil.which(_TOOLCHAIN_PREFIX.get(arch, "") + "gcc", path=path)
    if found is None:
        return "no compiler"  # PlatformIO runs and says what is missing
    real = Path(found).resolve()
    info = real.stat()
    return f"{real} {info.st_size} {info.st_mtime_ns}"


@dataclass(frozen=True)
class BuildStamp:
    """The inputs digest of the last successful build and the outputs it left."""

    path: Path
    outputs: tuple[Path, ...]
    inputs: str

    def _state(self) -> dict[str, list[int]] | None:
        if not all(f.is_file() for f in self.outputs):
            return None
        return {f.name: [f.stat().st_size, f.stat().st_mtime_ns] for f in self.outputs}

    def current(self) -> bool:
        """Whether the outputs are those of a successful build of these inputs."""
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        state = self._state()
        return state is not None and saved == {"inputs": self.inputs, "outputs": state}

    def write(self) -> None:
        """Records a successful build (call it after PlatformIO returned 0)."""
        state = self._state()
        if state is not None:
            self.path.write_text(json.dumps({"inputs": self.inputs, "outputs": state}))
