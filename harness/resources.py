"""Where the harness's own files are (board files, firmware sources, the QEMU plugin, models),
where it writes its builds, and which folder is the user's project.

From a checkout they are the repository's top-level folders; an installed wheel carries the same
folders as package data under `harness/_data/` (setup.py copies them there when it builds). Every
module finds them through here, so both layouts work unchanged.

Builds never go beside the sources (site-packages may be read-only and is shared by every
project): they go to `$HIL_BUILD_DIR`, by default the user's cache directory
(`$XDG_CACHE_HOME/hil/build`, `~/.cache/hil/build`; `~/Library/Caches/hil/build` on macOS,
`%LOCALAPPDATA%\\hil\\build` on Windows).

The user's project (where baselines go, and what recorded model paths are relative to) is the
pytest rootdir under pytest, else `$HIL_PROJECT_DIR`, else the current directory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from . import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
INSTALLED_DATA = PACKAGE_DIR / "_data"
CHECKOUT_ROOT = PACKAGE_DIR.parent
# What the wheel carries: the name under harness/_data/ and where it lives in a checkout.
DATA_FOLDERS = {"boards": "boards", "firmware": "firmware", "qemu_plugin": "tools/qemu_plugin", "models": "models"}


def data_path(name: str) -> Path:
    """One of DATA_FOLDERS: the installed copy when there is one, else the checkout's folder."""
    installed = INSTALLED_DATA / name
    return installed if installed.is_dir() else CHECKOUT_ROOT / DATA_FOLDERS[name]


def builtin_boards_dir() -> Path:
    return data_path("boards")


def firmware_dir() -> Path:
    return data_path("firmware")


def qemu_plugin_dir() -> Path:
    return data_path("qemu_plugin")


def models_dir() -> Path:
    return data_path("models")


def user_cache_dir() -> Path:
    """The platform's per-user cache directory for the harness."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "hil"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "hil"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hil"


def build_root() -> Path:
    """Where firmware and plugin builds go: $HIL_BUILD_DIR, else <user cache>/build."""
    env = os.environ.get("HIL_BUILD_DIR")
    return Path(env).expanduser() if env else user_cache_dir() / "build"


def tree_digest(folders: Iterable[Path], skip: tuple[str, ...] = (".pio", "__pycache__")) -> str:
    """SHA-256 over the names and contents of every file under `folders` (sorted, so stable)."""
    digest = hashlib.sha256()
    for top in folders:
        for folder, subfolders, files in sorted(os.walk(top)):
            subfolders[:] = sorted(name for name in subfolders if name not in skip)
            for name in sorted(files):
                path = Path(folder, name)
                digest.update(str(path.relative_to(top)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_key(sources: list[Path], flags: Iterable[str] = ()) -> str:
    """A build directory name no other harness version, source tree (its contents and where it
    is: a checkout and an installed copy never share) or flag set shares."""
    place = "\0".join(str(path.resolve()) for path in sources)
    source_digest = hashlib.sha256((tree_digest(sources) + place).encode()).hexdigest()[:12]
    flag_digest = hashlib.sha256("\0".join(flags).encode()).hexdigest()[:8]
    return f"v{__version__}-src{source_digest}-flags{flag_digest}"


_project_dir: Path | None = None


def set_project_dir(path: Path) -> None:
    """Makes `path` the project (the pytest plugin sets its rootdir)."""
    global _project_dir
    _project_dir = Path(path)


def project_dir() -> Path:
    if _project_dir is not None:
        return _project_dir
    env = os.environ.get("HIL_PROJECT_DIR")
    return Path(env).expanduser() if env else Path.cwd()
