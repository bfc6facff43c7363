"""A training run on the device in lock step with the host reference (used by `hil train`, the
pytest helper and benchmarks/training.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..boards import load_board
from ..build import build
from ..dut import Dut
from ..engine.compare import NothingCompared
from ..errors import CheckFailed, HarnessError
from ..progress import Bar, Progress
from .contribution import default_cache, measure_contributions
from .device import (
    TRAINING_ARENA_BYTES,
    TRAINING_FIRMWARE_FLAGS,
    DeviceTraining,
    parameter_mismatches,
)
from .planner import PLAN_RATIOS, Plan, firmware_sram_region, firmware_static_bytes, plan_sparse_update
from .reference import TrainingReference
from .setup import PARAMETRIC, TrainSetup
from .toy import toy_data, toy_setup

if TYPE_CHECKING:
    from ..model import Model

TASKS = ("vww", "toy")
PLANS = ("measured", "parameters")  # how the planner ranks schemes (planner.py)


DeviceInput = Callable[[int], "np.ndarray | None"]
AfterStep = Callable[[int], None]


def lockstep(
    device: DeviceTraining,
    reference: TrainingReference,
    samples: np.ndarray,
    labels: np.ndarray,
    steps: int,
    say: Callable[[str], None] | None = None,
    device_input: DeviceInput | None = None,
    progress: Progress | None = None,
    after_step: AfterStep | None = None,
) -> list[float]:
    """Runs `steps` steps on both sides (cycling over the samples); the device's loss must equal
    the reference's bit for bit after every step. Returns the losses. `device_input(n)` prepares
    what the device's step on sample n takes (default: the sample itself; None: the bound
    backbone's output, after it wrote the raw image into the engine). `after_step(k)` runs
    after the k-th step (1-based), e.g. an accuracy checkpoint."""
    with (progress or Progress.quiet()).bar(steps, "training steps", "step") as bar:
        return _lockstep(device, reference, samples, labels, steps, say, device_input, bar, after_step)


def _lockstep(
    device: DeviceTraining,
    reference: TrainingReference,
    samples: np.ndarray,
    labels: np.ndarray,
    steps: int,
    say: Callable[[str], None] | None,
    device_input: DeviceInput | None,
    bar: Bar,
    after_step: AfterStep | None = None,
) -> list[float]:
    losses = []
    for step in range(steps):
        n = step % len(labels)
        on_device = device.step(samples[n] if device_input is None else device_input(n), int(labels[n]))
        on_host = reference.step(samples[n], int(labels[n]))
        if on_device.loss.tobytes() != on_host.loss.tobytes() or on_device.predicted != on_host.predicted:
            raise CheckFailed(
                f"step {step + 1}: device loss {on_device.loss!r} "
                f"(0x{on_device.loss.view(np.uint32):08x}), predicted {on_device.predicted}; "
                f"reference loss {on_host.loss!r} (0x{on_host.loss.view(np.uint32):08x}), "
                f"predicted {on_host.predicted}"
            )
        losses.append(float(on_host.loss))
        if say and (step + 1) % 25 == 0:
            say(f"step {step + 1}/{steps}: loss {float(on_host.loss):.4f}")
        if after_step is not None:
            after_step(step + 1)
        bar.update()
    return losses


def check_parameters(device: DeviceTraining, reference: TrainingReference) -> int:
    """Every int8 weight and int32 bias the device holds in SRAM equals the reference's; returns
    how many were read back and compared (frozen weights read from flash are not counted)."""
    problems = parameter_mismatches(device.read_parameters(), reference.setup)
    if problems:
        raise CheckFailed("device parameters differ from the reference: " + "; ".join(problems))
    layers = reference.setup.layers
    assert device.setup is not None, "load() first"
    compared = sum(
        int(
            layers[index].weights_per_channel * layers[index].train_channels
            if name == "weights" and layers[index].weights_split
            else getattr(layers[index], name).size
        )
        for (index, name) in device.setup.offsets
        if name in ("weights", "bias")
    )
    if compared == 0:  # docs/verdicts.md: no PASS over nothing
        raise NothingCompared("the training setup has no trained parameters: nothing was compared")
    return compared


def prediction_mismatch(device: list[int], reference: list[int]) -> str | None:
    """The first held-out sample the device and the reference classify differently, named; None
    when they agree on every one (they must: the forward pass is bit-exact)."""
    for n, (on_device, on_host) in enumerate(zip(device, reference)):
        if on_device != on_host:
            return f"held-out sample {n}: device predicts {on_device}, reference {on_host}"
    if len(device) != len(reference):
        return f"device classified {len(device)} held-out samples, reference {len(reference)}"
    return None


def accuracy_checkpoint(
    step: int,
    device: DeviceTraining,
    reference: TrainingReference,
    samples: np.ndarray,
    labels: np.ndarray,
    device_input: DeviceInput | None = None,
) -> dict:
    """Held-out accuracy after `step` steps on the device and of the reference, which must
    classify every sample alike (CheckFailed naming the first that differs)."""
    on_device = [device.predict(samples[n] if device_input is None else device_input(n))[0] for n in range(len(labels))]
    on_host = [reference.predict(samples[n]) for n in range(len(labels))]
    problem = prediction_mismatch(on_device, on_host)
    if problem:
        raise CheckFailed(f"after step {step}: {problem}")

    def accuracy(predicted: list[int]) -> float:
        return int(np.count_nonzero(np.asarray(predicted) == np.asarray(labels))) / max(len(labels), 1)

    return {"step": step, "device": accuracy(on_device), "reference": accuracy(on_host)}


def check_eval_every(eval_every: int | None, steps: int) -> None:
    if eval_every is not None and not 1 <= eval_every <= steps:
        raise HarnessError(f"--eval-every {eval_every}: must be between 1 and --steps ({steps})")


def checkpoint_due(done: int, steps: int, eval_every: int | None) -> bool:
    """Accuracy is measured every `eval_every` steps and after the last (before the first too)."""
    return done == steps or (eval_every is not None and done % eval_every == 0)


@dataclass
class TaskData:
    setup: TrainSetup
    train_x: np.ndarray  # the chain's input (host backbone features): what the reference trains on
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    notes: list[str] = field(default_factory=list)
    backbone: Model | None = None  # the frozen backbone model when the device runs it
    train_images: np.ndarray | None = None  # raw int8 images the device's backbone takes
    test_images: np.ndarray | None = None
    blocks: int = 1


HOST_BACKBONE_NOTE = (
    "frozen backbone (everything before the trained tail) run on the host by the "
    "TFLM reference interpreter; its int8 features are streamed to the device"
)
DEVICE_BACKBONE_NOTE = (
    "frozen backbone (everything before the trained tail) run on the device by "
    "the inference engine (model in the flash slot) in every step and prediction; "
    "the training service reads its output in place: only raw images cross the link"
)


VWW_BLOCKS = 2  # the trained tail: the last two depthwise-separable blocks (four convolutions)


def task_setup(model: str, seed: int, qas: bool = True, blocks: int = VWW_BLOCKS, backbone: str = "host") -> TrainSetup:
    """The trainable setup alone (no data), for planning before anything expensive runs. With the
    backbone on the device, frozen weights of the tail are read from its flash model slot."""
    if model == "toy":
        return toy_setup(seed, qas=qas)
    if is_backbone(model):
        from .backbone import pack_backbone
        from .vww import load_backbone, vww_setup

        frozen = load_backbone(backbone_path(model))
        slot = pack_backbone(frozen) if backbone == "device" else None
        setup = vww_setup(frozen, seed=seed, qas=qas, blocks=blocks, slot=slot)
        setup.input_from_backbone = slot is not None
        return setup
    raise HarnessError(f"unknown training model {model!r} (toy, vww or a backbone .tflite path)")


def is_backbone(model: str) -> bool:
    """Anything but the toy task: "vww" (the default backbone) or a backbone path, which
    vww.load_backbone accepts by its content and structure, not its name."""
    return model != "toy"


def backbone_path(model: str):
    from .vww import VWW_MODEL

    return VWW_MODEL if model == "vww" else model


DATA = ("stripes", "faces")


def make_task(
    model: str,
    train_count: int,
    test_count: int,
    seed: int,
    qas: bool = True,
    backbone: str = "host",
    blocks: int = VWW_BLOCKS,
    data: str = "stripes",
) -> TaskData:
    """The data set and trainable setup. The reference always trains on the host TFLM backbone's
    features; with backbone="device" the device gets the quantized images instead."""
    if model == "toy":
        setup = toy_setup(seed, qas=qas)
        x, y = toy_data(setup, train_count + test_count, seed + 1)
        return TaskData(
            setup,
            x[:train_count],
            y[:train_count],
            x[train_count:],
            y[train_count:],
            ["toy graph with random parameters and synthetic features"],
        )
    if is_backbone(model):
        from .vww import (
            backbone_features,
            face_images,
            input_shape,
            load_backbone,
            quantize_images,
            stripe_images,
            vww_setup,
        )

        frozen = load_backbone(backbone_path(model))
        setup = vww_setup(frozen, seed=seed, qas=qas, blocks=blocks)
        shape = input_shape(frozen)
        if data == "faces":  # real images: all of lfw_subset, split (the counts do not apply)
            train_images, train_y, test_images, test_y = face_images(seed, shape)
        else:
            train_images, train_y = stripe_images(train_count, seed * 2 + 1, shape)
            test_images, test_y = stripe_images(test_count, seed * 2 + 2, shape)
        train_q, test_q = quantize_images(frozen, train_images), quantize_images(frozen, test_images)
        task = TaskData(
            setup,
            backbone_features(frozen, train_q, blocks),
            train_y,
            backbone_features(frozen, test_q, blocks),
            test_y,
            blocks=blocks,
        )
        task.notes.append(
            f"data: scikit-image lfw_subset, person vs no person, 25x25 grayscale scaled to {shape}, "
            f"{len(train_y)} training / {len(test_y)} held-out images"
            if data == "faces"
            else "data: generated stripes, horizontal vs vertical"
        )
        if backbone == "device":
            task.backbone, task.train_images, task.test_images = frozen, train_q, test_q
            task.notes.append(DEVICE_BACKBONE_NOTE)
        else:
            task.notes.append(HOST_BACKBONE_NOTE)
        return task
    raise HarnessError(f"unknown training model {model!r} (toy, vww or a backbone .tflite path)")


def plan_for_board(
    setup: TrainSetup, board: str, emulator: str, budget: int, extra_flags: list[str] | None = None
) -> tuple[Plan, list[str], int]:
    """Builds the training firmware and plans against its static data (refusing before booting);
    also returns the SRAM region the firmware is linked to."""
    flags = list(extra_flags or TRAINING_FIRMWARE_FLAGS)
    firmware = build(load_board(board), emulator, extra_flags=flags)
    static = firmware_static_bytes(firmware.elf, TRAINING_ARENA_BYTES)
    plan = plan_sparse_update(setup, static, budget, TRAINING_ARENA_BYTES)
    return plan, flags, firmware_sram_region(firmware.elf)


def run_training(
    board: str,
    emulator: str,
    model: str,
    budget: int,
    steps: int,
    train_count: int = 200,
    test_count: int = 100,
    seed: int = 0,
    qas: bool = True,
    extra_flags: list[str] | None = None,
    timeout: float = 30.0,
    say: Callable[[str], None] = lambda text: None,
    backbone: str = "host",
    blocks: int = VWW_BLOCKS,
    data: str = "stripes",
    progress: Progress | None = None,
    stochastic_rounding: bool = False,
    plan_method: str = "measured",
    eval_every: int | None = None,
) -> dict:
    """Plans (refusing over budget), boots the board, measures held-out accuracy on the device,
    trains `steps` steps in lock step with the reference, checks every parameter, measures again.
    backbone="device" (VWW only) runs the frozen backbone on the board's inference engine in
    every step and prediction. plan_method "measured" chooses the scheme by the contribution
    analysis on the host reference, "parameters" by trained-parameter count; `eval_every` adds
    an accuracy checkpoint every that many steps (device and reference, which must agree)."""
    if backbone == "device" and not is_backbone(model):
        raise HarnessError("--backbone device applies to a backbone model (vww or a .tflite), not toy")
    if plan_method not in PLANS:
        raise HarnessError(f"unknown plan method {plan_method!r} ({', '.join(PLANS)})")
    check_eval_every(eval_every, steps)
    setup = task_setup(model, seed, qas, blocks, backbone)
    plan, flags, region = plan_for_board(setup, board, emulator, budget, extra_flags)
    if data != "stripes" and not is_backbone(model):
        raise HarnessError("--data applies to a backbone model (vww or a .tflite), not toy")
    task = make_task(model, train_count, test_count, seed, qas, backbone, blocks, data)  # after: refuse first
    if plan_method == "measured":
        plan = measured_plan(plan, setup, task, stochastic_rounding, seed, say)
    plan.setup.stochastic_rounding, plan.setup.rounding_seed = stochastic_rounding, seed
    say(f"plan: {plan.scheme}; predicted peak SRAM {plan.predicted_peak} B of {budget} B")
    started = time.perf_counter()
    packed = None
    if task.backbone is not None:  # into the flash model slot at boot (a target that preloads it)
        from .backbone import pack_backbone

        packed = pack_backbone(task.backbone)
    with Dut.open(
        board,
        emulator,
        timeout=timeout,
        progress=progress,  # the training firmware's build and the boot
        extra_flags=flags,
        slot_image=packed.image if packed else None,
    ) as dut:
        device = DeviceTraining(dut.link, timeout)
        device_plan = device.load(plan.setup)
        if device_plan["arena_bytes"] != plan.arena["total"] or device_plan["planned_peak"] != plan.predicted_peak:
            raise CheckFailed(
                f"device plans {device_plan}, host predicted arena {plan.arena['total']} peak {plan.predicted_peak}"
            )
        train_input = test_input = None
        if task.backbone is not None:
            from .backbone import DeviceBackbone

            assert packed is not None  # packed above for a backbone task
            engine = DeviceBackbone(dut, packed, device, task.blocks)
            assert task.train_images is not None and task.test_images is not None  # a backbone task's inputs
            train_input = engine.feeder(task.train_images)
            test_input = engine.feeder(task.test_images)
        reference = TrainingReference(plan.setup)

        def checkpoint(done: int) -> None:
            if done == 0 or checkpoint_due(done, steps, eval_every):
                curve.append(accuracy_checkpoint(done, device, reference, task.test_x, task.test_y, test_input))
                say(f"held-out accuracy after {done} steps: device {curve[-1]['device']:.3f} (= reference)")

        curve: list[dict] = []
        checkpoint(0)
        losses = lockstep(
            device, reference, task.train_x, task.train_y, steps, say, train_input, progress, after_step=checkpoint
        )
        compared = check_parameters(device, reference)
        changed = changed_parameters(plan.setup, reference.setup)
        before, after, host_after = curve[0]["device"], curve[-1]["device"], curve[-1]["reference"]
        memory = device.memory()
        build_id = dut.info.build_id if dut.info else ""
    on_device = task.backbone is not None and memory["backbone_steps"] == steps
    return {
        "board": board,
        "emulator": emulator,
        "model": model,
        "data": data,
        "build_id": build_id,
        "seed": seed,
        "steps": steps,
        "qas": qas,
        "stochastic_rounding": stochastic_rounding,
        "train_samples": len(task.train_y),
        "test_samples": len(task.test_y),
        "accuracy_before": before,
        "accuracy_after": after,
        "reference_accuracy_after": host_after,
        "eval_every": eval_every,
        "accuracy_curve": curve,
        "chance": 1 / task.setup.num_classes,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "mean_loss_first_10": float(np.mean(losses[:10])) if losses else None,
        "mean_loss_last_10": float(np.mean(losses[-10:])) if losses else None,
        "losses": losses,
        "losses_bit_exact": steps,
        "parameters_compared_bit_exact": compared,
        "parameters_bit_exact": compared,
        "parameters_changed": changed,
        "trained_layers": [row["name"] for row in plan.scheme if row["bias"] or row["channels"]],
        "peak_sram_bytes": memory["measured_peak"],
        "budget_bytes": budget,
        "sram_region_bytes": region,
        "backbone_on_device": on_device,
        "plan_method": plan_method,
        "plan": plan.summary(),
        "device_plan": device_plan,
        "device_memory": memory,
        "backbone": backbone,
        "seconds": round(time.perf_counter() - started, 1),
        "notes": task.notes,
    }


def measured_plan(
    plan: Plan, setup: TrainSetup, task: TaskData, stochastic_rounding: bool, seed: int, say: Callable[[str], None]
) -> Plan:
    """Re-plans `setup` against the same memory as `plan` (the parameter plan, which already
    refused an impossible budget), choosing by contributions measured on the task's training
    samples with the run's arithmetic (cached in the user cache directory)."""
    analysed = task.setup.copy()
    analysed.stochastic_rounding, analysed.rounding_seed = stochastic_rounding, seed
    contributions = measure_contributions(analysed, task.train_x, task.train_y, PLAN_RATIOS, cache=default_cache())
    say(
        f"contribution analysis (host reference, {len(contributions.accuracy)} pieces, {contributions.steps} steps "
        f"each): {'cached, measured in' if contributions.cached else 'measured in'} {contributions.seconds:.1f} s"
    )
    return plan_sparse_update(
        setup, plan.static_bytes, plan.budget, plan.arena_capacity, plan.stack_reserve, contributions
    )


def changed_parameters(before: TrainSetup, after: TrainSetup) -> dict[str, int]:
    """Per trained layer, how many weights and biases training actually moved (dead channels
    never do)."""
    return {
        layer.name or layer.kind: int(
            np.count_nonzero(layer.weights != old.weights) + np.count_nonzero(layer.bias != old.bias)
        )
        for layer, old in zip(after.layers, before.layers)
        if layer.kind in PARAMETRIC and old.trains
    }
