"""How long does tracking one message take?

Builds a ~100 KB HTML message with 100 links (Gmail's shape: multipart/alternative, quoted-printable
HTML, a quoted reply with an old pixel) and times, in the same process and interleaved:

- `inject`: the real thing, on the raw message (MIME walk, QP decode, scan, rewrite, re-encode);
- a parse-and-reserialise baseline: lxml.html parse of the same decoded HTML, rewriting every
  http(s) href, and lxml's tostring. It does less than inject (no MIME, no QP, no quote
  detection) and still changes bytes all over the document, which is why inject doesn't use it.

Prints the median milliseconds per message of each and their ratio.

    python bench/inject.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import quopri
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))

import lxml.html  # noqa: E402

from mailbeacon.tracking.mime import InjectionOptions, inject  # noqa: E402

BASE = "https://t.example.com"


def build_html(target_bytes: int = 100_000, links: int = 100) -> str:
    rows = []
    for i in range(links):
        rows.append(
            f'<tr><td style="padding:8px 12px;font-family:Arial,sans-serif;font-size:14px;color:#202124">'
            f'<p style="margin:0 0 6px 0">Item {i}: Ürün açıklaması, özellikler ve fiyat bilgisi &mdash; '
            f'<a href="https://shop.example.com/p/{i}?utm_source=mail&amp;utm_campaign=jan&amp;ref=%7B{i}%7D" '
            f'style="color:#1a73e8;text-decoration:underline" target="_blank">see product {i}</a></p>'
            f'<img src="https://cdn.example.com/img/{i}.png" width="120" height="80" alt="product {i}">'
            f'</td></tr>')
    body = "".join(rows)
    filler = ('<p style="margin:0;font-family:Arial,sans-serif;font-size:13px;color:#5f6368">'
              'Lorem ipsum dolor sit amet, consectetur adipiscing elit; ğüşıöç İ. </p>')
    quote = ('<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Fri, Bob wrote:<br></div>'
             '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">'
             f'<p>Earlier text <a href="https://old.example.com/">old link</a></p>'
             f'<img src="{BASE}/o/OLDPIXEL" width="1" height="1"></blockquote></div>')
    html = f'<div dir="ltr"><table role="presentation" width="100%">{body}</table>'
    while len(html.encode()) + len(quote) < target_bytes:
        html += filler
    return html + "</div>" + quote


def build_message(html: str) -> bytes:
    encoded = quopri.encodestring(html.encode("utf-8")).replace(b"\n", b"\r\n")
    return (b"MIME-Version: 1.0\r\nFrom: a@example.com\r\nTo: b@example.net\r\nSubject: Catalogue\r\n"
            b'Content-Type: multipart/alternative; boundary="000000000000abcdef"\r\n\r\n'
            b'--000000000000abcdef\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n'
            b"See https://shop.example.com/p/1?utm_source=mail&utm_campaign=jan&ref=%7B1%7D\r\n"
            b'\r\n--000000000000abcdef\r\nContent-Type: text/html; charset="UTF-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded +
            b"\r\n--000000000000abcdef--\r\n")


def run_inject(raw: bytes) -> bytes:
    options = InjectionOptions(track_opens=True, track_clicks=True, pixel_url=f"{BASE}/o/PIXEL",
                               click_url_for=lambda i: f"{BASE}/c/TOKEN{i}", tracking_base=BASE)
    out, report = inject(raw, options)
    assert report.tracked and len(report.links) == 101, report.to_dict()
    return out


def run_lxml(html: str) -> bytes:
    root = lxml.html.fromstring(html)
    for index, element in enumerate(root.iter("a")):
        href = element.get("href")
        if href and href.startswith(("http://", "https://")):
            element.set("href", f"{BASE}/c/TOKEN{index}")
    return lxml.html.tostring(root, encoding="utf-8")


def measure(function, argument) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one call (CPU time moves less on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(argument)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    html = build_html()
    raw = build_message(html)
    for _ in range(10):  # warm up both
        run_inject(raw)
        run_lxml(html)
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(measure(run_inject, raw))
        theirs.append(measure(run_lxml, html))
    print(f"message: {len(raw):,} bytes raw, {len(html.encode()):,} bytes of HTML, 100 links, "
          f"{args.rounds} rounds, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    medians = {}
    for label, samples in (("inject (MIME + QP + scan + splice)", ours),
                           ("lxml parse + rewrite + tostring", theirs)):
        wall = [w for w, _ in samples]
        cpu = [c for _, c in samples]
        medians[label] = statistics.median(wall), statistics.median(cpu)
        print(f"{label:36} median {medians[label][0]:6.2f} ms   p90 {statistics.quantiles(wall, n=10)[-1]:6.2f} ms"
              f"   cpu median {medians[label][1]:6.2f} ms")
    (ours_wall, ours_cpu), (theirs_wall, theirs_cpu) = medians.values()
    print(f"ratio inject / lxml: {ours_wall / theirs_wall:.2f} (cpu {ours_cpu / theirs_cpu:.2f})   "
          "goal: under 5 ms per message")


if __name__ == "__main__":
    main()
