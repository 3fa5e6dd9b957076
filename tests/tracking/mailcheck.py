"""Helpers for the mail tests: independent of the code under test (they use email.parser and plain
byte splitting), so they can tell what changed."""

from __future__ import annotations

import difflib
import email
import re
from email.policy import compat32
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
BASE = "https://t.example.com"
PIXEL = f"{BASE}/o/NEWPIXEL"


def click(index: int) -> str:
    return f"{BASE}/c/LINK{index}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def segments(raw: bytes, *boundaries: str) -> list[bytes]:
    """Split at every delimiter line of the given boundaries, keeping the delimiter lines."""
    if not boundaries:
        return [raw]
    alternatives = b"|".join(re.escape(b.encode()) for b in boundaries)
    pattern = re.compile(rb"^--(?:" + alternatives + rb")(?:--)?[ \t]*\r?$", re.MULTILINE)
    cuts = [0]
    for m in pattern.finditer(raw):
        cuts += [m.start(), m.end()]
    cuts.append(len(raw))
    return [raw[a:b] for a, b in zip(cuts, cuts[1:])]


def split_head(segment: bytes) -> tuple[bytes, bytes]:
    m = re.search(rb"\r?\n\r?\n", segment)
    return (segment, b"") if m is None else (segment[:m.end()], segment[m.end():])


def assert_only_bodies_changed(raw: bytes, out: bytes, boundaries: tuple[str, ...], changed: set[int]) -> None:
    """Every segment is byte-identical except the bodies (never the headers) of `changed`."""
    before, after = segments(raw, *boundaries), segments(out, *boundaries)
    assert len(before) == len(after)
    for index, (old, new) in enumerate(zip(before, after)):
        if index in changed:
            old_head, old_body = split_head(old)
            new_head, new_body = split_head(new)
            assert new_head == old_head, f"segment {index}: header changed"
            assert new_body != old_body, f"segment {index}: body should have changed"
        else:
            assert new == old, f"segment {index} changed"


def index_of(raw: bytes, boundaries: tuple[str, ...], needle: bytes) -> int:
    found = [i for i, s in enumerate(segments(raw, *boundaries)) if needle in split_head(s)[0]]
    assert len(found) == 1, f"{needle!r} found in {found}"
    return found[0]


def text_parts(raw: bytes) -> list[tuple[str, str]]:
    """(content type, decoded text) of every text part, in order, read by the standard library."""
    message = email.message_from_bytes(raw, policy=compat32)
    found = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            found.append((part.get_content_type(), payload.decode(part.get_content_charset() or "ascii")))
    return found


def replaced_lines(old_body: bytes, new_body: bytes) -> list[bytes]:
    """Encoded lines of the old body that are not in the new one, in order."""
    old_lines, new_lines = old_body.splitlines(keepends=True), new_body.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return [line for tag, a, b, _, _ in matcher.get_opcodes() if tag in ("replace", "delete")
            for line in old_lines[a:b]]
