"""The report's SVG charts: no clipped labels or values, every trend readable on its own scale."""

from __future__ import annotations

import re

from harness.report.html import render_report
from harness.report.svg import bar_chart, line_chart, text_width


def _view_width(svg: str) -> float:
    return float(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))


def test_bar_labels_and_values_fit_inside_the_chart():
    items = [(f"{n}: DEPTHWISE_CONV_2D", 21_380_550 // (n + 1)) for n in range(13)]
    svg = bar_chart(items, "instructions per layer", "instructions")
    width = _view_width(svg)
    labels = list(
        re.finditer(r'<text x="([\d.]+)" y="[\d.]+" [^>]*text-anchor="end"><title>([^<]*)</title>([^<]*)</text>', svg)
    )
    values = list(
        re.finditer(
            r'<text x="([\d.]+)" y="[\d.]+" font-family="sans-serif" font-size="12">([\d,]+ instructions)</text>', svg
        )
    )
    assert len(labels) == len(values) == 13
    for match in labels:
        assert float(match.group(1)) - text_width(match.group(3)) >= 0, match.group(3)  # label starts inside
    assert "12: DEPTHWISE_CONV_2D" in svg
    for match in values:
        assert float(match.group(1)) + text_width(match.group(2)) <= width, match.group(2)  # value ends inside


def test_a_small_change_is_visible_on_a_series_own_scale():
    svg = line_chart([66_921_000, 66_990_000], ["a", "b"], "kws", "instructions")
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[0] - ys[1] > 50  # a 0.1 % rise spans most of the plot's height
    assert "+0.10% vs first" in svg


def _record(case: str, build: str, total: int, verdict: str = "pass") -> dict:
    return {
        "board": "b",
        "emulator": "qemu",
        "case": case,
        "build_id": build,
        "verdict": verdict,
        "board_flash_bytes": 1000,
        "model_flash_bytes": 300,
        "metrics": {
            "timing": {
                "unit": "instructions",
                "total": total,
                "regions": [{"name": case, "unit": "instructions", "instructions": total}],
            },
            "memory": {"flash_bytes": 200, "text_bytes": 200},
        },
    }


def test_report_shows_totals_baseline_difference_flash_share_and_one_trend_per_case():
    records = [
        _record("big", "b1", 170_000_000),
        _record("small", "b1", 70_000),
        _record("big", "b2", 171_000_000),
        _record("small", "b2", 69_000, "fail"),
    ]
    baseline = {"board": "b", "emulator": "qemu", "cases": {"big": {"metrics": {"instructions.big": 170_000_000}}}}
    html = render_report(records, "t", {("b", "qemu"): baseline})
    assert '2 cases: <span class="pass">1 passed</span>, <span class="fail">1 failed</span>' in html
    assert '<span class="worse">+1,000,000</span>' in html and "+0.59%" in html
    assert "+0.00%" not in html
    assert "no baseline for: small (b, qemu)" in html
    assert "500 (50.0%)" in html and "500 B of 1,000, 50.0%" in html  # firmware + model of the capacity
    assert html.count("vs first") == 2  # a chart per case, each on its own scale
