"""`--firmware ELF` and `--firmware-project DIR`: the commands on a firmware of the user's own
(docs/byo_firmware.md). The commands that take them (`hil run`, `hil flash`, `hil bench`) add the options with
firmware_arguments() and hand over to the functions here when one is given."""

from __future__ import annotations

import argparse

from ..boards import load_board
from ..engine.accuracy import run_dataset_or_inputs
from ..errors import CheckFailed, HarnessError
from ..firmware_runner import FirmwareSession, firmware_for
from ..progress import Progress
from . import emit


def firmware_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--firmware",
        metavar="ELF",
        help="a firmware of your own built on the device SDK, with the model compiled in "
        "(docs/byo_firmware.md); its .bin/.hex beside it for flashing",
    )
    group.add_argument(
        "--firmware-project",
        metavar="DIR",
        help="a PlatformIO project of your own: built for the board (environment named as "
        "the board's pio_env) with HIL_MODEL set to --model",
    )


def wants_user_firmware(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "firmware", None) or getattr(args, "firmware_project", None))


def run_user_firmware(args: argparse.Namespace) -> int:
    """`hil run --firmware/--firmware-project`: the same verdict as for the harness's engine."""
    models = args.model if isinstance(args.model, list) else [args.model]
    if len(models) != 1:
        raise HarnessError("--firmware/--firmware-project run one --model: the one compiled in")
    args.model = models[0]
    if args.stream:
        raise HarnessError("--stream does not apply to --firmware/--firmware-project: the model is compiled in")
    from .inference import _dataset, _load_input  # noqa: PLC0415 (the module that imports this one)

    given = [_load_input(args.input)] if args.input else None
    dataset = _dataset(args)  # checked before anything builds or boots
    with FirmwareSession.open(
        args.board,
        args.emulator,
        args.model,
        firmware=args.firmware,
        project=args.firmware_project,
        port=args.port,
        baud=args.baud,
        probe=args.probe,
        timeout=args.timeout,
        progress=Progress.for_command(args.json),
    ) as session:
        result, inference = run_dataset_or_inputs(
            session,
            dataset,
            args.float_model,
            lambda: session.run(given, count=args.inputs, seed=args.seed, per_layer=args.per_layer),
        )
        regions = session.device_model.regions()  # what the firmware's hooks timed in the last invoke
        firmware = session.dut.target.firmware if hasattr(session.dut.target, "firmware") else None
        report = {
            "model": args.model,
            "board": args.board,
            "emulator": args.emulator,
            "firmware": str(firmware.elf) if firmware else args.firmware,
            "model_sha256": session.device_model.sha256,
            **result.as_dict(),
            "regions": {str(rid): {"calls": calls, "ticks": ticks} for rid, (calls, ticks) in regions.items()},
        }
    header = (
        f"{args.model} on {args.board} ({args.emulator}), firmware "
        f"{args.firmware or args.firmware_project}: {len(inference.instructions)} inference(s)"
    )
    timed = ", ".join(f"{rid}: {ticks}" for rid, (_, ticks) in sorted(regions.items()))
    emit(args, report, header + "\n" + result.describe() + (f"\ntiming regions (ticks): {timed}" if timed else ""))
    if not result.verdict.passed:
        raise CheckFailed("device outputs differ from tflite-micro")
    return 0


def flash_user_firmware(args: argparse.Namespace) -> int:
    """`hil flash --firmware/--firmware-project`: the user's firmware onto a real board."""
    from ..targets.flash import flash, require_flasher  # noqa: PLC0415

    board = load_board(args.board)
    if args.model is None and args.firmware_project:
        raise HarnessError("--firmware-project needs --model: the model the project compiles in")
    require_flasher(board)
    progress = Progress.for_command(args.json)
    image = firmware_for(board, "none", args.firmware, args.firmware_project, args.model, progress)
    with progress.step(f"flashing {board.name} with {board.upload_tool}"):
        flash(board, image, args.probe, args.port)
    emit(args, {"board": board.name, "flashed": str(image.hex)}, f"flashed {image.hex}")
    return 0
