"""Small inline SVG charts: horizontal bars, one stacked bar, a line chart. Text is escaped."""
from __future__ import annotations

from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f")
FONT = 'font-family="sans-serif" font-size="12"'


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def bar_chart(items: list[tuple[str, float]], title: str, unit: str, width: int = 640) -> str:
    """One horizontal bar per item (e.g. instructions per layer)."""
    label_width, row, top = 140, 22, 24
    height = top + row * max(1, len(items)) + 10
    largest = max((value for _, value in items), default=0) or 1
    span = width - label_width - 120
    body = [f'<text x="4" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = max(1.0, span * value / largest)
        body += [
            f'<text x="{label_width - 6}" y="{y + 14}" {FONT} text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[index % len(PALETTE)]}"/>',
            f'<text x="{label_width + length + 6:.1f}" y="{y + 14}" {FONT}>{value:,.0f} {escape(unit)}</text>',
        ]
    return _svg(width, height, body, title)


def stacked_bar(parts: list[tuple[str, float]], title: str, unit: str, width: int = 640) -> str:
    """One bar split into parts (e.g. RAM: .data, .bss, stack, arena), with a legend."""
    total = sum(value for _, value in parts) or 1
    left, bar_width, y = 4, width - 8, 24
    body = [f'<text x="4" y="16" {FONT} font-weight="bold">{escape(title)} '
            f'({total:,.0f} {escape(unit)})</text>']
    x = float(left)
    for index, (label, value) in enumerate(parts):
        length = bar_width * value / total
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="24" '
                    f'fill="{PALETTE[index % len(PALETTE)]}"/>')
        x += length
    for index, (label, value) in enumerate(parts):
        ly = y + 40 + index * 18
        body += [f'<rect x="{left}" y="{ly - 10}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>',
                 f'<text x="{left + 18}" y="{ly}" {FONT}>{escape(label)}: {value:,.0f} {escape(unit)}</text>']
    return _svg(width, y + 40 + 18 * len(parts), body, title)


def line_chart(series: dict[str, list[float]], labels: list[str], title: str, unit: str,
               width: int = 640, height: int = 260) -> str:
    """One line per series over the x labels (e.g. total instructions per firmware version)."""
    left, right, top, bottom = 120, 150, 28, 70
    values = [v for points in series.values() for v in points if v is not None]
    high, low = (max(values), min(values)) if values else (1, 0)
    low = 0 if low > 0 else low
    high = high if high > low else low + 1
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(labels) - 1)

    def point(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + plot_h * (1 - (value - low) / (high - low))

    body = [f'<text x="4" y="16" {FONT} font-weight="bold">{escape(title)}</text>',
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
            f'<text x="{left - 4}" y="{top + 4}" {FONT} text-anchor="end">{high:,.0f}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" {FONT} text-anchor="end">{low:,.0f}</text>',
            f'<text x="4" y="{top + plot_h / 2}" {FONT}>{escape(unit)}</text>']
    for index, label in enumerate(labels):
        x, _ = point(index, low)
        body.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" {FONT} text-anchor="end" '
                    f'transform="rotate(-30 {x:.1f} {top + plot_h + 14})">{escape(label[:16])}</text>')
    for number, (name, points) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        coordinates = [point(i, v) for i, v in enumerate(points) if v is not None]
        if len(coordinates) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in coordinates]
        ly = top + 14 + number * 18
        body += [f'<rect x="{left + plot_w + 10}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>',
                 f'<text x="{left + plot_w + 28}" y="{ly}" {FONT}>{escape(name[:18])}</text>']
    return _svg(width, height, body, title)
