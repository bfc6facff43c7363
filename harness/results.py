"""The results file: one JSON record per measured case, appended and fsync'ed as the run goes.

A crash, a dead board or Ctrl-C mid-run loses nothing already measured: each record is a whole
line written with one write() and made durable before the next case starts. Reading skips a torn
last line (the one being written when the process died). A rerun with `resume` skips every case
whose key (board, emulator, firmware build, model, case, seed) is already recorded.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import __version__
from .errors import HarnessError
from .input_files import read_regular_file
from .json_fields import NUMBER, check_field, is_type

KEY_FIELDS = ("board", "emulator", "build_id", "model_sha256", "case", "seed")


class ResultsError(HarnessError):
    """The results file cannot be read or written."""


def case_key(record: dict[str, Any]) -> tuple:
    return tuple(record.get(name) for name in KEY_FIELDS)


def new_record(
    *,
    board: str,
    emulator: str,
    build_id: str,
    case: str,
    model: str | None = None,
    model_sha256: str | None = None,
    seed: int | None = None,
    verdict: str = "pass",
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A record with the fields every consumer (resume, baselines, reports) relies on."""
    return {
        "board": board,
        "emulator": emulator,
        "build_id": build_id,
        "case": case,
        "model": model,
        "model_sha256": model_sha256,
        "seed": seed,
        "harness_version": __version__,
        "verdict": verdict,
        "metrics": metrics or {},
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def _field(data: dict[str, Any], name: str, kind: type | tuple, where: str, required: bool = False) -> Any:
    return check_field(data, name, kind, where, required, error=ResultsError)


# The fields readers rely on, and their JSON types (None is allowed for every optional one).
REQUIRED_FIELDS: dict[str, type] = {"board": str, "emulator": str, "case": str}
OPTIONAL_FIELDS = {
    "build_id": str,
    "model": str,
    "model_sha256": str,
    "verdict": str,
    "seed": int,
    "bit_exact": bool,
    "mismatch": dict,
    "layer_names": list,
    "metrics": dict,
}


def check_record(record: dict[str, Any], where: str) -> dict[str, Any]:
    """`record` if it has the shape every reader (resume, baseline, regress, report) relies on;
    else a ResultsError naming the line and the field."""
    for name, kind in REQUIRED_FIELDS.items():
        _field(record, name, kind, where, required=True)
    for name, kind in OPTIONAL_FIELDS.items():
        _field(record, name, kind, where)
    if record.get("metrics") is not None:
        check_metrics(record["metrics"], f"{where}: metrics")
    compared = _field(record, "compared", dict, where) or {}
    for name in ("elements", "exact"):  # what the gate reads: a PASS over 0 elements fails it
        _field(compared, name, int, f"{where}: compared", required=bool(compared))
    if "training" in record:
        from .training.record import check_training  # noqa: PLC0415 (that module builds on this one)

        check_training(record["training"], where)
    return record


def check_metrics(metrics: dict[str, Any], where: str) -> None:
    timing = _field(metrics, "timing", dict, where) or {}
    _field(timing, "unit", str, f"{where}.timing")
    _field(timing, "total", NUMBER, f"{where}.timing")
    for number, region in enumerate(_field(timing, "regions", list, f"{where}.timing") or []):
        at = f"{where}.timing.regions[{number}]"
        if not isinstance(region, dict):
            raise ResultsError(f"{at} must be an object")
        _field(region, "name", str, at, required=True)
        unit = _field(region, "unit", str, at, required=True)
        _field(region, unit, NUMBER, at, required=True)
        _field(region, "layer", int, at)
    for name, value in (_field(metrics, "memory", dict, where) or {}).items():
        if value is not None and not is_type(value, NUMBER):
            raise ResultsError(f"{where}.memory: field `{name}` must be a number, not {json.dumps(value)[:40]}")


class ResultsFile:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        if self.path.exists() and not self.path.is_file():  # opening a FIFO would wait for a reader
            raise ResultsError(f"cannot write results file {self.path}: it is not a regular file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._drop_torn_tail()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ResultsError(f"cannot write results file {self.path}: {exc.strerror}") from None

    def _drop_torn_tail(self) -> None:
        """Cuts a partial last line left by a killed writer, so the next record starts cleanly."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as stream:
            data = stream.read()
            if data.endswith(b"\n"):
                return
            stream.truncate(data.rfind(b"\n") + 1)

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        lines = read_regular_file(self.path, "results file", ResultsError).split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # torn last line: the writer died mid-write
                    continue
                raise ResultsError(f"{self.path} line {number} is not a JSON record") from None
            if not isinstance(record, dict):
                raise ResultsError(f"{self.path} line {number} is not a JSON object")
            yield check_record(record, f"{self.path} line {number}")

    def completed_keys(self) -> set[tuple]:
        return set(self.completed())

    def completed(self) -> dict[tuple, dict[str, Any]]:
        """The newest record of each key: what a resumed run takes instead of measuring again."""
        return {case_key(record): record for record in self.records()}

    def latest(self, board: str | None = None, emulator: str | None = None) -> dict[str, dict[str, Any]]:
        """The newest benchmark record of each case (by file order), optionally for one board
        variant: what baselines and gates take. A `hil train` run in the same file is no benchmark
        case (its verdict was given when it ran; the report shows it)."""
        newest: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if (board and record.get("board") != board) or (emulator and record.get("emulator") != emulator):
                continue
            if record.get("training") is not None:
                continue
            newest[record["case"]] = record
        return newest
