"""Baselines and regression gates.

A baseline (`baselines/<board>-<emulator>.json` in the user's project, see
harness/resources.py, kept under version control there) holds, per case (a model
or the self-test workload), whether it was bit-exact and its metrics: instruction or cycle counts
(total and per layer) and memory. `compare()` fails any loss of bit-exactness and any metric above
its baseline by more than its threshold (default 2 %, per metric or metric group in the baseline's
`thresholds` or on the command line); it reports improvements so the baseline can be moved on
purpose with `hil baseline update`, which merges the cases it measured into the existing file.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError
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
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def load_baseline(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BaselineError(f"no baseline {path}: record one with `hil baseline update`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise BaselineError(f"baseline {path} has no `cases` object")
    return data


def baseline_entry(record: dict[str, Any]) -> dict[str, Any]:
    return {"model": record.get("model"), "model_path": record.get("model_path"),
            "model_sha256": record.get("model_sha256"),
            "bit_exact": record.get("bit_exact"), "build_id": record.get("build_id"),
            "metrics": flat_metrics(record.get("metrics", {}))}


def write_baseline(path: Path, board: str, emulator: str, records: dict[str, dict[str, Any]],
                   previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Writes the baseline from the newest record of each case, keeping existing thresholds and
    the cases of `previous` this run did not measure (a partial run never drops a case)."""
    cases = {**(previous or {}).get("cases", {}),
             **{case: baseline_entry(record) for case, record in records.items()}}
    data = {
        "board": board, "emulator": emulator,
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


def compare(baseline: dict[str, Any], records: dict[str, dict[str, Any]],
            thresholds: dict[str, float] | None = None) -> Comparison:
    """Compares the newest record of each case with the baseline."""
    limits = {**baseline.get("thresholds", {}), **(thresholds or {})}
    result = Comparison()
    for case, record in sorted(records.items()):
        entry = baseline["cases"].get(case)
        if entry is None:
            result.improvements.append(f"{case}: new case, not in the baseline")
            continue
        label = record.get("model") or case
        if entry.get("bit_exact") and record.get("bit_exact") is False:
            result.failures.append(f"{label}: no longer bit-exact with the reference{_mismatch_text(record)}")
        new_metrics = flat_metrics(record.get("metrics", {}))
        for metric, old in sorted(entry.get("metrics", {}).items()):
            new = new_metrics.get(metric)
            if new is None or not old:
                continue
            result.checked += 1
            change = (new - old) / old
            limit = threshold_for(metric, limits)
            text = f"{label}: {metric} baseline {old}, now {new} ({change:+.2%}, threshold {limit:.1%})"
            if change > limit:
                result.failures.append(text)
            elif change < -limit:
                result.improvements.append(text)
    return result
