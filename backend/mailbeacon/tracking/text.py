"""Rewrite the http(s) links of a text/plain body.

There is no open pixel in plain text (nothing there loads an image); only links change.

A URL is `http://` or `https://` up to whitespace, `<`, `>` or `"`; `<angle-bracketed>` URLs end at
the `>`. Trailing sentence punctuation (`.,;:!?'"` and closing quotes) is not part of a bare URL,
nor is a closing bracket that has no opening partner inside it: "(see https://x.test/a_(b))." keeps
"https://x.test/a_(b)".

Quoted history stays as it is: lines starting with `>`, and everything from the first reply or
forward header on — "-----Original Message-----", "On … wrote:" (also wrapped over two lines, and
the usual German, French, Spanish, Italian, Dutch, Portuguese and Turkish forms), Outlook's
"From:/Sent:" block, Gmail's "---------- Forwarded message ---------" and Apple's
"Begin forwarded message:".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .html import Edit, apply_edits

_ANGLE_URL = re.compile(r"<([hH][tT][tT][pP][sS]?://[^\s<>]+)>")
_BARE_URL = re.compile(r"(?<![\w@.+-])[hH][tT][tT][pP][sS]?://[^\s<>\"]+")
_TRAILING_PUNCT = ".,;:!?'\"\u2019\u201d\u00bb\u203a"
_CLOSERS = {")": "(", "]": "[", "}": "{"}

_ORIGINAL_MESSAGE = ("Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
                     "Messaggio originale|Oorspronkelijk bericht|Orijinal Mesaj")
_HISTORY_PATTERNS = [
    rf"^[ \t]*-{{2,}}[ \t]*(?:{_ORIGINAL_MESSAGE})[ \t]*-{{2,}}[ \t]*\r?$",
    r"^[ \t]*-{5,}[ \t]*Forwarded message[ \t]*-{5,}[ \t]*\r?$",
    r"^[ \t]*Begin forwarded message:[ \t]*\r?$",
    r"^[ \t]*_{10,}[ \t]*\r?\n[ \t]*(?:From|De|Von|Kimden):",
    r"^[ \t]*(?:From|De|Von|Kimden):[^\n]*\n[ \t]*(?:Sent|Date|Envoyé|Gesendet|Enviado|Gönderildi|Tarih):",
    # "On <date>, <name> wrote:", possibly wrapped onto a second line by the composer.
    # German puts the name after the verb: "Am <date> schrieb <name>:".
    r"^[ \t]*(?:On|Am|Le|El|Il|Op|Em)[ \t][^\n]{0,300}?(?:\r?\n[^\n]{0,300}?)?"
    r"\b(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)\b[^\n]{0,200}?:[ \t]*\r?$",
    r"^[^\n]{0,300}?tarihinde[^\n]{0,300}?(?:\r?\n[^\n]{0,300}?)?yazdı[ \t]*:[ \t]*\r?$",
]
_HISTORY = re.compile("|".join(f"(?:{p})" for p in _HISTORY_PATTERNS), re.MULTILINE | re.IGNORECASE)
_QUOTED_LINE = re.compile(r"^[ \t]*>", re.MULTILINE)
_ARMOR = re.compile(r"^[ \t]*-----BEGIN PGP (SIGNED )?MESSAGE-----", re.MULTILINE)


@dataclass
class TextStats:
    links_tracked: int = 0
    left_alone: Counter = field(default_factory=Counter)  # reason -> count
    quoted_history: bool = False
    edits: list[Edit] = field(default_factory=list)

    @property
    def links_left_alone(self) -> int:
        return sum(self.left_alone.values())


@dataclass(frozen=True)
class TextUrl:
    start: int
    end: int
    url: str
    quoted: bool


def history_start(text: str) -> int:
    """Offset where quoted history starts (len(text) when there is none)."""
    m = _HISTORY.search(text)
    return m.start() if m else len(text)


def _line_is_quoted(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return _QUOTED_LINE.match(text, line_start) is not None


def find_urls(text: str) -> list[TextUrl]:
    cutoff = history_start(text)
    found: list[TextUrl] = []
    taken_until = -1
    for m in _ANGLE_URL.finditer(text):
        found.append(TextUrl(m.start(1), m.end(1), m.group(1), False))
    angled = {u.start for u in found}
    for m in _BARE_URL.finditer(text):
        if m.start() in angled:
            continue
        end = _url_end(text, m.start(), m.end())
        if end > m.start() and m.start() > taken_until:
            found.append(TextUrl(m.start(), end, text[m.start():end], False))
    found.sort(key=lambda u: u.start)
    result = []
    for u in found:
        if u.start <= taken_until:
            continue
        taken_until = u.end
        quoted = u.start >= cutoff or _line_is_quoted(text, u.start)
        result.append(TextUrl(u.start, u.end, u.url, quoted))
    return result


def _url_end(text: str, start: int, end: int) -> int:
    while end > start:
        last = text[end - 1]
        unbalanced = last in _CLOSERS and text.count(last, start, end) > text.count(_CLOSERS[last], start, end)
        if last not in _TRAILING_PUNCT and not unbalanced:
            break
        end -= 1
    # A scheme with nothing after it is no link.
    return end if text.find("//", start, end) + 2 < end else start


def armor(text: str) -> str | None:
    """'signed' or 'encrypted' when the new (unquoted) text is inline PGP."""
    cutoff = history_start(text)
    for m in _ARMOR.finditer(text, 0, cutoff):
        if not _line_is_quoted(text, m.start()):
            return "signed" if m.group(1) else "encrypted"
    return None


def rewrite_text(text: str, *, track_link: Callable[[str], str],
                 excluded_urls: frozenset[str] = frozenset(),
                 marked_urls: frozenset[str] = frozenset(),
                 tracking_base: str = "") -> tuple[str, TextStats]:
    """`excluded_urls` are the List-Unsubscribe URLs; `marked_urls` the links the sender marked
    not to track in the HTML alternative (plain text has no way to mark them)."""
    stats = plan_text_edits(text, track_link=track_link, excluded_urls=excluded_urls,
                            marked_urls=marked_urls, tracking_base=tracking_base)
    return apply_edits(text, stats.edits), stats


def plan_text_edits(text: str, *, track_link: Callable[[str], str],
                    excluded_urls: frozenset[str] = frozenset(),
                    marked_urls: frozenset[str] = frozenset(),
                    tracking_base: str = "") -> TextStats:
    """Register the links (in document order) and return the edits, without building the text."""
    stats = TextStats()
    stats.quoted_history = history_start(text) < len(text) or _QUOTED_LINE.search(text) is not None
    click_prefix = tracking_base.rstrip("/").lower() + "/c/" if tracking_base else None
    for found in find_urls(text):
        if found.quoted:
            stats.left_alone["quoted_history"] += 1
        elif found.url in marked_urls:
            stats.left_alone["marked_notrack"] += 1
        elif found.url in excluded_urls:
            stats.left_alone["unsubscribe"] += 1
        elif click_prefix and found.url.lower().startswith(click_prefix):
            stats.left_alone["already_tracked"] += 1
        elif re.search("[\ud800-\udfff]", found.url):
            stats.left_alone["undecodable"] += 1
        else:
            stats.edits.append(Edit(found.start, found.end, track_link(found.url)))
            stats.links_tracked += 1
    return stats
