"""Measurement commands: hil bench, hil baseline update, hil regress, hil report."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..baseline import baseline_path, compare, load_baseline, recordable_failure, write_baseline
from ..boards import load_board
from ..engine.pack import pack_file
from ..engine.runner import batch_image
from ..errors import CheckFailed, HarnessError
from ..input_files import check_regular_file
from ..metrics.measured_dut import MeasuredDut
from ..metrics.model_bench import EngineBench, load
from ..metrics.workloads import SELFTEST_CASE, bench_model, bench_selftest, model_digest
from ..progress import Progress
from ..results import ResultsFile, case_key
from ..shared_models import resolve_path
from ..targets.registry import capabilities
from . import board_arguments, command, emit, positive_int, seed
from .user_firmware import firmware_arguments, wants_user_firmware


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    board_arguments(parser)
    firmware_arguments(parser)
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        type=Path,
        help="a .tflite model to benchmark (repeatable; default: the self-test workload)",
    )
    parser.add_argument("--selftest", action="store_true", help="also run the self-test workload with --model")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the generated inputs (default 0)")
    parser.add_argument(
        "--repeat",
        type=positive_int,
        default=2,
        help="runs per case; emulator counts must agree between them (default 2)",
    )
    parser.add_argument(
        "--iterations",
        type=_sizes,
        default=[1000],
        help="self-test workload size; a comma list makes one case per size (default 1000)",
    )
    parser.add_argument("--layers", type=positive_int, default=4, help="self-test workload parts (default 4)")
    parser.add_argument("--results", type=Path, help="append a record per case to this JSON Lines file")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="take cases already in --results from there instead of measuring them again",
    )
    parser.add_argument(
        "--firmware-flag",
        action="append",
        default=[],
        dest="firmware_flags",
        help="extra compiler flag for a firmware variant, e.g. -DHIL_SLOWDOWN_LOOPS=100",
    )
    parser.add_argument(
        "--no-plugin", action="store_true", help="time with the icount timer instead of the exact QEMU plugin"
    )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N,N,..., got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("self-test sizes must be positive")
    return sizes


def _open(args: argparse.Namespace, slot_image: bytes | None = None, progress: Progress | None = None) -> MeasuredDut:
    board = load_board(args.board)
    progress = progress or Progress.for_command(args.json)
    return MeasuredDut.open(
        board,
        args.emulator,
        progress=progress,
        extra_flags=args.firmware_flags or None,
        use_plugin=not args.no_plugin,
        slot_image=slot_image,
        port=args.port,
        baud=args.baud,
        probe_serial=args.probe,
        timeout=args.timeout,
    )


def _pack_models(args: argparse.Namespace) -> tuple[dict[Path, Any], dict[Path, int], bytes | None]:
    """Packs every --model; in QEMU they share the flash model slot, loaded at boot."""
    if not args.model:
        return {}, {}, None
    board = load_board(args.board)
    packed = {model: pack_file(model, board, args.emulator) for model in args.model}
    if not capabilities(board, args.emulator).preloads_model_slot:  # streamed into RAM instead
        return packed, {}, None
    image, offsets = batch_image([p.image for p in packed.values()])
    return packed, dict(zip(packed, offsets)), image


@dataclass(frozen=True)
class Case:
    name: str
    model: Path | None = None
    iterations: int = 0

    def key(self, board: str, emulator: str, build_id: str, seed: int) -> tuple:
        """The results-file key this case will be recorded under (see harness/results.py)."""
        if self.model is None:
            return case_key({"board": board, "emulator": emulator, "build_id": build_id, "case": self.name})
        return case_key(
            {
                "board": board,
                "emulator": emulator,
                "build_id": build_id,
                "case": self.name,
                "model_sha256": model_digest(self.model),
                "seed": seed,
            }
        )


def _cases(args: argparse.Namespace) -> list[Case]:
    if wants_user_firmware(args):
        from ..metrics.firmware_bench import firmware_case  # noqa: PLC0415 (imports the reference)

        return [Case(firmware_case(model), model=model) for model in args.model]
    cases = [Case(model.stem, model=model) for model in args.model]
    if not cases or args.selftest:
        several = len(args.iterations) > 1
        cases[:0] = [
            Case(f"{SELFTEST_CASE}-i{size}" if several else SELFTEST_CASE, iterations=size) for size in args.iterations
        ]
    return cases


def _measure(
    measured: MeasuredDut, case: Any, args: argparse.Namespace, packed: dict[Path, Any], offsets: dict[Path, int]
) -> dict[str, Any]:
    if case.model is None:
        return bench_selftest(measured, case.iterations, args.layers, args.repeat, case.name)
    device_model = load(measured, packed[case.model], offsets.get(case.model))
    return bench_model(measured, EngineBench(device_model), case.model, args.seed, args.repeat)


Measure = Callable[[Case], dict[str, Any]]


@contextmanager
def _engine(args: argparse.Namespace, progress: Progress) -> Iterator[tuple[str, Measure]]:
    """The harness's firmware with the --model's packed for its engine: its build id, a measure."""
    packed, offsets, slot_image = _pack_models(args)
    with _open(args, slot_image, progress) as measured:
        build_id = measured.dut.info.build_id if measured.dut.info else ""
        yield build_id, lambda case: _measure(measured, case, args, packed, offsets)


@contextmanager
def _user_firmware(args: argparse.Namespace, progress: Progress) -> Iterator[tuple[str, Measure]]:
    """--firmware/--firmware-project: the user's firmware with its one compiled-in --model."""
    from ..metrics.firmware_bench import elf_build_id, open_firmware_bench  # noqa: PLC0415

    if len(args.model) != 1:
        raise HarnessError("--firmware/--firmware-project bench one --model: the one compiled in")
    if args.selftest:
        raise HarnessError("--selftest needs the harness's firmware, not --firmware/--firmware-project")
    if args.firmware and args.firmware_flags:
        raise HarnessError("--firmware-flag builds a variant: it applies to --firmware-project, not --firmware")
    measured, bench = open_firmware_bench(
        args.board,
        args.emulator,
        args.model[0],
        args.firmware,
        args.firmware_project,
        progress,
        use_plugin=not args.no_plugin,
        extra_flags=args.firmware_flags or None,
        port=args.port,
        baud=args.baud,
        probe_serial=args.probe,
        timeout=args.timeout,
    )
    with measured:
        try:
            model = args.model[0]
            yield (
                elf_build_id(bench.elf),
                lambda case: bench_model(measured, bench, model, args.seed, args.repeat, case.name),
            )
        finally:
            bench.session.reference.close()


def run_bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measures every case, appending each record to --results as soon as it is measured. With
    --resume a case already recorded is not measured again: its recorded record is returned (and
    judged) like a new one."""
    results = ResultsFile(args.results) if args.results else None
    if args.resume and not results:
        raise HarnessError("--resume needs --results FILE")
    for model in args.model:
        if not model.exists():
            raise HarnessError(f"model {model} does not exist")
        check_regular_file(model, "model file")  # a FIFO would hang the digest
    done = results.completed() if results and args.resume else {}
    progress, records, cases = Progress.for_command(args.json), [], _cases(args)
    opened = _user_firmware(args, progress) if wants_user_firmware(args) else _engine(args, progress)
    with opened as (build_id, measure), progress.bar(len(cases), "bench cases", "case") as bar:
        for case in cases:
            recorded = done.get(case.key(args.board, args.emulator, build_id, args.seed))
            if recorded is not None:
                progress.say(f"    {case.name}: already in {args.results}, skipped")
                records.append(recorded)
            else:
                record = measure(case)
                if results:
                    results.append(record)
                records.append(record)
            bar.update()
    return records


def _record_text(record: dict[str, Any]) -> str:
    timing, memory = record["metrics"]["timing"], record["metrics"]["memory"]
    compared = record.get("compared")  # records of older harness versions do not say
    verdict = record["verdict"].upper() + (
        f": compared {compared['elements']} elements, {compared['exact']} exact" if compared else ""
    )
    verdict += f" ({record['mismatch'].get('detail')})" if record.get("mismatch") else ""
    lines = [
        f"{record['case']} on {record['board']} ({record['emulator']}), firmware {record['build_id']}: {verdict}",
        f"  total: {timing['total']} {timing['unit']} ({timing['source']})",
    ]
    for region in timing["regions"]:
        if region["layer"] is not None:
            lines.append(f"    {region['name']:<10} {region[region['unit']]:>12} {region['unit']}")
    lines.append("  memory: " + ", ".join(f"{key} {value}" for key, value in memory.items()))
    return "\n".join(lines)


@command("bench", "measure instructions/cycles per layer and memory", _bench_arguments)
def cmd_bench(args: argparse.Namespace) -> int:
    records = run_bench(args)
    emit(args, records, "\n".join(_record_text(record) for record in records) or "nothing to measure")
    return 0 if all(record["verdict"] == "pass" for record in records) else 1


def _baseline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["update", "show"], help="update: write the baseline from a run")
    _bench_arguments(parser)
    parser.add_argument("--baseline", type=Path, help="baseline file (default baselines/<board>-<emulator>.json)")
    parser.add_argument(
        "--from-results", action="store_true", help="take the newest records in --results instead of measuring now"
    )


def _baseline_file(args: argparse.Namespace) -> Path:
    return args.baseline or baseline_path(args.board, args.emulator)


def _recorded(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    if not args.results:
        raise HarnessError("--from-results needs --results FILE")
    records = {  # a `hil train` run in the same file is not a benchmark case: never baselined nor gated
        case: record
        for case, record in ResultsFile(args.results).latest(args.board, args.emulator).items()
        if not isinstance(record.get("training"), dict)
    }
    if not records:
        raise HarnessError(f"{args.results} has no benchmark records for {args.board} ({args.emulator})")
    return records


def _records_now_or_recorded(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    if getattr(args, "from_results", False):
        return _recorded(args)
    return {record["case"]: record for record in run_bench(args)}


@command("baseline", "record or show the regression baseline of a board", _baseline_arguments)
def cmd_baseline(args: argparse.Namespace) -> int:
    path = _baseline_file(args)
    if args.action == "show":
        data = load_baseline(path)
        emit(args, data, "\n".join(f"{case}: {entry['metrics']}" for case, entry in data["cases"].items()))
        return 0
    records = _records_now_or_recorded(args)
    refused = [failure for failure in map(recordable_failure, records.values()) if failure]
    if refused:
        raise CheckFailed(f"not writing {path}: a baseline records only passing cases; {refused[0]}")
    previous = load_baseline(path) if path.is_file() else None
    data = write_baseline(path, args.board, args.emulator, records, previous)
    emit(args, data, f"wrote {path} ({len(records)} cases measured, {len(data['cases'])} in the baseline)")
    return 0


def _threshold(text: str) -> tuple[str, float]:
    metric, _, value = text.partition("=")
    try:
        number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected METRIC=FRACTION or METRIC=N%, got {text!r}") from None
    return metric, number


def _regress_arguments(parser: argparse.ArgumentParser) -> None:
    _bench_arguments(parser)
    parser.add_argument("--baseline", type=Path, help="baseline file (default baselines/<board>-<emulator>.json)")
    parser.add_argument(
        "--from-results", action="store_true", help="compare the newest records in --results instead of measuring now"
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        type=_threshold,
        help="allowed rise, e.g. instructions=0.05, memory.flash_bytes=1%%, default=0.02",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail when a baseline case was not measured (CI uses this)"
    )


@command("regress", "compare a run with the board's baseline; exit 1 on a regression", _regress_arguments)
def cmd_regress(args: argparse.Namespace) -> int:
    baseline = load_baseline(_baseline_file(args))
    if not args.model and not args.from_results:  # measure what the baseline holds
        firmware = wants_user_firmware(args)  # only the cases of a user's firmware, else only ours
        args.model = [
            resolve_path(entry["model_path"])
            for case, entry in baseline["cases"].items()
            if entry.get("model_path") and _is_firmware_case(case) == firmware
        ]
        args.selftest = not firmware and any(case.startswith(SELFTEST_CASE) for case in baseline["cases"])
        if firmware and not args.model:
            raise HarnessError(
                f"{_baseline_file(args)} has no case of a user's firmware (<model>@firmware) to "
                f"measure: give the compiled-in --model"
            )
    records = _records_now_or_recorded(args)
    if args.results and not args.from_results:  # every record in the file is gated, resumed or not
        records = {**_recorded(args), **records}
    result = compare(baseline, records, dict(args.threshold), strict=args.strict)
    data = {
        "ok": result.ok,
        "cases": result.cases,
        "checked": result.checked,
        "failures": result.failures,
        "improvements": result.improvements,
        "new": result.new,
        "missing": result.missing,
    }
    text = "\n".join(
        [
            *(f"REGRESSION {line}" for line in result.failures),
            *(f"improved   {line}" for line in result.improvements),
            *(f"new        {line}" for line in result.new),
            *(f"missing    {line}" for line in result.missing if not args.strict),
            f"{result.cases} cases gated, {result.checked} metrics checked, {len(result.failures)} regressions",
        ]
    )
    emit(args, data, text)
    if not result.ok:
        raise CheckFailed(f"{len(result.failures)} regressions against {_baseline_file(args)}: {result.failures[0]}")
    return 0


def _is_firmware_case(case: str) -> bool:
    from ..metrics.firmware_bench import CASE_SUFFIX  # noqa: PLC0415

    return case.endswith(CASE_SUFFIX)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, required=True, help="JSON Lines results file")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--title", default="HIL benchmark report")
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        help="baseline file to show the difference from (repeatable; default: each "
        "board's own baseline where one exists)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


@command("report", "write a self-contained HTML report of a results file", _report_arguments)
def cmd_report(args: argparse.Namespace) -> int:
    from ..report.html import write_report  # noqa: PLC0415

    records = list(ResultsFile(args.results).records())
    if not records:
        raise HarnessError(f"{args.results} holds no records")
    baselines = _report_baselines(args.baseline, records)
    write_report(records, args.out, args.title, baselines)
    emit(
        args,
        {
            "report": str(args.out),
            "records": len(records),
            "baselines": sorted(f"{board}-{emulator}" for board, emulator in baselines),
        },
        f"wrote {args.out} ({len(records)} records)",
    )
    return 0


def _report_baselines(files: list[Path], records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The given baselines by (board, emulator), else each variant's own baseline file if it exists."""
    if not files:
        variants = {(record["board"], record["emulator"]) for record in records}
        files = [path for path in (baseline_path(*variant) for variant in sorted(variants)) if path.is_file()]
    baselines = {}
    for path in files:
        baseline = load_baseline(path)
        baselines[(baseline["board"], baseline["emulator"])] = baseline
    return baselines
