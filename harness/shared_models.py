"""Where the third-party models are, and how model paths are recorded in results and baselines.

The models are read from `../shared/models` beside the repository (an installed harness: beside
the current project), never copied into the repository. `$HIL_SHARED_MODELS` names another
folder (a CI runner that keeps them elsewhere).

A recorded model path is relative to the user's project (harness/resources.py) and starts with
`./` or `../`; older files recorded paths relative to the shared models folder (no such prefix),
which still resolve.
"""

from __future__ import annotations

import os
from pathlib import Path

from .resources import CHECKOUT_ROOT, INSTALLED_DATA, project_dir


def shared_models_dir() -> Path:
    env = os.environ.get("HIL_SHARED_MODELS")
    if env:
        return Path(env)
    home = project_dir() if INSTALLED_DATA.is_dir() else CHECKOUT_ROOT
    return home.resolve().parent / "shared" / "models"


SHARED_MODELS = shared_models_dir()
_PROJECT_RELATIVE = ("./", "../")


def portable_path(path: Path | str) -> str:
    """A model path to record (results, baselines): relative to the project, `./` or `../` first."""
    relative = Path(os.path.relpath(Path(path).resolve(), project_dir().resolve())).as_posix()
    return relative if relative.startswith("../") else f"./{relative}"


def resolve_path(recorded: str) -> Path:
    """The inverse of portable_path, on this machine; also reads the older shared-models form."""
    path = Path(recorded)
    if path.is_absolute():
        return path
    if recorded.startswith(_PROJECT_RELATIVE):
        return project_dir() / path
    return SHARED_MODELS / path
