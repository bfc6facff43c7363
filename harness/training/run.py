"""A training run on the device in lock step with the host reference (used by `hil train`, the
pytest helper and benchmarks/training.py)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..build import build
from ..dut import Dut
from ..engine.compare import NothingCompared
from ..errors import CheckFailed, HarnessError
from ..progress import Bar, Progress
from .device import TRAINING_ARENA_BYTES, TRAINING_FIRMWARE_FLAGS, DeviceTraining, parameter_mismatches
from .planner import Plan, firmware_static_bytes, plan_sparse_update
from .reference import TrainingReference
from .setup import PARAMETRIC, TrainSetup
from .toy import toy_data, toy_setup

TASKS = ("vww", "toy")


def lockstep(device: DeviceTraining, reference: TrainingReference, samples: np.ndarray,
             labels: np.ndarray, steps: int, say: Callable[[str], None] | None = None,
             progress: Progress | None = None) -> list[float]:
    """Runs `steps` steps on both sides (cycling over the samples); the device's loss must equal
    the reference's bit for bit after every step. Returns the losses."""
    with (progress or Progress.quiet()).bar(steps, "training steps", "step") as bar:
        return _lockstep(device, reference, samples, labels, steps, say, bar)


def _lockstep(device: DeviceTraining, reference: TrainingReference, samples: np.ndarray,
              labels: np.ndarray, steps: int, say: Callable[[str], None] | None, bar: Bar) -> list[float]:
    losses = []
    for step in range(steps):
        n = step % len(labels)
        on_device = device.step(samples[n], int(labels[n]))
        on_host = reference.step(samples[n], int(labels[n]))
        if on_device.loss.tobytes() != on_host.loss.tobytes() or on_device.predicted != on_host.predicted:
            raise CheckFailed(f"step {step + 1}: device loss {on_device.loss!r} "
                              f"(0x{on_device.loss.view(np.uint32):08x}), predicted {on_device.predicted}; "
                              f"reference loss {on_host.loss!r} (0x{on_host.loss.view(np.uint32):08x}), "
                              f"predicted {on_host.predicted}")
        losses.append(float(on_host.loss))
        bar.update()
        if say and (step + 1) % 25 == 0:
            say(f"step {step + 1}/{steps}: loss {float(on_host.loss):.4f}")
    return losses


def check_parameters(device: DeviceTraining, reference: TrainingReference) -> int:
    """Every trained int8 weight and int32 bias on the device equals the reference's; returns how
    many parameters were compared."""
    problems = parameter_mismatches(device.read_parameters(), reference.setup)
    if problems:
        raise CheckFailed("device parameters differ from the reference: " + "; ".join(problems))
    compared = sum(layer.weights.size + layer.bias.size for layer in reference.setup.layers
                   if layer.kind in PARAMETRIC)
    if compared == 0:  # docs/verdicts.md: no PASS over nothing
        raise NothingCompared("the training setup has no trained parameters: nothing was compared")
    return compared


@dataclass
class TaskData:
    setup: TrainSetup
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    notes: list[str] = field(default_factory=list)
    backbone: object | None = None  # the frozen VWW model when train_x/test_x are still images


HOST_BACKBONE_NOTE = ("frozen VWW backbone (everything before the trained tail) run on the host by the "
                      "TFLM reference interpreter; its int8 features are streamed to the device")
DEVICE_BACKBONE_NOTE = ("frozen VWW backbone (everything before the trained tail) run on the device by "
                        "the inference engine (model in the flash slot); its features, checked "
                        "bit-exact against TFLM, pass through the host to the training service")


def _backbone(task: str, model: str | Path | None):
    """The frozen backbone of the vww task (default: the shared MLPerf Tiny VWW model)."""
    if task != "vww":
        if model is not None:
            raise HarnessError(f"--model applies to --task vww only (the {task} task generates its own graph)")
        return None
    from .vww import VWW_MODEL, load_backbone
    return load_backbone(VWW_MODEL if model is None else model)


def _default_model(task: str) -> str | None:
    from .vww import VWW_MODEL
    return str(VWW_MODEL) if task == "vww" else None


def task_setup(task: str, seed: int, qas: bool = True, model: str | Path | None = None) -> TrainSetup:
    """The trainable setup alone (no data), for planning before anything expensive runs."""
    if task == "toy":
        _backbone(task, model)
        return toy_setup(seed, qas=qas)
    if task == "vww":
        from .vww import vww_setup
        return vww_setup(_backbone(task, model), seed=seed, qas=qas)
    raise HarnessError(f"unknown training task {task!r} (choose from {', '.join(TASKS)})")


def make_task(task: str, train_count: int, test_count: int, seed: int, qas: bool = True,
              backbone: str = "host", model: str | Path | None = None) -> TaskData:
    """The data set and trainable setup. With backbone="device" the VWW samples are still the
    quantized images; device_backbone_features() turns them into features on the board.
    `model` is the vww task's backbone .tflite (default: the shared MLPerf Tiny VWW model)."""
    if task == "toy":
        setup = toy_setup(seed, qas=qas)
        x, y = toy_data(setup, train_count + test_count, seed + 1)
        return TaskData(setup, x[:train_count], y[:train_count], x[train_count:], y[train_count:],
                        ["toy graph with random parameters and synthetic features"])
    if task == "vww":
        from .vww import quantize_images, stripe_images, vww_setup, vww_task
        frozen = _backbone(task, model)
        setup = vww_setup(frozen, seed=seed, qas=qas)
        if backbone == "device":
            train_images, train_y = stripe_images(train_count, seed * 2 + 1)
            test_images, test_y = stripe_images(test_count, seed * 2 + 2)
            return TaskData(setup, quantize_images(frozen, train_images), train_y,
                            quantize_images(frozen, test_images), test_y, [DEVICE_BACKBONE_NOTE], frozen)
        train_x, train_y, test_x, test_y = vww_task(train_count, test_count, seed, frozen)
        return TaskData(setup, train_x, train_y, test_x, test_y, [HOST_BACKBONE_NOTE])
    raise HarnessError(f"unknown training task {task!r} (choose from {', '.join(TASKS)})")


def plan_for_board(setup: TrainSetup, board: str, emulator: str, budget: int,
                   extra_flags: list[str] | None = None) -> tuple[Plan, list[str]]:
    """Builds the training firmware and plans against its static data; refuses before booting."""
    flags = list(extra_flags or TRAINING_FIRMWARE_FLAGS)
    firmware = build(load_board(board), emulator, extra_flags=flags)
    static = firmware_static_bytes(firmware.elf, TRAINING_ARENA_BYTES)
    return plan_sparse_update(setup, static, budget, TRAINING_ARENA_BYTES), flags


def run_training(board: str, emulator: str, task: str, budget: int, steps: int,
                 train_count: int = 200, test_count: int = 100, seed: int = 0, qas: bool = True,
                 extra_flags: list[str] | None = None, timeout: float = 30.0,
                 say: Callable[[str], None] = lambda text: None, backbone: str = "host",
                 model: str | Path | None = None, progress: Progress | None = None) -> dict:
    """Plans (refusing over budget), boots the board, measures held-out accuracy on the device,
    trains `steps` steps in lock step with the reference, checks every parameter, measures again.
    backbone="device" (VWW only) runs the frozen backbone on the board's inference engine."""
    if backbone == "device" and task != "vww":
        raise HarnessError("--backbone device applies to --task vww only")
    plan, flags = plan_for_board(task_setup(task, seed, qas, model), board, emulator, budget, extra_flags)
    data = make_task(task, train_count, test_count, seed, qas, backbone, model)  # after: refuse first
    say(f"plan: {plan.scheme}; predicted peak SRAM {plan.predicted_peak} B of {budget} B")
    started = time.perf_counter()
    qemu_args = None
    if data.backbone is not None:
        from .backbone import pack_backbone, slot_loader_args
        packed = pack_backbone(data.backbone)
        loader = slot_loader_args(board, emulator, packed)
        qemu_args = lambda firmware: loader  # noqa: E731
    with Dut.open(board, emulator, timeout=timeout, extra_flags=flags, qemu_args=qemu_args) as dut:
        if data.backbone is not None:
            from .backbone import device_features
            data.train_x = device_features(dut, packed, data.train_x, say)
            data.test_x = device_features(dut, packed, data.test_x, say)
        device = DeviceTraining(dut.link, timeout)
        device_plan = device.load(plan.setup)
        if device_plan["arena_bytes"] != plan.arena["total"] or device_plan["planned_peak"] != plan.predicted_peak:
            raise CheckFailed(f"device plans {device_plan}, host predicted arena {plan.arena['total']} "
                              f"peak {plan.predicted_peak}")
        reference = TrainingReference(plan.setup)
        before = device.accuracy(data.test_x, data.test_y)
        say(f"held-out accuracy before training (device): {before:.3f}")
        losses = lockstep(device, reference, data.train_x, data.train_y, steps, say, progress)
        compared = check_parameters(device, reference)
        after = device.accuracy(data.test_x, data.test_y)
        host_after = reference.accuracy(data.test_x, data.test_y)
        memory = device.memory()
    return {"board": board, "emulator": emulator, "task": task,
            "model": str(model) if model is not None else _default_model(task), "steps": steps, "qas": qas,
            "train_samples": len(data.train_y), "test_samples": len(data.test_y),
            "accuracy_before": before, "accuracy_after": after, "reference_accuracy_after": host_after,
            "chance": 1 / data.setup.num_classes, "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "mean_loss_first_10": float(np.mean(losses[:10])) if losses else None,
            "mean_loss_last_10": float(np.mean(losses[-10:])) if losses else None,
            "losses_bit_exact": steps, "parameters_compared_bit_exact": compared,
            "plan": plan.summary(), "device_plan": device_plan, "device_memory": memory,
            "backbone": backbone, "seconds": round(time.perf_counter() - started, 1),
            "notes": data.notes}
