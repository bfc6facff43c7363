"""`hil run --protocol mlperf-tiny`: an MLPerf Tiny firmware checked against tflite-micro."""

from __future__ import annotations

import argparse

import numpy as np

from ..commands import emit
from ..engine.accuracy import dataset_for, float_model_for, run_dataset_or_inputs
from ..errors import CheckFailed, HarnessError
from ..model.tflite import Model, load_model
from ..progress import Progress
from .session import MlperfSession, checked_model, latency_line

LATENCY_ITERATIONS = 10  # `infer 10 1` after the checked inputs: the latency reported


def _check_input(model: Model, value: np.ndarray, path: str) -> None:
    tensor = model.tensors[model.inputs[0]]
    if value.dtype != np.int8 or value.size != int(np.prod(tensor.shape)):
        raise HarnessError(
            f"{path}: the array is {value.dtype} {list(value.shape)}; the model's input "
            f"{tensor.name} is int8 {list(tensor.shape)}"
        )


def run_mlperf(args: argparse.Namespace, given: list | None) -> int:
    if args.per_layer:
        raise HarnessError("--per-layer needs the harness protocol: the MLPerf Tiny API prints only the output")
    if args.stream or args.firmware_project:
        raise HarnessError(
            f"{'--stream' if args.stream else '--firmware-project'} does not apply to "
            f"--protocol mlperf-tiny (give the firmware's --firmware ELF, or --port)"
        )
    model = checked_model(args.model)  # bad model or data: refused before anything boots
    if given:
        _check_input(model, given[0][0], args.input)
    dataset = None
    if args.dataset:
        if args.float_model:
            float_model_for(args.float_model, tuple(model.tensors[model.inputs[0]].shape))
        dataset = dataset_for(load_model(args.model), args.dataset, args.samples, args.seed)
    elif args.samples is not None or args.float_model:
        raise HarnessError("--samples and --float-model apply to --dataset only")
    emulator = "none" if args.port else args.emulator  # --port: the firmware on that port, as it runs
    with MlperfSession.open(
        args.model,
        port=args.port,
        baud=args.baud,
        board=args.board,
        emulator=emulator,
        firmware=args.firmware,
        timeout=args.timeout,
        progress=Progress.for_command(args.json),
    ) as session:
        result, inference = run_dataset_or_inputs(
            session, dataset, args.float_model, lambda: session.run(given, count=args.inputs, seed=args.seed)
        )
        timing = session.time(LATENCY_ITERATIONS, 1)
        report = {
            "model": args.model,
            "protocol": "mlperf-tiny",
            "board": args.board,
            "emulator": emulator,
            "port": args.port,
            "firmware": args.firmware,
            "device": session.handshake.as_dict(),
            "precision": session.precision(),
            "latency": timing.as_dict(),
            **result.as_dict(),
        }
        handshake = session.handshake
        precision = session.precision()
    header = (
        f"{args.model} on MLPerf Tiny firmware '{handshake.name}' (model {handshake.model}, "
        f"{handshake.profile}): {len(inference.instructions)} inference(s)"
    )
    exactness = (
        f"compared: {precision['int8_exact']} of {precision['compared']} output values int8-exact, "
        f"{precision['at_print_precision']} only at the printed precision ({precision['printed']})"
    )
    emit(args, report, "\n".join([header, latency_line(timing), exactness, result.describe()]))
    if not result.verdict.passed:
        raise CheckFailed("MLPerf Tiny firmware outputs differ from tflite-micro")
    return 0
