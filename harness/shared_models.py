"""Where the third-party models are: `../shared/models` beside the repository.

They are read from there, never copied into the repository. `$HIL_SHARED_MODELS` names another
folder (a CI runner that keeps them elsewhere).
"""
from __future__ import annotations

import os
from pathlib import Path


def shared_models_dir() -> Path:
    env = os.environ.get("HIL_SHARED_MODELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "models"


SHARED_MODELS = shared_models_dir()


def portable_path(path: Path | str) -> str:
    """A model path to record (results, baselines): relative to the shared models when inside."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(SHARED_MODELS.resolve()))
    except ValueError:
        return str(resolved)


def resolve_path(recorded: str) -> Path:
    """The inverse of portable_path, on this machine."""
    path = Path(recorded)
    return path if path.is_absolute() else SHARED_MODELS / path
