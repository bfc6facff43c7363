"""One self-contained HTML page per run: totals, environment, summary, difference from the
baseline per metric, trend per case over firmware builds, per-layer time, RAM and flash."""

from __future__ import annotations

import datetime
from html import escape
from pathlib import Path
from typing import Any

from .. import __version__
from ..baseline import flat_metrics
from .svg import PALETTE, bar_chart, line_chart, stacked_bar

STYLE = """
body{font-family:sans-serif;margin:16px 24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0;white-space:nowrap}td{white-space:nowrap}h4{margin:4px 0}
td:first-child,th:first-child{text-align:left}table.text td,table.text th{text-align:left;white-space:normal}
.pass{color:#2a7d2a;font-weight:bold}.fail{color:#b22;font-weight:bold}section{margin-bottom:28px}
.worse{color:#b22}.better{color:#2a7d2a}.grid{display:flex;flex-wrap:wrap;gap:8px 16px}
.totals{font-size:1.2em}.grid svg{border:1px solid #e4e4e4}
"""
Key = tuple[str, str, str]
ENVIRONMENT_FIELDS = ("harness", "qemu", "toolchain", "python", "host")


def _latest_by_variant(records: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    latest: dict[Key, dict[str, Any]] = {}
    for record in records:
        latest[(record["board"], record["emulator"], record["case"])] = record
    return latest


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    """Cells are HTML already (callers escape)."""
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"
    return (
        (f'<table class="{css}">' if css else "<table>")
        + head
        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
        + "</table>"
    )


def _verdict(verdict: str) -> str:
    return f'<span class="{escape(verdict)}">{escape(verdict)}</span>'


def _flash_total(record: dict[str, Any]) -> int:
    """Firmware flash plus the packed model in the flash model slot."""
    return record.get("metrics", {}).get("memory", {}).get("flash_bytes", 0) + (record.get("model_flash_bytes") or 0)


def _flash_cell(record: dict[str, Any]) -> str:
    total, capacity = _flash_total(record), record.get("board_flash_bytes")
    return f"{total:,}" + (f" ({total / capacity:.1%})" if capacity else "")


def _totals(latest: dict[Key, dict[str, Any]]) -> str:
    verdicts = [record.get("verdict") for record in latest.values()]
    passed, failed = verdicts.count("pass"), verdicts.count("fail")
    other = len(verdicts) - passed - failed
    return (
        f'<p class="totals">{len(verdicts)} cases: <span class="pass">{passed} passed</span>, '
        f'<span class="{"fail" if failed else ""}">{failed} failed</span>'
        + (f", {other} other" if other else "")
        + "</p>"
    )


def _environment(records: list[dict[str, Any]]) -> str:
    """Every distinct environment the records were measured in (older records have only the
    harness version)."""
    rows, seen = [], set()
    for record in records:
        env = record.get("environment") or {"harness": record.get("harness_version")}
        key = tuple(env.get(name) for name in ENVIRONMENT_FIELDS)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            [escape(f"{record['board']} ({record['emulator']})")]
            + [escape(str(v)) if v else "not recorded" for v in key]
        )
    return _table(["measured on", *ENVIRONMENT_FIELDS], rows, css="text")


def _build_cell(build_id: str) -> str:
    """The build's commit (its date and flags digest in the tooltip)."""
    return f'<span title="{escape(build_id)}">{escape(build_id.split(" ")[0])}</span>'


def _summary_table(latest: dict[Key, dict[str, Any]]) -> str:
    rows = []
    for (board, emulator, case), record in sorted(latest.items()):
        timing = record.get("metrics", {}).get("timing", {})
        memory = record.get("metrics", {}).get("memory", {})
        rows.append(
            [
                escape(board),
                escape(emulator),
                escape(case),
                _verdict(record.get("verdict", "")),
                f"{timing.get('total') or 0:,}",
                escape(timing.get("unit") or ""),
                _flash_cell(record),
                f"{memory.get('ram_static_bytes', 0):,}",
                f"{memory.get('stack_high_water', 0):,}",
                f"{memory.get('arena_used', 0):,}",
                _build_cell(record.get("build_id", "")),
            ]
        )
    return _table(
        [
            "board",
            "emulator",
            "case",
            "verdict",
            "total",
            "unit",
            "flash incl. model (share)",
            "static RAM",
            "stack",
            "arena",
            "firmware",
        ],
        rows,
    )


def _percent(share: float) -> str:
    """+1.03%, and enough digits that a change is never shown as +0.00%."""
    return f"{share:+.2%}" if share == 0 or abs(share) >= 5e-5 else f"{share * 100:+.1e}%"


def _metric_order(metric: str) -> tuple:
    """Totals first, then layers by number, then memory."""
    group, _, name = metric.partition(".")
    layer = name[len("layer") :]
    return (group == "memory", name.startswith("layer"), int(layer) if layer.isdigit() else 0, name)


def _baseline_table(latest: dict[Key, dict[str, Any]], baselines: dict[tuple[str, str], dict[str, Any]]) -> str:
    """One table per case (side by side): each metric's baseline, now, difference and change;
    cases without a baseline are named."""
    tables, missing = [], []
    for (board, emulator, case), record in sorted(latest.items()):
        entry = baselines.get((board, emulator), {}).get("cases", {}).get(case)
        if entry is None:
            missing.append(f"{case} ({board}, {emulator})")
            continue
        now = flat_metrics(record.get("metrics", {}))
        rows = []
        for metric, old in sorted(entry.get("metrics", {}).items(), key=lambda item: _metric_order(item[0])):
            new = now.get(metric)
            if new is None:
                continue
            change = new - old
            style = "worse" if change > 0 else "better" if change < 0 else ""
            rows.append(
                [
                    escape(metric),
                    f"{old:,}",
                    f"{new:,}",
                    f'<span class="{style}">{change:+,}</span>',
                    f'<span class="{style}">{_percent(change / old)}</span>' if old else "-",
                ]
            )
        tables.append(
            f"<div><h4>{escape(case)} — {escape(board)} ({escape(emulator)})</h4>"
            + _table(["metric", "baseline", "now", "difference", "change"], rows)
            + "</div>"
        )
    text = f'<div class="grid">{"".join(tables)}</div>' if tables else ""
    if missing:
        text += f"<p>no baseline for: {escape(', '.join(missing))}</p>"
    return text or "<p>no baseline given (hil report --baseline FILE)</p>"


def _case_section(record: dict[str, Any]) -> str:
    timing = record.get("metrics", {}).get("timing", {})
    memory = record.get("metrics", {}).get("memory", {})
    unit = timing.get("unit") or "units"
    names = record.get("layer_names") or []
    layers = [
        (f"{r['layer']}: {names[r['layer']]}" if r["layer"] < len(names) else r["name"], r[r["unit"]])
        for r in timing.get("regions", [])
        if r.get("layer") is not None
    ]
    parts = [
        f"<h3>{escape(record['case'])} — {escape(record['board'])} ({escape(record['emulator'])})</h3>",
        f"<p>{escape(unit)} from {escape(str(timing.get('source')))}; firmware "
        f"{escape(record.get('build_id', ''))}"
        + (f"; model sha256 {escape(record['model_sha256'])}" if record.get("model_sha256") else "")
        + (f"; inputs seed {record['seed']}" if record.get("seed") is not None else "")
        + "</p>",
    ]
    if record.get("mismatch"):
        parts.append(f'<p class="fail">not bit-exact: {escape(str(record["mismatch"]))}</p>')
    if layers:
        parts.append(bar_chart(layers, f"{unit} per layer", unit))
    ram = [
        (".data", memory.get("data_bytes", 0)),
        (".bss", memory.get("bss_bytes", 0)),
        ("stack (high water)", memory.get("stack_high_water", 0)),
    ]
    parts.append(stacked_bar([(label, value) for label, value in ram if value], "RAM in use", "B"))
    flash = [
        ("code", memory.get("text_bytes", 0)),
        ("constants", memory.get("rodata_bytes", 0)),
        (".data image", memory.get("data_bytes", 0)),
        ("model (flash slot)", record.get("model_flash_bytes") or 0),
    ]
    parts.append(
        stacked_bar(
            [(label, value) for label, value in flash if value],
            "Flash incl. model",
            "B",
            capacity=record.get("board_flash_bytes"),
        )
    )
    if memory.get("arena_size") or memory.get("training_bytes"):
        parts.append(
            f"<p>arena {memory.get('arena_used', 0):,} of {memory.get('arena_size', 0):,} B; "
            f"training buffers {memory.get('training_bytes', 0):,} B</p>"
        )
    return "<section>" + "".join(parts) + "</section>"


def _builds(records: list[dict[str, Any]]) -> list[str | None]:
    """Firmware builds in the order they first appear (None: a record without a build id)."""
    builds: list[str | None] = []
    for record in records:
        if record.get("build_id") not in builds:
            builds.append(record.get("build_id"))
    return builds


def _trend(records: list[dict[str, Any]]) -> str:
    """One small chart per case (and board, emulator): its total per firmware build, each on its
    own scale, so a case of 70 thousand instructions is as readable as one of 170 million."""
    builds = _builds(records)
    series: dict[Key, tuple[list[float | None], str]] = {}
    for record in records:
        timing = record.get("metrics", {}).get("timing", {})
        key = (record["board"], record["emulator"], record["case"])
        points, _ = series.setdefault(key, ([None] * len(builds), timing.get("unit") or "units"))
        points[builds.index(record.get("build_id"))] = timing.get("total")
    labels = [str(b).split(" ")[0] for b in builds]
    charts = [
        line_chart(points, labels, f"{case} — {board} ({emulator})", unit, PALETTE[n % len(PALETTE)])
        for n, ((board, emulator, case), (points, unit)) in enumerate(sorted(series.items()))
    ]
    return f'<div class="grid">{"".join(charts)}</div>'


def _peak_text(peak: int | None, budget: int | None, region: int | None) -> str:
    if not peak or not budget:
        return "not recorded"
    return f"{peak:,} B of a {budget:,} B budget" + (f"; firmware linked to {region:,} B of SRAM" if region else "")


def _curve_text(curve: list[dict[str, Any]]) -> str:
    """Each checkpoint's held-out accuracy on the device, and whether the reference's matched."""
    points = ", ".join(f"step {point['step']}: {point['device']:.3f}" for point in curve)
    differing = [point["step"] for point in curve if point.get("reference") != point["device"]]
    agreement = (
        "the reference equal at every checkpoint"
        if not differing
        else "the reference differs at step " + ", ".join(map(str, differing))
    )
    return f"{points} ({agreement})"


def _training_section(record: dict[str, Any]) -> str:
    """One `hil train` run: its loss per step and held-out accuracy at each checkpoint (charts),
    what was bit-exact and the measured peak SRAM against the budget."""
    training = record["training"]
    losses = training.get("losses") or []
    checkpoints = training.get("accuracy_checkpoints") or []
    where = f"{record['board']} ({record['emulator']})"
    charts = [
        line_chart(losses, [str(n + 1) for n in range(len(losses))], "loss per step", "", PALETTE[1], width=480),
        line_chart(
            [accuracy for _, accuracy in checkpoints],
            [f"step {step}" for step, _ in checkpoints],
            "held-out accuracy (device)"
            + (f", every {training['eval_every']} steps" if training.get("eval_every") else ""),
            "",
            PALETTE[4],
        ),
    ]
    peak, budget = training.get("peak_sram_bytes"), training.get("budget_bytes")
    facts = [
        [
            "steps",
            f"{training.get('steps')} (QAS {'on' if training.get('qas') else 'off'}, data {training.get('data')})",
        ],
        ["trained layers", ", ".join(training.get("trained_layers") or [])],
        ["backbone on the device", "yes" if training.get("backbone_on_device") else "no"],
        [
            "bit-exact",
            f"{training.get('losses_bit_exact')} step losses, {training.get('parameters_bit_exact')} parameters",
        ],
        [
            "held-out accuracy",
            f"{training.get('accuracy_before', 0):.3f} before, {training.get('accuracy_after', 0):.3f} after "
            f"(reference {training.get('reference_accuracy_after', 0):.3f}; chance {training.get('chance', 0):.3f}; "
            f"{training.get('test_samples')} samples)",
        ],
        ["measured peak SRAM", _peak_text(peak, budget, training.get("sram_region_bytes"))],
        *([["accuracy curve", _curve_text(training["accuracy_curve"])]] if training.get("accuracy_curve") else []),
    ]
    return (
        f"<section><h3>{escape(record['case'])} — {escape(where)}</h3>"
        + _table(["", ""], [[escape(name), escape(value)] for name, value in facts], css="text")
        + f'<div class="grid">{"".join(charts)}</div></section>'
    )


def render_report(
    records: list[dict[str, Any]], title: str, baselines: dict[tuple[str, str], dict[str, Any]] | None = None
) -> str:
    training = [record for record in records if isinstance(record.get("training"), dict)]
    records = [record for record in records if not isinstance(record.get("training"), dict)]
    latest = _latest_by_variant(records)
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    body = [
        f"<h1>{escape(title)}</h1>",
        _totals(latest),
        f"<p>{len(records)} records; generated {generated} by hil {__version__}</p>",
        "<h2>Environment</h2>",
        _environment(records + training),
        "<h2>Summary (newest record of each case; memory in bytes)</h2>",
        _summary_table(latest),
        "<h2>Difference from the baseline</h2>",
        _baseline_table(latest, baselines or {}),
        "<h2>Trend over firmware versions (total per case, own scale)</h2>",
        _trend(records),
        "<h2>Cases</h2>",
        *(_case_section(record) for _, record in sorted(latest.items())),
        *(["<h2>Training runs (hil train --results)</h2>"] if training else []),
        *(_training_section(record) for record in training),
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>" + "".join(body) + "</body></html>\n"
    )


def write_report(
    records: list[dict[str, Any]],
    out: Path,
    title: str = "HIL benchmark report",
    baselines: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(records, title, baselines))
    return out
