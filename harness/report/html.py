"""One self-contained HTML page per run: summary table, per-layer time, memory, trend over builds."""
from __future__ import annotations

import datetime
from html import escape
from pathlib import Path
from typing import Any

from .. import __version__
from .svg import bar_chart, line_chart, stacked_bar

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
.pass{color:#2a7d2a;font-weight:bold}.fail{color:#b22;font-weight:bold}section{margin-bottom:28px}
"""


def _latest_by_variant(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        latest[(record["board"], record["emulator"], record["case"])] = record
    return latest


def _summary_table(latest: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    rows = ["<tr><th>board</th><th>emulator</th><th>case</th><th>verdict</th><th>total</th><th>unit</th>"
            "<th>flash B</th><th>static RAM B</th><th>stack B</th><th>arena B</th><th>firmware</th></tr>"]
    for (board, emulator, case), record in sorted(latest.items()):
        timing = record.get("metrics", {}).get("timing", {})
        memory = record.get("metrics", {}).get("memory", {})
        verdict = record.get("verdict", "")
        cells = [board, emulator, case, f'<span class="{escape(verdict)}">{escape(verdict)}</span>',
                 f"{timing.get('total') or 0:,}", timing.get("unit") or "",
                 f"{memory.get('flash_bytes', 0):,}", f"{memory.get('ram_static_bytes', 0):,}",
                 f"{memory.get('stack_high_water', 0):,}", f"{memory.get('arena_used', 0):,}",
                 record.get("build_id", "")]
        rows.append("<tr>" + "".join(f"<td>{c if c.startswith('<span') else escape(str(c))}</td>"
                                     for c in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _case_section(record: dict[str, Any]) -> str:
    timing = record.get("metrics", {}).get("timing", {})
    memory = record.get("metrics", {}).get("memory", {})
    unit = timing.get("unit") or "units"
    names = record.get("layer_names") or []
    layers = [(f"{r['layer']}: {names[r['layer']]}" if r["layer"] < len(names) else r["name"], r[r["unit"]])
              for r in timing.get("regions", []) if r.get("layer") is not None]
    parts = [f"<h3>{escape(record['case'])} — {escape(record['board'])} ({escape(record['emulator'])})</h3>",
             f"<p>{escape(unit)} from {escape(str(timing.get('source')))}; firmware "
             f"{escape(record.get('build_id', ''))}"
             + (f"; model sha256 {escape(record['model_sha256'])}" if record.get("model_sha256") else "")
             + (f"; inputs seed {record['seed']}" if record.get("seed") is not None else "") + "</p>"]
    if record.get("mismatch"):
        parts.append(f'<p class="fail">not bit-exact: {escape(str(record["mismatch"]))}</p>')
    if layers:
        parts.append(bar_chart(layers, f"{unit} per layer", unit))
    ram = [(".data", memory.get("data_bytes", 0)), (".bss", memory.get("bss_bytes", 0)),
           ("stack (high water)", memory.get("stack_high_water", 0))]
    parts.append(stacked_bar([(label, value) for label, value in ram if value], "RAM in use", "B"))
    flash = [("code", memory.get("text_bytes", 0)), ("constants", memory.get("rodata_bytes", 0)),
             (".data image", memory.get("data_bytes", 0))]
    parts.append(stacked_bar([(label, value) for label, value in flash if value], "Flash", "B"))
    if memory.get("arena_size") or memory.get("training_bytes"):
        parts.append(f"<p>arena {memory.get('arena_used', 0):,} of {memory.get('arena_size', 0):,} B; "
                     f"training buffers {memory.get('training_bytes', 0):,} B</p>")
    return "<section>" + "".join(parts) + "</section>"


def _trend(records: list[dict[str, Any]]) -> str:
    """Total time of each case per firmware build, in the order builds first appear."""
    builds: list[str] = []
    for record in records:
        if record.get("build_id") not in builds:
            builds.append(record.get("build_id"))
    charts = []
    variants = sorted({(r["board"], r["emulator"]) for r in records})
    for board, emulator in variants:
        series: dict[str, list[float | None]] = {}
        unit = "units"
        for record in records:
            if (record["board"], record["emulator"]) != (board, emulator):
                continue
            timing = record.get("metrics", {}).get("timing", {})
            unit = timing.get("unit") or unit
            points = series.setdefault(record["case"], [None] * len(builds))
            points[builds.index(record.get("build_id"))] = timing.get("total")
        charts.append(line_chart(series, [b.split(" ")[0] for b in builds],
                                 f"Total per firmware build — {board} ({emulator})", unit))
    return "".join(charts)


def render_report(records: list[dict[str, Any]], title: str) -> str:
    latest = _latest_by_variant(records)
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{len(records)} records; generated {generated} by hil {__version__}</p>",
            "<h2>Summary (newest record of each case)</h2>", _summary_table(latest),
            "<h2>Trend over firmware versions</h2>", _trend(records),
            "<h2>Cases</h2>", *(_case_section(record) for _, record in sorted(latest.items()))]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>" + "".join(body) + "</body></html>\n")


def write_report(records: list[dict[str, Any]], out: Path, title: str = "HIL benchmark report") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(records, title))
    return out
