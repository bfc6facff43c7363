"""Checks a screenshot of the HTML report: is it non-blank, did the SVG plots render, is the pass
total shown, does nothing run off the right edge, and do the charts use the page's width?

    python -m tests.support.png_check report.png

Pure Python (zlib) so the check needs no imaging library: decodes an 8-bit RGB(A) PNG, counts
its colours and looks for the chart palette's colours (harness/report/svg.py).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from harness.report.svg import PALETTE


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def decode_png(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the raw pixel rows of an 8-bit RGB or RGBA PNG."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    offset, idat, width = 8, b"", 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunk = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError(f"{path}: only 8-bit RGB/RGBA PNGs are supported")
            pixel = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    raw, stride = zlib.decompress(idat), width * pixel
    rows, previous = bytearray(), bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            a = line[x - pixel] if x >= pixel else 0
            b, c = previous[x], previous[x - pixel] if x >= pixel else 0
            line[x] = (line[x] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
        rows += line
        previous = line
    return width, height, pixel, bytes(rows)


PASS_COLOUR, FAIL_COLOUR = bytes.fromhex("2a7d2a"), bytes.fromhex("bb2222")  # html.py's .pass, .fail
BACKGROUND = b"\xff\xff\xff"
EDGE = 3  # pixel columns at the right edge that must stay background: nothing runs off the page
WIDE = 0.7  # a chart must reach past this share of the width: the page's width is used


def _pixels(width: int, pixel: int, rows: bytes):
    """(x, rgb) of every pixel."""
    for offset in range(0, len(rows), pixel):
        yield (offset // pixel) % width, rows[offset : offset + 3]


def check(path: Path) -> list[str]:
    """Problems with the screenshot; empty when it shows a page with rendered charts, the pass
    total, nothing cut off at the right edge, and charts that use the page's width."""
    width, height, pixel, rows = decode_png(path)
    palette = {bytes.fromhex(colour[1:]) for colour in PALETTE}
    colours, edge_content, widest_chart = set(), 0, 0
    for x, rgb in _pixels(width, pixel, rows):
        colours.add(rgb)
        if x >= width - EDGE and rgb != BACKGROUND:
            edge_content += 1
        if rgb in palette and x > widest_chart:
            widest_chart = x
    problems = []
    if len(colours) < 8:
        problems.append(f"{path} looks blank ({len(colours)} colours in {width}x{height})")
    if not colours & palette:
        problems.append(f"{path} shows none of the chart colours: the SVG plots did not render")
    elif widest_chart < WIDE * width:
        problems.append(f"{path}: the widest chart ends at x={widest_chart} of {width}: the page's width is not used")
    if PASS_COLOUR not in colours:
        problems.append(f"{path} shows no pass total (no text in #{PASS_COLOUR.hex()})")
    if edge_content:
        problems.append(f"{path}: {edge_content} pixels of content at the right edge: something runs off the page")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.png_check SCREENSHOT.png", file=sys.stderr)
        return 2
    problems = check(Path(argv[0]))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{argv[0]}: non-blank, charts rendered across the page, pass total shown, nothing cut off")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
