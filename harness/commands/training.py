"""hil train: on-device training in lock step with the host reference (docs/training.md)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..boards import load_board
from ..errors import HarnessError
from ..input_files import check_regular_file
from ..progress import Progress
from ..results import ResultsFile
from ..targets.registry import capabilities
from ..training.record import training_record
from ..training.run import DATA, PLANS, TASKS, check_eval_every, run_training
from . import board_arguments, command, emit, positive_int, seed


def parse_bytes(text: str) -> int:
    """'256KB', '256K', '262144', '1MB' -> bytes (K = 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)[iI]?[bB]?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256KB)")
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]


STEPS_MAX = 2**32 - 1  # the device counts steps in 32 bits
SAMPLES_MAX = 10_000  # the images are made in host memory (96x96x3 float64: 221 KB each)


def _at_most(maximum: int, why: str):
    """argparse type: positive_int, at most `maximum` (a larger count ends in MemoryError or wraps)."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum} ({why}): {text}")
        return value

    return parse


def _arguments(parser: argparse.ArgumentParser) -> None:
    board_arguments(parser)
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="vww",
        help="vww (default): transfer learning on a frozen int8 backbone; toy: a small random graph",
    )
    parser.add_argument(
        "--model",
        help="vww: the backbone .tflite, an int8 model ending in average pooling and "
        "a classifier (vww_96_int8, person_detect, kws_ref_model, pretrainedResnet_quant: "
        "its last residual block; default: the "
        "shared MLPerf Tiny vww_96_int8.tflite); a model whose tail cannot be "
        "cut is refused with the reason",
    )
    parser.add_argument("--budget", type=parse_bytes, default=256 * 1024, help="SRAM budget (default 256KB)")
    parser.add_argument(
        "--steps",
        type=_at_most(STEPS_MAX, "the device counts in 32 bits"),
        default=50,
        help="SGD steps, batch 1 (default 50)",
    )
    samples = _at_most(SAMPLES_MAX, "the samples are made in memory")
    parser.add_argument("--train-samples", type=samples, default=200)
    parser.add_argument("--test-samples", type=samples, default=100)
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--results", type=Path, help="append the run (losses, accuracy) to this JSON Lines file")
    parser.add_argument(
        "--stochastic-rounding",
        action="store_true",
        help="round weight steps stochastically (seeded by --seed; on the device and in the reference)",
    )
    parser.add_argument("--no-qas", action="store_true", help="plain gradients (no quantization-aware scaling)")
    parser.add_argument(
        "--data",
        choices=DATA,
        default="stripes",
        help="vww: generated stripes (default) or real faces vs non-faces (scikit-image "
        "lfw_subset, 140 training / 60 held-out images)",
    )
    parser.add_argument(
        "--backbone",
        choices=("host", "device"),
        default=None,
        help="vww: run the frozen backbone in every step on the device's inference engine "
        "(default with QEMU; only raw images cross the link) or on the host reference "
        "(features streamed, faster)",
    )
    parser.add_argument(
        "--plan",
        choices=PLANS,
        default="measured",
        help="how the sparse update is chosen under the budget: measured (default; each layer's "
        "bias and channel ratio by its accuracy gain, trained briefly on the host reference, "
        "cached) or parameters (the most trained parameters)",
    )
    parser.add_argument(
        "--eval-every",
        type=positive_int,
        metavar="N",
        help="also measure held-out accuracy every N steps (1..--steps), on the device and in the reference",
    )


def format_result(result: dict) -> str:
    plan, memory = result["plan"], result["device_memory"]
    scheme = ", ".join(
        f"{row['name']}: bias {'yes' if row['bias'] else 'no'}, weights {row['channels']}/{row['in']} input channels"
        for row in plan["scheme"]
    )
    return "\n".join(
        [
            f"model {result['model']} on {result['board']} ({result['emulator']}), {result['steps']} steps, "
            f"QAS {'on' if result['qas'] else 'off'}"
            + (", stochastic rounding" if result["stochastic_rounding"] else ""),
            f"sparse update ({_plan_text(plan)}): {scheme}",
            f"SRAM: predicted peak {plan['predicted_peak']} B, measured peak {memory['measured_peak']} B "
            f"(static {memory['static_bytes'] - memory['engine_pool_bytes']} + engine pool high-water "
            f"{memory['engine_high_water']} + arena high-water {memory['arena_high_water']} + stack high-water "
            f"{memory['stack_high_water']}), budget {plan['budget']} B; firmware linked to "
            f"{result['sram_region_bytes']} B of SRAM "
            f"({memory['measured_peak'] / result['sram_region_bytes']:.1%} used)",
            f"backbone on the device in every step: {'yes' if result['backbone_on_device'] else 'no'}; "
            f"parameters changed by training: {result['parameters_changed']}",
            f"bit-exact: {result['losses_bit_exact']} step losses, "
            f"{result['parameters_compared_bit_exact']} parameters after training",
            f"loss: first 10 steps {result['mean_loss_first_10']:.4f}, last 10 {result['mean_loss_last_10']:.4f}",
            f"held-out accuracy on the device: {result['accuracy_before']:.3f} -> {result['accuracy_after']:.3f} "
            f"(chance {result['chance']:.3f}, {result['test_samples']} samples)",
            "accuracy curve (device = reference): "
            + ", ".join(f"step {point['step']} {point['device']:.3f}" for point in result["accuracy_curve"]),
            *(f"note: {note}" for note in result["notes"]),
        ]
    )


def _plan_text(plan: dict) -> str:
    if plan.get("method") != "measured":
        return "chosen by trained-parameter count"
    gains = ", ".join(f"{name} {gain:+.3f}" for name, gain in plan["layer_gains"].items())
    return f"chosen by measured contribution, predicted gain {plan['predicted_gain']:+.3f}: {gains}"


@command("train", "train on the device in lock step with the host reference", _arguments)
def cmd_train(args: argparse.Namespace) -> int:
    model = _training_model(args)
    check_eval_every(args.eval_every, args.steps)
    if args.results is not None and args.results.exists() and not args.results.is_file():
        raise HarnessError(f"cannot write results file {args.results}: it is not a regular file")  # before the run
    progress = Progress.for_command(args.json)
    slot_at_boot = capabilities(load_board(args.board), args.emulator).preloads_model_slot
    backbone = args.backbone or ("device" if args.task == "vww" and slot_at_boot else "host")
    result = run_training(
        args.board,
        args.emulator,
        model,
        args.budget,
        args.steps,
        args.train_samples,
        args.test_samples,
        args.seed,
        not args.no_qas,
        timeout=max(args.timeout, 30.0),
        say=progress.say,
        backbone=backbone,
        data=args.data,
        progress=progress,
        stochastic_rounding=args.stochastic_rounding,
        plan_method=args.plan,
        eval_every=args.eval_every,
    )
    result["task"] = args.task
    if args.results is not None:
        ResultsFile(args.results).append(training_record(result, args.task))
    emit(args, result, format_result(result))
    return 0


def _training_model(args: argparse.Namespace) -> str:
    """What harness.training.run trains: "toy", or the backbone (a .tflite path, "vww" the default)."""
    if args.task == "toy":
        if args.model is not None:
            raise HarnessError("--model applies to --task vww only (the toy task generates its own graph)")
        return "toy"
    return "vww" if args.model is None else str(check_regular_file(args.model, "backbone model"))
