"""The MIME structure of a raw message, as byte offsets into it.

`email.parser` tells what a part is but not where its bytes are, and `email.generator` would
rewrite every header and boundary on the way out. So the structure is found here, in the raw
bytes (RFC 2046 boundaries), and email.parser only reads each part's header block. Whatever is
not a body we change keeps its bytes: headers, preamble, epilogue, boundaries, line endings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from .envelope import MalformedMessage, parse_header_block, split_header_block

MAX_DEPTH = 40


@dataclass
class MimePart:
    number: str  # "1", "1.2", …; "" for the message itself
    start: int  # raw[start:header_end] is the part's header
    header_end: int
    body_start: int  # raw[body_start:end] is its body
    end: int
    headers: Message
    content_type: str  # lower-cased "type/subtype"
    children: list[MimePart] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"part {self.number} ({self.content_type})" if self.number else self.content_type

    @property
    def transfer_encoding(self) -> str:
        value = self.headers.get("content-transfer-encoding")
        return str(value).strip().lower() if value else "7bit"

    @property
    def charset(self) -> str | None:
        charset = self.param("charset")
        return (charset.strip('"') or None) if charset else None

    @property
    def is_attachment(self) -> bool:
        """An attachment, or a file shown inline: a composer's own text has no filename."""
        disposition = self.headers.get_content_disposition()
        return disposition == "attachment" or bool(self.headers.get_filename()) or bool(
            self.headers.get_param("name"))

    def param(self, name: str) -> str | None:
        value = self.headers.get_param(name)
        if isinstance(value, tuple):  # RFC 2231 form: (charset, language, value)
            value = value[2]
        return None if value is None else str(value).strip().lower()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def parse_structure(raw: bytes) -> MimePart:
    """Raises MalformedMessage for anything whose structure can't be trusted."""
    header_end, body_start = split_header_block(raw, 0, len(raw), top_level=True)
    return _entity(raw, "", 0, header_end, body_start, len(raw), "text/plain", 0)


def _entity(raw: bytes, number: str, start: int, header_end: int, body_start: int, end: int,
            default_type: str, depth: int) -> MimePart:
    headers = parse_header_block(raw[start:header_end])
    headers.set_default_type(default_type)
    part = MimePart(number, start, header_end, body_start, end, headers,
                    headers.get_content_type().lower())
    if part.content_type.startswith("multipart/"):
        if depth >= MAX_DEPTH:
            raise MalformedMessage(f"multiparts nested more than {MAX_DEPTH} deep")
        part.children = _children(raw, part, depth)
    return part


def _children(raw: bytes, part: MimePart, depth: int) -> list[MimePart]:
    boundary = part.headers.get_boundary()
    if not boundary:
        raise MalformedMessage(f"{part.label} has no boundary parameter")
    spans = _delimiters(raw, boundary.encode("utf-8", "replace"), part.body_start, part.end)
    closed = bool(spans) and spans[-1][2]
    if not spans:
        raise MalformedMessage(f"{part.label}: its boundary {boundary!r} never appears")
    if not closed:
        raise MalformedMessage(f"{part.label}: its boundary {boundary!r} is never closed")
    if len(spans) == 1:
        raise MalformedMessage(f"{part.label} has no parts")
    default_type = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    children = []
    for index, ((_, child_start, _), (next_start, _, _)) in enumerate(zip(spans, spans[1:]), start=1):
        # The line ending before a delimiter belongs to the delimiter, not to the part.
        crlf = 2 if raw[next_start - 2:next_start] == b"\r\n" else 1
        child_end = max(child_start, next_start - crlf)
        header_end, body_start = split_header_block(raw, child_start, child_end, top_level=False)
        number = f"{part.number}.{index}" if part.number else str(index)
        children.append(_entity(raw, number, child_start, header_end, body_start, child_end,
                                default_type, depth + 1))
    return children


def _delimiters(raw: bytes, boundary: bytes, start: int, end: int) -> list[tuple[int, int, bool]]:
    """(line start, start of the next line, is the close delimiter) of each delimiter line,
    up to and including the close.

    A delimiter is "--boundary" at the start of a line, followed by "--" (the close) or by
    nothing but spaces and tabs; a longer boundary that merely starts with ours is not one.
    """
    marker = b"--" + boundary
    found: list[tuple[int, int, bool]] = []
    at = raw.find(marker, start, end)
    while at >= 0:
        newline = raw.find(b"\n", at, end)
        line_end, next_line = (end, end) if newline < 0 else (newline, newline + 1)
        rest = raw[at + len(marker):line_end].rstrip(b"\r")
        if at == start or raw[at - 1:at] == b"\n":
            if rest.startswith(b"--"):
                found.append((at, next_line, True))
                return found
            if not rest.strip(b" \t"):
                found.append((at, next_line, False))
        at = raw.find(marker, at + len(marker), end)
    return found
