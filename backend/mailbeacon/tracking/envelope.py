"""Who a message is from and to, its subject and its threading headers, read from the raw bytes.

Also home of the header/body split that mime.py uses for every part, so "malformed" means the
same thing for the envelope and for the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime


class MalformedMessage(ValueError):
    """The bytes are not a message we can read; `.reason` is one line for a human."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    subject: str  # decoded (RFC 2047), '' if none
    from_address: str | None  # addr-spec, lower-cased domain part only
    to: list[str]
    cc: list[str]
    bcc: list[str]
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    date: datetime | None
    list_unsubscribe: list[str]  # URLs from List-Unsubscribe, as written

    @property
    def recipients(self) -> list[str]:
        """To, Cc and Bcc, de-duplicated case-insensitively, first spelling and order kept."""
        seen: set[str] = set()
        result = []
        for address in [*self.to, *self.cc, *self.bcc]:
            key = address.casefold()
            if key not in seen:
                seen.add(key)
                result.append(address)
        return result

    def to_dict(self) -> dict:
        return {
            "subject": self.subject, "from": self.from_address, "to": self.to, "cc": self.cc,
            "bcc": self.bcc, "message_id": self.message_id, "in_reply_to": self.in_reply_to,
            "references": self.references, "date": self.date.isoformat() if self.date else None,
            "list_unsubscribe": self.list_unsubscribe, "recipients": self.recipients,
        }


_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_BRACKETED = re.compile(r"<([^>]*)>")
_WHITESPACE = re.compile(r"\s+")


def split_header_block(raw: bytes, start: int, end: int, *, top_level: bool) -> tuple[int, int]:
    """Find where the header of the entity in raw[start:end] ends.

    Returns (header_end, body_start): the header is raw[start:header_end] (its last line ending
    included), the body starts after the blank line at body_start. A MIME part may consist of
    its header alone (RFC 2046); a message must have the blank line.
    """
    pos = start
    while pos < end:
        newline = raw.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        if line_end - pos <= 2 and raw[pos:line_end] in (b"\n", b"\r\n"):
            return pos, line_end
        if raw[pos:pos + 1] in (b" ", b"\t") and pos != start:
            pass  # a folded continuation of the previous field
        elif not _FIELD_LINE.match(raw, pos, line_end):
            what = "the message" if top_level else "a MIME part"
            line_no = raw.count(b"\n", start, pos) + 1
            raise MalformedMessage(
                f"line {line_no} of {what}'s header is neither a header field nor the blank line "
                "that ends the header")
        pos = line_end
    if top_level:
        raise MalformedMessage("no blank line separates the message header from its body")
    return end, end


def parse_header_block(header: bytes) -> Message:
    # Header bytes are ASCII by the RFCs; UTF-8 (RFC 6532) is what non-ASCII ones are in practice.
    return HeaderParser(policy=compat32).parsestr(header.decode("utf-8", "replace"))


def read_envelope(raw: bytes) -> Envelope:
    if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
        raise MalformedMessage("the message is empty")
    header_end, _ = split_header_block(raw, 0, len(raw), top_level=True)
    headers = parse_header_block(bytes(raw[:header_end]))
    from_addresses = _addresses(headers, "from")
    return Envelope(
        subject=_decoded(headers.get("subject")),
        from_address=from_addresses[0] if from_addresses else None,
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        bcc=_addresses(headers, "bcc"),
        message_id=_single(headers.get("message-id")),
        in_reply_to=_single(headers.get("in-reply-to")),
        references=_single(headers.get("references")),
        date=_date(headers.get("date")),
        list_unsubscribe=_list_unsubscribe(headers.get_all("list-unsubscribe") or []),
    )


def _unfold(value: object) -> str:
    return _FOLD.sub("", str(value))


def _single(value: object) -> str | None:
    if value is None:
        return None
    text = _WHITESPACE.sub(" ", _unfold(value)).strip()
    return text or None


def _decoded(value: object) -> str:
    if value is None:
        return ""
    text = _unfold(value)
    try:
        return str(make_header(decode_header(text))).strip()
    except (LookupError, UnicodeError, ValueError):
        # An unknown charset in one encoded word: decode what we can, replace what we can't.
        pieces = []
        for chunk, charset in decode_header(text):
            if isinstance(chunk, str):
                pieces.append(chunk)
                continue
            try:
                pieces.append(chunk.decode(charset or "ascii", "replace"))
            except LookupError:
                pieces.append(chunk.decode("utf-8", "replace"))
        return "".join(pieces).strip()


def normalise_address(address: str) -> str | None:
    """The addr-spec with its domain lower-cased; None for anything that has no '@'."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local}@{domain.lower()}"


def _addresses(headers: Message, name: str) -> list[str]:
    values = [_unfold(v) for v in headers.get_all(name) or []]
    result = []
    for _, address in getaddresses(values):
        normalised = normalise_address(address)
        if normalised:
            result.append(normalised)
    return result


def _date(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return parsedate_to_datetime(_unfold(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _list_unsubscribe(values: list) -> list[str]:
    # RFC 2369: whitespace inside the angle brackets is folding, not part of the URL.
    urls = []
    for value in values:
        for inner in _BRACKETED.findall(_unfold(value)):
            url = _WHITESPACE.sub("", inner)
            if url:
                urls.append(url)
    return urls
