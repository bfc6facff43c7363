"""A `hil train` run as a results-file record (harness/results.py), so `hil report` can show its
training curve next to the benchmark cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..boards import load_board
from ..environment import environment
from ..metrics.workloads import model_digest
from ..results import new_record
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
