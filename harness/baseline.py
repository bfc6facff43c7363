"""Baselines and regression gates.

A baseline (`baselines/<board>-<emulator>.json` in the user's project, see
harness/resources.py, kept under version control there) holds, per case (a model
or the self-test workload), whether it was bit-exact and its metrics: instruction or cycle counts
(total and per layer) and memory. `compare()` fails any loss of bit-exactness and any metric above
its baseline by more than its threshold (default 2 %, per metric or metric group in the baseline's
`thresholds` or on the command line); it reports improvements so the baseline can be moved on
purpose with `hil baseline update`, which merges the cases it measured into the existing file.
Every record given is gated (docs/verdicts.md): a case the baseline does not hold is "new" and
must still be bit-exact; a record with no metrics or no bit-exactness verdict fails; a baseline
case with no record is "missing" (a failure when strict).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError
from .input_files import read_regular_file
from .json_fields import NUMBER, check_field, is_type
from .resources import project_dir

DEFAULT_THRESHOLD = 0.02
MEMORY_GATED = ("flash_bytes", "ram_static_bytes", "stack_high_water", "arena_used", "training_bytes")


class BaselineError(HarnessError):
    """A baseline file is missing or malformed."""


def baseline_path(board: str, emulator: str, directory: Path | None = None) -> Path:
    """The baseline file of a board variant: in `directory`, by default the project's baselines/."""
    return (directory or project_dir() / "baselines") / f"{board}-{emulator}.json"


def flat_metrics(metrics: dict[str, Any]) -> dict[str, int]:
    """The gated numbers of a record's metrics, by name: `<unit>.<region>` and `memory.<figure>`."""
    flat: dict[str, int] = {}
    for region in metrics.get("timing", {}).get("regions", []):
        flat[f"{region['unit']}.{region['name']}"] = region[region["unit"]]
    for name in MEMORY_GATED:
        value = metrics.get("memory", {}).get(name)
        if value:
            flat[f"memory.{name}"] = value
    return flat


def threshold_for(metric: str, thresholds: dict[str, float]) -> float:
    """The most specific threshold: the metric's own, its group's ("instructions"), or the default."""
    if metric in thresholds:
        return thresholds[metric]
    group = metric.split(".", 1)[0]
    return thresholds.get(group, thresholds.get("default", DEFAULT_THRESHOLD))


@dataclass
class Comparison:
    failures: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # cases the baseline does not hold
    missing: list[str] = field(default_factory=list)  # baseline cases no record measured
    checked: int = 0
    cases: int = 0  # records gated

    @property
    def ok(self) -> bool:
        return not self.failures


def load_baseline(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise BaselineError(f"no baseline {path}: record one with `hil baseline update`")
    text = read_regular_file(path, "baseline", BaselineError)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise BaselineError(f"baseline {path} has no `cases` object")
    check_baseline(data, f"baseline {path}")
    return data


def check_baseline(data: dict[str, Any], where: str) -> None:
    """BaselineError naming the case and field unless `data` has the shape compare() reads."""
    for name in ("board", "emulator"):
        check_field(data, name, str, where, error=BaselineError)
    for metric, value in (check_field(data, "thresholds", dict, where, error=BaselineError) or {}).items():
        if not is_type(value, NUMBER) or not 0 <= value < float("inf"):
            raise BaselineError(
                f"{where}: threshold `{metric}` must be a number of 0 or more, not {json.dumps(value)[:40]}"
            )
    for case, entry in data["cases"].items():
        at = f"{where}: case {case}"
        if not isinstance(entry, dict):
            raise BaselineError(f"{at} must be an object")
        for name in ("model", "model_path", "model_sha256", "build_id"):
            check_field(entry, name, str, at, error=BaselineError)
        check_field(entry, "bit_exact", bool, at, error=BaselineError)
        metrics = check_field(entry, "metrics", dict, at, required=True, error=BaselineError)
        for metric, value in metrics.items():
            if not is_type(value, NUMBER):
                raise BaselineError(f"{at}: metric `{metric}` must be a number, not {json.dumps(value)[:40]}")


def baseline_entry(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": record.get("model"),
        "model_path": record.get("model_path"),
        "model_sha256": record.get("model_sha256"),
        "bit_exact": record.get("bit_exact"),
        "build_id": record.get("build_id"),
        "metrics": flat_metrics(record.get("metrics", {})),
    }


def write_baseline(
    path: Path, board: str, emulator: str, records: dict[str, dict[str, Any]], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Writes the baseline from the newest record of each case, keeping existing thresholds and
    the cases of `previous` this run did not measure (a partial run never drops a case)."""
    cases = {**(previous or {}).get("cases", {}), **{case: baseline_entry(record) for case, record in records.items()}}
    data = {
        "board": board,
        "emulator": emulator,
        "updated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "thresholds": (previous or {}).get("thresholds", {"default": DEFAULT_THRESHOLD}),
        "cases": dict(sorted(cases.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def _mismatch_text(record: dict[str, Any]) -> str:
    mismatch = record.get("mismatch") or {}
    if "layer" in mismatch:
        name = f" ({mismatch['layer_name']})" if mismatch.get("layer_name") else ""
        return f": first difference at layer {mismatch['layer']}{name}"
    return f": {mismatch['detail']}" if mismatch.get("detail") else ""


def _verdict_failure(label: str, record: dict[str, Any], entry: dict[str, Any] | None) -> str | None:
    """Why a record cannot pass any gate: it is not bit-exact, says nothing about bit-exactness,
    or measured nothing."""
    bit_exact = record.get("bit_exact")
    if bit_exact is False:
        was = "no longer" if entry and entry.get("bit_exact") else "not"
        return f"{label}: {was} bit-exact with the reference{_mismatch_text(record)}"
    if bit_exact is not True:
        return f"{label}: the record has no bit-exactness verdict (bit_exact: {json.dumps(bit_exact)})"
    compared = record.get("compared")
    if isinstance(compared, dict) and not compared.get("elements"):
        return f"{label}: the record's verdict compared nothing (compared: {json.dumps(compared)})"
    if not flat_metrics(record.get("metrics") or {}):
        return f"{label}: the record has no metrics"
    return None


def recordable_failure(record: dict[str, Any]) -> str | None:
    """Why `record` cannot go into a baseline (the reason it would fail every gate), or None."""
    return _verdict_failure(str(record.get("model") or record.get("case")), record, None)


def _metric_changes(
    label: str, entry: dict[str, Any], record: dict[str, Any], limits: dict[str, float], result: Comparison
) -> None:
    new_metrics = flat_metrics(record.get("metrics") or {})
    for metric, old in sorted(entry.get("metrics", {}).items()):
        if not old:
            continue
        new = new_metrics.get(metric)
        result.checked += 1
        if new is None:
            result.failures.append(f"{label}: {metric} baseline {old}, not measured now")
            continue
        change = (new - old) / old
        limit = threshold_for(metric, limits)
        text = f"{label}: {metric} baseline {old}, now {new} ({change:+.2%}, threshold {limit:.1%})"
        if change > limit:
            result.failures.append(text)
        elif change < -limit:
            result.improvements.append(text)


def compare(
    baseline: dict[str, Any],
    records: dict[str, dict[str, Any]],
    thresholds: dict[str, float] | None = None,
    strict: bool = False,
) -> Comparison:
    """Gates every record given (the newest of each case) against the baseline. Baseline cases
    without a record are listed as missing; `strict` makes each of them a failure."""
    limits = {**baseline.get("thresholds", {}), **(thresholds or {})}
    result = Comparison(cases=len(records))
    for case, record in sorted(records.items()):
        entry = baseline["cases"].get(case)
        label = record.get("model") or case
        failure = _verdict_failure(label, record, entry)
        if failure:
            result.failures.append(failure)
        if entry is None:
            result.new.append(f"{case}: new case, not in the baseline")
        elif flat_metrics(record.get("metrics") or {}):
            _metric_changes(label, entry, record, limits, result)
    result.missing = [
        f"{case}: in the baseline, not measured by this run" for case in sorted(set(baseline["cases"]) - set(records))
    ]
    if strict:
        result.failures += [f"missing {line}" for line in result.missing]
    return result
