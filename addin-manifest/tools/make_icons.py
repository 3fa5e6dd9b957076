"""Draw the add-in's icons (16, 32, 64, 80 and 128 px PNG) into addin-manifest/assets/.

The icons are drawn from a few shapes rather than kept only as opaque binaries, so anyone can change the colours
or the drawing and regenerate them; the test suite checks that the committed PNGs are exactly what this script
makes. Standard library only (zlib + struct), so it runs anywhere the backend runs.

    python addin-manifest/tools/make_icons.py            # rewrite the PNGs
    python addin-manifest/tools/make_icons.py --check    # exit 1 if a committed PNG differs
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
import zlib
from functools import cache
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"

# Outlook asks for 16/32/80 on ribbon buttons, 64 for IconUrl and 128 for HighResolutionIconUrl.
SIZES = (16, 32, 64, 80, 128)

Colour = tuple[float, float, float, float]  # straight (not premultiplied) RGBA, 0..1

BACKGROUND: Colour = (0x1E / 255, 0x5B / 255, 0xD8 / 255, 1.0)
PAPER: Colour = (1.0, 1.0, 1.0, 1.0)
BEACON: Colour = (0xF5 / 255, 0x9E / 255, 0x0B / 255, 1.0)
CLEAR: Colour = (0.0, 0.0, 0.0, 0.0)

# 4x4 samples per pixel: smooth enough edges at 16 px without a rasteriser library.
SUPERSAMPLE = 4


def _inside_rounded_rect(x: float, y: float, left: float, top: float, right: float, bottom: float,
                         radius: float) -> bool:
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def _distance_to_segment(x: float, y: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def colour_at(x: float, y: float) -> Colour:
    """The icon at a point of the unit square (0,0 top left): later shapes paint over earlier ones."""
    if not _inside_rounded_rect(x, y, 0.0, 0.0, 1.0, 1.0, 0.2):
        return CLEAR
    colour = BACKGROUND
    left, top, right, bottom = 0.18, 0.32, 0.82, 0.74
    if _inside_rounded_rect(x, y, left, top, right, bottom, 0.05):
        colour = PAPER
        # The envelope's flap: a V from the top corners to the middle, in the background colour.
        apex_x, apex_y = 0.5, 0.56
        flap = min(_distance_to_segment(x, y, left, top, apex_x, apex_y),
                   _distance_to_segment(x, y, right, top, apex_x, apex_y))
        if flap <= 0.035:
            colour = BACKGROUND
    # The beacon: an amber dot over the envelope's corner, cut out of it by a ring of background.
    beacon_x, beacon_y = 0.77, 0.27
    distance = math.hypot(x - beacon_x, y - beacon_y)
    if distance <= 0.17:
        colour = BACKGROUND
    if distance <= 0.12:
        colour = BEACON
    return colour


def render(size: int) -> list[list[tuple[int, int, int, int]]]:
    """Rows of 8-bit RGBA pixels; colours are averaged premultiplied so edges don't fringe."""
    step = 1.0 / (size * SUPERSAMPLE)
    rows = []
    for py in range(size):
        row = []
        for px in range(size):
            r = g = b = a = 0.0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    cr, cg, cb, ca = colour_at((px * SUPERSAMPLE + sx + 0.5) * step,
                                               (py * SUPERSAMPLE + sy + 0.5) * step)
                    r += cr * ca
                    g += cg * ca
                    b += cb * ca
                    a += ca
            samples = SUPERSAMPLE * SUPERSAMPLE
            if a == 0:
                row.append((0, 0, 0, 0))
            else:
                row.append((round(255 * r / a), round(255 * g / a), round(255 * b / a), round(255 * a / samples)))
        rows.append(row)
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rows: list[list[tuple[int, int, int, int]]]) -> bytes:
    height, width = len(rows), len(rows[0])
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


@cache  # drawing is the slow part (pure Python); --check then write must not draw twice
def icon_png(size: int) -> bytes:
    return encode_png(render(size))


def icon_path(size: int, assets_dir: Path = ASSETS_DIR) -> Path:
    return assets_dir / f"icon-{size}.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--assets-dir", type=Path, default=ASSETS_DIR)
    args = parser.parse_args(argv)
    stale = []
    for size in SIZES:
        path = icon_path(size, args.assets_dir)
        data = icon_png(size)
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if stale:
        print(f"out of date: {', '.join(stale)} (run {Path(__file__).name} to redraw)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
