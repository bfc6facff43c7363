"""Reading the files a user names: models, inputs, calibration data, results and baselines.

A path is checked to be a regular file before it is opened: opening a FIFO blocks until a writer
appears (`hil pack` hung on one), and a directory or a device is never what the user meant.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import HarnessError


def check_regular_file(path: str | Path, what: str, error: type[HarnessError] = HarnessError) -> Path:
    """`path` as a Path if it names a regular file; else `error` naming the path and what it is."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise error(f"{path}: cannot read {what} (it is {_kind(mode)}, not a regular file)")
    return path


def read_regular_file(path: str | Path, what: str, error: type[HarnessError] = HarnessError) -> bytes:
    """The bytes of the regular file `path`; `error` with a one-line reason otherwise."""
    path = check_regular_file(path, what, error)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")
