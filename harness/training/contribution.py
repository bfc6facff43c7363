"""The paper's contribution analysis (Lin et al. 2022, sparse update), measured on the host reference.

Each candidate piece of a sparse update (a layer's bias, or the first fraction r of its weights'
input channels) is trained alone, with the new head (which always trains), by the bit-exact host
reference for a fixed number of steps; its contribution is the validation accuracy gained over
training the head alone (each the mean of CHECKPOINTS checkpoints over the second half of the
steps). The planner then assumes the contributions add up (as the paper does) and picks the
scheme under the budget with the largest sum.

The validation split is the last quarter of the training samples (the held-out set the run
reports stays unseen); samples are taken in order, cycling, as in a run. Nothing here draws a
random number: the result depends only on the setup (its head is initialised from the task's
seed), the data and the step count. Results are cached by the sha256 of all of those.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..resources import user_cache_dir
from .reference import TrainingReference
from .setup import PARAMETRIC, TrainingSetupError, TrainSetup, pack

ANALYSIS_STEPS = 200  # per piece: long enough that the head alone moves off chance on the VWW task
# Batch-1 SGD oscillates: one piece's accuracy is the mean of this many checkpoints spread over
# the second half of its steps (at 5/8, 6/8, 7/8 and 8/8 of them), not the last step alone.
CHECKPOINTS = 4
ANALYSIS_VERSION = 2  # bump when the measurement changes: old cache entries are then never read


@dataclass(frozen=True)
class Piece:
    """One candidate of the search: a layer's bias, or its weights' first `channels` input channels."""

    layer: int
    name: str
    part: str  # "bias" or "weights"
    ratio: float  # of the input channels (weights); 0 for a bias
    channels: int


@dataclass
class Contributions:
    """Measured validation accuracy of the head alone and of each piece trained with it."""

    baseline: float
    accuracy: dict[Piece, float]
    steps: int
    validation_samples: int
    seconds: float = 0.0  # what the measurement took (when it was made, for a cached one)
    cached: bool = False

    def gain(self, piece: Piece) -> float:
        return self.accuracy[piece] - self.baseline

    def scheme_gain(self, scheme: list[dict]) -> float:
        """The sum of the contributions a plan's scheme rows (planner.evaluate) train."""
        total = 0.0
        for row in scheme:
            for piece in self.accuracy:
                if piece.layer != row["layer"]:
                    continue
                if (piece.part == "bias" and row["bias"]) or (
                    piece.part == "weights" and piece.channels == row["channels"]
                ):
                    total += self.gain(piece)
        return total

    def summary(self) -> dict:
        return {
            "method": "measured",
            "baseline_accuracy": self.baseline,
            "steps_per_piece": self.steps,
            "validation_samples": self.validation_samples,
            "seconds": round(self.seconds, 1),
            "cached": self.cached,
            "pieces": [
                {**asdict(piece), "accuracy": self.accuracy[piece], "gain": self.gain(piece)} for piece in self.accuracy
            ],
        }


def candidate_pieces(setup: TrainSetup, ratios: dict[str, tuple[float, ...]]) -> list[Piece]:
    """Every piece the planner can choose: per parametric layer but the head (the last one), its
    bias and each nonzero channel ratio of `ratios[kind]`."""
    dense = [i for i, layer in enumerate(setup.layers) if layer.kind in PARAMETRIC][:-1]
    pieces = []
    for i in dense:
        layer = setup.layers[i]
        name = layer.name or layer.kind
        pieces.append(Piece(i, name, "bias", 0.0, 0))
        seen = {0}  # a ratio that rounds to no channel, or to another ratio's count, is no new piece
        for ratio in ratios[layer.kind]:
            channels = int(layer.in_shape[2] * ratio)
            if channels not in seen:
                seen.add(channels)
                pieces.append(Piece(i, name, "weights", ratio, channels))
    return pieces


def with_piece(setup: TrainSetup, piece: Piece | None) -> TrainSetup:
    """A copy that trains the head fully and `piece` (None: nothing else)."""
    trial = setup.copy()
    dense = [layer for layer in trial.layers if layer.kind in PARAMETRIC]
    for layer in dense[:-1]:
        layer.train_bias, layer.train_channels = False, 0
    head = dense[-1]
    head.train_bias, head.train_channels = True, head.in_shape[2]
    if piece is not None:
        layer = trial.layers[piece.layer]
        if piece.part == "bias":
            layer.train_bias = True
        else:
            layer.train_channels = piece.channels
    return trial


def validation_split(samples: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """(train x, train y, validation x, validation y): the last quarter of the training set validates."""
    if len(labels) < 2:
        raise TrainingSetupError(
            f"the contribution analysis needs at least 2 training samples (one to validate), got "
            f"{len(labels)}: more --train-samples, or --plan parameters"
        )
    held = max(len(labels) // 4, 1)
    return samples[:-held], labels[:-held], samples[-held:], labels[-held:]


def checkpoint_steps(steps: int) -> set[int]:
    """After which steps (1-based) a piece's validation accuracy is measured."""
    return {max(steps * (2 * CHECKPOINTS - k) // (2 * CHECKPOINTS), 1) for k in range(CHECKPOINTS)}


def trained_accuracy(setup: TrainSetup, split: tuple[np.ndarray, ...], steps: int) -> float:
    """The mean validation accuracy at the checkpoints of `steps` reference steps on `setup`."""
    train_x, train_y, val_x, val_y = split
    reference = TrainingReference(setup)
    due, measured = checkpoint_steps(steps), []
    for step in range(steps):
        n = step % len(train_y)
        reference.step(train_x[n], int(train_y[n]))
        if step + 1 in due:
            measured.append(reference.accuracy(val_x, val_y))
    return float(np.mean(measured))


def measure_contributions(
    setup: TrainSetup,
    samples: np.ndarray,
    labels: np.ndarray,
    ratios: dict[str, tuple[float, ...]],
    steps: int = ANALYSIS_STEPS,
    cache: Path | None = None,
) -> Contributions:
    """Trains the head alone and each candidate piece with it; reads and writes `cache` (a
    directory; None: no cache) by the content of everything the result depends on."""
    split = validation_split(samples, labels)
    pieces = candidate_pieces(setup, ratios)
    path = None if cache is None else cache / f"{_key(setup, split, pieces, steps)}.json"
    if path is not None and path.is_file():
        cached = _load(path, pieces, steps)
        if cached is not None:
            return cached
    started = time.perf_counter()
    baseline = trained_accuracy(with_piece(setup, None), split, steps)
    accuracy = {piece: trained_accuracy(with_piece(setup, piece), split, steps) for piece in pieces}
    result = Contributions(baseline, accuracy, steps, len(split[3]), time.perf_counter() - started)
    if path is not None:
        _store(path, result)
    return result


def default_cache() -> Path:
    return user_cache_dir() / "training-contributions"


def _key(setup: TrainSetup, split: tuple[np.ndarray, ...], pieces: list[Piece], steps: int) -> str:
    digest = hashlib.sha256(f"v{ANALYSIS_VERSION} steps {steps} {pieces}".encode())
    digest.update(pack(with_piece(setup, None)))  # every parameter, rate and flag of the graph
    for array in split:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _load(path: Path, pieces: list[Piece], steps: int) -> Contributions | None:
    """The cached measurement, or None when the file is unreadable or not for these pieces."""
    try:
        data = json.loads(path.read_text())
        accuracy = {
            Piece(**{k: row[k] for k in ("layer", "name", "part", "ratio", "channels")}): row["accuracy"]
            for row in data["pieces"]
        }
        if list(accuracy) != pieces or data["steps_per_piece"] != steps:
            return None
        return Contributions(
            float(data["baseline_accuracy"]), accuracy, steps, int(data["validation_samples"]), data["seconds"], True
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, result: Contributions) -> None:
    """Written atomically; a cache that cannot be written only costs the next run the analysis."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as stream:
            json.dump(result.summary(), stream)
        os.replace(stream.name, path)
    except OSError:
        pass
