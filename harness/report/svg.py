"""Small inline SVG charts: horizontal bars, one stacked bar, a small line chart. Text is escaped.

Label and value columns are sized from their longest text (CHAR_WIDTH per character of the 12 px
sans-serif font, a generous average), so nothing is clipped: a label too long for MAX_LABEL is
shortened at its end, keeping its start ("12: conv2d_..."), and its full text is the tooltip.
Wide charts take the page's width (width 100 %, scaled by the viewBox).
"""

from __future__ import annotations

from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f")
FONT = 'font-family="sans-serif" font-size="12"'
CHAR_WIDTH = 7.2
MAX_LABEL = 48  # characters


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact(value: float) -> str:
    """66920999 -> '66.92M', 1234 -> '1,234', a loss of 0.6931 -> '0.693' (axis labels of small charts)."""
    if abs(value) < 100 and value != int(value):
        return f"{value:.3g}"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= max(size, 1e4):
            return f"{value / size:.4g}{suffix}"
    return f"{value:,.0f}"


def _svg(width: float, height: float, body: list[str], title: str, fluid: bool = False) -> str:
    size = (
        f'width="100%" style="max-width:{width * 1.6:.0f}px"' if fluid else f'width="{width:.0f}" height="{height:.0f}"'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(items: list[tuple[str, float]], title: str, unit: str, width: int = 960) -> str:
    """One horizontal bar per item (e.g. instructions per layer)."""
    labels = [shorten(label) for label, _ in items]
    values = [f"{value:,.0f} {unit}" for _, value in items]
    label_width = max((text_width(t) for t in labels), default=0) + 12
    value_width = max((text_width(t) for t in values), default=0) + 12
    row, top = 22, 24
    height = top + row * max(1, len(items)) + 10
    largest = max((value for _, value in items), default=0) or 1
    span = max(120.0, width - label_width - value_width)
    width = max(width, int(label_width + span + value_width))
    body = [f'<text x="4" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    for index, ((full, value), label, shown) in enumerate(zip(items, labels, values)):
        y = top + index * row
        length = max(1.0, span * value / largest)
        body += [
            f'<text x="{label_width - 6:.1f}" y="{y + 14}" {FONT} text-anchor="end">'
            f"<title>{escape(full)}</title>{escape(label)}</text>",
            f'<rect x="{label_width:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[index % len(PALETTE)]}"/>',
            f'<text x="{label_width + length + 6:.1f}" y="{y + 14}" {FONT}>{escape(shown)}</text>',
        ]
    return _svg(width, height, body, title, fluid=True)


def stacked_bar(
    parts: list[tuple[str, float]], title: str, unit: str, width: int = 960, capacity: float | None = None
) -> str:
    """One bar split into parts (e.g. flash: code, constants, model), with a legend; given a
    capacity, the bar's full length is the capacity and the title says the share used."""
    total = sum(value for _, value in parts)
    scale = capacity or total or 1
    left, bar_width, y = 4, width - 8, 24
    heading = f"{escape(title)} ({total:,.0f} {escape(unit)}"
    heading += f" of {capacity:,.0f}, {total / capacity:.1%})" if capacity else ")"
    body = [f'<text x="4" y="16" {FONT} font-weight="bold">{heading}</text>']
    if capacity:
        body.append(f'<rect x="{left}" y="{y}" width="{bar_width}" height="24" fill="#eee" stroke="#bbb"/>')
    x = float(left)
    for index, (_label, value) in enumerate(parts):
        length = bar_width * value / scale
        body.append(
            f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="24" fill="{PALETTE[index % len(PALETTE)]}"/>'
        )
        x += length
    for index, (label, value) in enumerate(parts):
        ly = y + 40 + index * 18
        share = f" ({value / capacity:.1%})" if capacity else ""
        body += [
            f'<rect x="{left}" y="{ly - 10}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>',
            f'<text x="{left + 18}" y="{ly}" {FONT}>{escape(label)}: {value:,.0f} {escape(unit)}{share}</text>',
        ]
    return _svg(width, y + 40 + 18 * len(parts), body, title, fluid=True)


def line_chart(
    points: list[float | None],
    labels: list[str],
    title: str,
    unit: str,
    colour: str = PALETTE[0],
    width: int = 320,
    height: int = 170,
) -> str:
    """One series over the x labels (e.g. one case's total per firmware build), on its own scale:
    the y axis runs from the series' minimum to its maximum, so a change of 0.1 % is visible; the
    subtitle gives the last value and its change from the first."""
    left, right, top, bottom = 58, 12, 40, 28
    values = [v for v in points if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.1 or abs(high) * 0.01 or 1.0
    low, high = low - pad, high + pad
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(labels) - 1)

    def point(index: int, value: float) -> tuple[float, float]:
        x = left + (index * step if len(labels) > 1 else plot_w / 2)
        return x, top + plot_h * (1 - (value - low) / (high - low))

    subtitle = ""
    if values:
        subtitle = f"last {compact(values[-1])}" + (f" {unit}" if unit else "")
        if len(values) > 1 and values[0]:
            subtitle += f", {(values[-1] - values[0]) / values[0]:+.2%} vs first"
    body = [
        f'<text x="4" y="14" {FONT} font-weight="bold"><title>{escape(title)}</title>'
        f"{escape(shorten(title, int((width - 8) / CHAR_WIDTH)))}</text>",
        f'<text x="4" y="30" {FONT} fill="#555">{escape(subtitle)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" {FONT} text-anchor="end">{compact(high)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" {FONT} text-anchor="end">{compact(low)}</text>',
    ]
    every = max(1, -(-len(labels) // max(1, int(plot_w // 70))))  # one label per ~70 px
    for index, label in enumerate(labels):
        if index % every and index != len(labels) - 1:
            continue
        x, _ = point(index, low)
        anchor = (
            "start"
            if index == 0 and len(labels) > 1
            else "end"
            if index == len(labels) - 1 and len(labels) > 1
            else "middle"
        )
        body.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" {FONT} text-anchor="{anchor}">'
            f"<title>{escape(label)}</title>{escape(label[:10])}</text>"
        )
    coordinates = [point(i, v) for i, v in enumerate(points) if v is not None]
    if len(coordinates) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in coordinates]
    return _svg(width, height, body, title)
