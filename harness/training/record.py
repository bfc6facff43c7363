"""A `hil train` run as a results-file record (harness/results.py), so `hil report` can show its
training curve next to the benchmark cases."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..boards import load_board
from ..environment import environment
from ..json_fields import NUMBER, check_field, is_type
from ..metrics.workloads import model_digest
from ..results import ResultsError, new_record
from ..shared_models import portable_path

# What the report's training section reads (the rest of run_training's result stays out of the file).
TRAINING_FIELDS = (
    "steps",
    "qas",
    "stochastic_rounding",
    "data",
    "losses",
    "accuracy_before",
    "accuracy_after",
    "reference_accuracy_after",
    "chance",
    "test_samples",
    "losses_bit_exact",
    "parameters_bit_exact",
    "trained_layers",
    "peak_sram_bytes",
    "budget_bytes",
    "sram_region_bytes",
    "backbone_on_device",
    "eval_every",
    "accuracy_curve",
    "plan_method",
)


# The JSON type of each field the report reads (a hand-edited record is refused naming the field).
FIELD_TYPES: dict[str, type | tuple] = {
    "steps": int,
    "qas": bool,
    "stochastic_rounding": bool,
    "data": str,
    "losses": list,
    "accuracy_before": NUMBER,
    "accuracy_after": NUMBER,
    "reference_accuracy_after": NUMBER,
    "chance": NUMBER,
    "test_samples": int,
    "losses_bit_exact": int,
    "parameters_bit_exact": int,
    "trained_layers": list,
    "peak_sram_bytes": int,
    "budget_bytes": int,
    "sram_region_bytes": int,
    "backbone_on_device": bool,
    "accuracy_checkpoints": list,
    "eval_every": int,
    "accuracy_curve": list,
    "plan_method": str,
}


def check_training(training: Any, where: str) -> None:
    """A record's `training` object as training_record writes it; else ResultsError naming the
    field (results.check_record calls this for every record that has one)."""
    if training is None:
        return
    if not isinstance(training, dict):
        raise ResultsError(f"{where}: field `training` must be an object, not {type(training).__name__}")
    at = f"{where}: training"
    for name, kind in FIELD_TYPES.items():
        check_field(training, name, kind, at, error=ResultsError)
    for step, loss in enumerate(training.get("losses") or [], 1):
        if not is_type(loss, NUMBER) or not math.isfinite(loss):
            raise ResultsError(f"{at}: losses[{step - 1}] (step {step}) must be a finite number, not {loss!r}"[:200])
    if not all(isinstance(name, str) for name in training.get("trained_layers") or []):
        raise ResultsError(f"{at}: field `trained_layers` must be a list of layer names")
    for number, checkpoint in enumerate(training.get("accuracy_checkpoints") or []):
        if not (
            isinstance(checkpoint, list)
            and len(checkpoint) == 2
            and is_type(checkpoint[0], int)
            and is_type(checkpoint[1], NUMBER)
        ):
            raise ResultsError(
                f"{at}: accuracy_checkpoints[{number}] must be [step, accuracy], not {checkpoint!r}"[:200]
            )
    for number, point in enumerate(training.get("accuracy_curve") or []):
        if not (
            isinstance(point, dict)
            and is_type(point.get("step"), int)
            and is_type(point.get("device"), NUMBER)
            and (point.get("reference") is None or is_type(point.get("reference"), NUMBER))
        ):
            raise ResultsError(
                f"{at}: accuracy_curve[{number}] must be {{step, device, reference}} numbers, not {point!r}"[:200]
            )


def training_record(result: dict[str, Any], task: str) -> dict[str, Any]:
    """The record of one training run: its case names the task and data; `training` holds the
    per-step losses and the held-out accuracy measured on the device at each checkpoint (step 0,
    every --eval-every steps, the last step; the reference's agrees at each)."""
    training = {name: result.get(name) for name in TRAINING_FIELDS}
    curve = result.get("accuracy_curve") or [
        {"step": 0, "device": result["accuracy_before"]},
        {"step": result["steps"], "device": result["accuracy_after"]},
    ]
    training["accuracy_checkpoints"] = [[point["step"], point["device"]] for point in curve]
    return new_record(
        board=result["board"],
        emulator=result["emulator"],
        build_id=result.get("build_id") or "",
        case=f"train {task} {result['data']}",
        seed=result.get("seed"),
        verdict="pass",
        training=training,
        environment=environment(load_board(result["board"]).arch),
        **model_fields(str(result["model"])),
    )


def model_fields(model: str) -> dict[str, Any]:
    """The model as results record it (harness/metrics/workloads.py): a .tflite backbone by its
    name, its path relative to the project and its SHA-256; a built-in task ("toy", "vww") by name."""
    path = Path(model)
    if not path.is_file():
        return {"model": model}
    return {"model": path.name, "model_path": portable_path(path), "model_sha256": model_digest(path)}
