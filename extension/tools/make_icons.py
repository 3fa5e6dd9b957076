"""Draw the extension's icons (icons/icon{16,32,48,128}.png) with the standard library only.

A blue rounded square with a white envelope and a beacon dot: drawn as shapes on a unit square, supersampled 4×
per pixel for smooth edges. Run `python3 extension/tools/make_icons.py`; the PNGs are committed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "icons"
SIZES = (16, 32, 48, 128)
BLUE = (26, 115, 232)
WHITE = (255, 255, 255)
AMBER = (251, 188, 4)


def inside_rounded_square(x: float, y: float, radius: float = 0.22) -> bool:
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def in_envelope(x: float, y: float) -> bool:
    left, right, top, bottom = 0.2, 0.8, 0.34, 0.74
    return left <= x <= right and top <= y <= bottom


def on_flap(x: float, y: float, width: float = 0.055) -> bool:
    # The V of the envelope's flap: two lines from the top corners to the middle.
    left, right, top, mid_y = 0.2, 0.8, 0.34, 0.56
    for (x0, y0, x1, y1) in ((left, top, 0.5, mid_y), (right, top, 0.5, mid_y)):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
        if (x - (x0 + t * dx)) ** 2 + (y - (y0 + t * dy)) ** 2 <= width ** 2 / 4:
            return True
    return False


def in_beacon(x: float, y: float) -> bool:
    return (x - 0.76) ** 2 + (y - 0.3) ** 2 <= 0.12 ** 2


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    if in_beacon(x, y):
        return (*AMBER, 255)
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    if in_envelope(x, y) and not on_flap(x, y):
        return (*WHITE, 255)
    return (*BLUE, 255)


def render(size: int, samples: int = 4) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type 0
        for px in range(size):
            total = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    r, g, b, a = colour_at((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3] / samples ** 2
            if total[3]:
                row += bytes(round(c / total[3]) for c in total[:3]) + bytes([round(alpha)])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return b"".join(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(render(size), 9))
            + chunk(b"IEND", b""))


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    for size in SIZES:
        (ICONS / f"icon{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
