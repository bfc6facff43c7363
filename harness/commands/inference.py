"""Inference commands: hil pack, hil run."""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..engine.accuracy import dataset_for, float_model_for, run_dataset_or_inputs
from ..engine.dataset import Dataset
from ..engine.pack import pack_file
from ..engine.session import InferenceSession, run_each
from ..errors import CheckFailed, HarnessError
from ..input_files import check_regular_file
from ..mlperf.command import run_mlperf
from ..model.tflite import load_model
from ..progress import Progress
from ..targets.registry import capabilities
from . import board_arguments, command, emit, positive_int, seed
from .user_firmware import firmware_arguments, run_user_firmware, wants_user_firmware


def _pack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help=".tflite model")
    parser.add_argument("-o", "--output", required=True, help="packed model file to write")
    parser.add_argument("--board", help="check that the model fits this board (SRAM, flash slot)")
    parser.add_argument("--emulator", default="none", help="board variant to check against (default: the real board)")
    parser.add_argument("--json", action="store_true", help="print JSON")


@command("pack", "pack a .tflite model into the device's model format", _pack_arguments)
def cmd_pack(args: argparse.Namespace) -> int:
    board = load_board(args.board) if args.board else None
    packed = pack_file(args.model, board, args.emulator)
    try:
        Path(args.output).write_bytes(packed.image)
    except OSError as exc:
        raise HarnessError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    data = {
        "model": args.model,
        "output": args.output,
        "bytes": len(packed.image),
        "weights_bytes": packed.constant_bytes,
        "arena_bytes": packed.arena_size,
        "operators": len(packed.ops),
        "crc32": f"0x{packed.crc32:08x}",
        "board": args.board,
    }
    emit(args, data, "\n".join(f"{k:<14} {v}" for k, v in data.items() if v is not None))
    return 0


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    board_arguments(parser, board_required=False)  # --protocol mlperf-tiny --port needs no board
    parser.add_argument(
        "--model",
        required=True,
        action="append",
        help=".tflite model (repeatable with --inputs: in QEMU, models that fit the "
        "flash model slot together run in one boot)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--inputs", type=positive_int, default=1, help="number of seeded random inputs (default 1)")
    source.add_argument("--input", help=".npy file with the model's input (one input tensor)")
    source.add_argument(
        "--dataset",
        help="labelled data: FILE.npz (x, y) or a folder with one subfolder "
        "per class; reports top-1 accuracy (AUC for anomaly detectors)",
    )
    parser.add_argument("--samples", type=positive_int, help="--dataset: a seeded random subset of this many samples")
    parser.add_argument("--float-model", help="--dataset: also score this float .tflite in tflite-micro")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random inputs")
    parser.add_argument(
        "--per-layer",
        action="store_true",
        help="also read every layer's output back and name the first diverging layer",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=min(2, os.cpu_count() or 1),
        help="several --model: QEMU boots at a time (default: 2, or 1 on one CPU)",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="real board: stream the model into RAM instead of writing it into the "
        "flash model slot with the board's flasher",
    )
    firmware_arguments(parser)
    parser.add_argument(
        "--protocol",
        choices=("hil", "mlperf-tiny"),
        default="hil",
        help="mlperf-tiny: drive an MLPerf Tiny benchmark firmware through its text API, "
        "on --port, or its --firmware ELF in QEMU (docs/mlperf_tiny.md)",
    )


def _load_input(path: str) -> list[np.ndarray]:
    check_regular_file(path, "input .npy file")
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise HarnessError(f"{path}: cannot read a .npy array ({exc})") from None
    if not isinstance(value, np.ndarray):  # an .npz archive: several arrays, or a data set
        value.close()
        raise HarnessError(f"{path}: an .npz archive, not one .npy array (a data set goes to --dataset)")
    return [value]


def _dataset(args: argparse.Namespace) -> Dataset | None:
    """The --dataset (and --float-model) checked against the model before any board boots."""
    if (args.samples is not None or args.float_model) and not args.dataset:
        raise HarnessError("--samples and --float-model apply to --dataset only")
    if not args.dataset:
        return None
    if args.per_layer:
        raise HarnessError("--per-layer does not apply to --dataset (run one input with --input)")
    model = load_model(args.model)
    if args.float_model:
        float_model_for(args.float_model, tuple(model.tensors[model.inputs[0]].shape))
    return dataset_for(model, args.dataset, args.samples, args.seed)


@command("run", "run a model on the device and compare with tflite-micro", _run_arguments)
def cmd_run(args: argparse.Namespace) -> int:
    given = [_load_input(args.input)] if args.input else None  # bad input: no board started
    if args.protocol == "mlperf-tiny":
        if len(args.model) > 1:
            raise HarnessError("--protocol mlperf-tiny runs one --model: the one the firmware computes")
        args.model = args.model[0]
        return run_mlperf(args, given)
    if args.board is None:
        raise HarnessError("--board is required (but for --protocol mlperf-tiny --port)")
    if wants_user_firmware(args):
        return run_user_firmware(args)
    if len(args.model) > 1:
        return _run_several(args)
    args.model = args.model[0]
    dataset = _dataset(args)
    with InferenceSession.open(
        args.board,
        args.emulator,
        args.model,
        port=args.port,
        baud=args.baud,
        probe=args.probe,
        timeout=args.timeout,
        progress=Progress.for_command(args.json),
        stream=args.stream,
    ) as session:
        result, inference = run_dataset_or_inputs(
            session,
            dataset,
            args.float_model,
            lambda: session.run(given, count=args.inputs, seed=args.seed, per_layer=args.per_layer),
        )
        report, header = _report(args, args.model, session, result, inference)
    emit(args, report, header + "\n" + result.describe())
    if not result.verdict.passed:
        raise CheckFailed("device outputs differ from tflite-micro")
    return 0


def _report(args: argparse.Namespace, model: str, session: InferenceSession, result, inference) -> tuple[dict, str]:
    load = session.device_model.info
    report = {
        "model": model,
        "board": args.board,
        "emulator": args.emulator,
        "arena_bytes": load.arena_size,
        "arena_capacity": load.arena_capacity,
        **result.as_dict(),
    }
    header = (
        f"{model} on {args.board} ({args.emulator}): {len(inference.instructions)} "
        f"inference(s), arena {load.arena_size} of {load.arena_capacity} bytes"
    )
    return report, header


def _run_several(args: argparse.Namespace) -> int:
    """Several models, seeded inputs only; in QEMU as few boots as the flash model slot allows.
    The JSON is a list of the one-model reports, in the order of --model."""
    if (
        args.input
        or args.dataset
        or args.stream
        or not capabilities(load_board(args.board), args.emulator).preloads_model_slot
    ):
        raise HarnessError(
            "several --model run with seeded --inputs on a target that preloads the model slot "
            "(QEMU) only: --input, --dataset, --stream and real boards take one --model"
        )

    def run(position: int, session: InferenceSession) -> tuple[dict, str]:
        result = session.run(None, count=args.inputs, seed=args.seed, per_layer=args.per_layer)
        report, header = _report(args, args.model[position], session, result, result)
        return report, header + "\n" + result.describe()

    reports = run_each(
        args.board, args.emulator, args.model, run, args.timeout, Progress.for_command(args.json), parallel=args.jobs
    )
    ordered = [reports[position] for position in range(len(args.model))]
    emit(args, [report for report, _ in ordered], "\n\n".join(text for _, text in ordered))
    failed = [report["model"] for report, _ in ordered if not report["passed"]]
    if failed:
        raise CheckFailed(f"device outputs differ from tflite-micro for {', '.join(failed)}")
    return 0
