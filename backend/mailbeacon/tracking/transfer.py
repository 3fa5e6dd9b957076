"""Content-Transfer-Encodings: decode a part's body, and write it back with edits applied.

Only what the edits touch is re-encoded:
- 7bit / 8bit / binary: the edits are spliced into the bytes as they are;
- quoted-printable: only the encoded lines that hold an edit are re-encoded (soft line breaks
  included), every other line stays byte-for-byte as it came;
- base64: the whole body is encoded again with the original line length and line ending, so the
  lines before the first edit come out identical when the original encoder was the usual one.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from itertools import accumulate, chain, repeat
from operator import add, sub
from dataclasses import dataclass, field
from typing import NamedTuple

IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})
KNOWN_ENCODINGS = IDENTITY_ENCODINGS | {"quoted-printable", "base64"}
QP_LINE_LIMIT = 76


class TransferError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ByteEdit(NamedTuple):
    start: int  # offsets in the decoded bytes
    end: int
    data: bytes


@dataclass
class DecodedBody:
    encoding: str
    body: bytes  # the body as it is in the message
    data: bytes  # the decoded content
    eol: bytes = b"\r\n"
    # Quoted-printable: encoded line i is body[qp_enc[i]:qp_enc[i + 1]] (its line ending included)
    # and decodes to data[qp_dec[i]:qp_dec[i + 1]]; qp_soft[i] when it ends with a soft break.
    qp_enc: list[int] = field(default_factory=list)
    qp_dec: list[int] = field(default_factory=list)
    qp_soft: list[bool] = field(default_factory=list)
    b64_line_length: int = 76
    b64_suffix: bytes = b""  # whitespace after the last base64 character


def body_line_ending(body: bytes, fallback: bytes = b"\r\n") -> bytes:
    newline = body.find(b"\n")
    if newline < 0:
        return fallback
    return b"\r\n" if newline > 0 and body[newline - 1:newline] == b"\r" else b"\n"


def decode_body(body: bytes, encoding: str, *, eol: bytes = b"\r\n") -> DecodedBody:
    encoding = (encoding or "7bit").strip().lower()
    eol = body_line_ending(body, eol)
    if encoding in IDENTITY_ENCODINGS:
        return DecodedBody(encoding, body, body, eol)
    if encoding == "quoted-printable":
        return _decode_qp(body, eol)
    if encoding == "base64":
        return _decode_base64(body, eol)
    raise TransferError(f"unknown Content-Transfer-Encoding {encoding!r}")


def encode_body(decoded: DecodedBody, edits: list[ByteEdit]) -> bytes:
    """The new body: `decoded.data` with `edits` (sorted, non-overlapping) applied, encoded."""
    if not edits:
        return decoded.body
    if decoded.encoding in IDENTITY_ENCODINGS:
        return splice(decoded.body, edits)
    if decoded.encoding == "quoted-printable":
        return _encode_qp_edits(decoded, edits)
    return _encode_base64(splice(decoded.data, edits), decoded)


def splice(data: bytes, edits: list[ByteEdit]) -> bytes:
    pieces = []
    pos = 0
    for edit in edits:
        pieces.append(data[pos:edit.start])
        pieces.append(edit.data)
        pos = edit.end
    pieces.append(data[pos:])
    return b"".join(pieces)


# --- quoted-printable ----------------------------------------------------------------------------

_EOL_OF_SIZE = (b"", b"\n", b"\r\n")


def _decode_qp(body: bytes, eol: bytes) -> DecodedBody:
    """Decode, keeping where each encoded line's content lands in the result.

    Per-line work goes through map() over the split lines: a 100 KB body takes well under a
    millisecond.
    """
    lines = body.split(b"\n")
    tail = lines.pop()  # what follows the last line ending: b"" when the body ends with one
    bare = list(map(bytes.removesuffix, lines, repeat(b"\r")))
    # 2 for CRLF, 1 for LF: what the line's hard break decodes to.
    eol_sizes = list(map(add, map(sub, map(len, lines), map(len, bare)), repeat(1)))
    if tail:
        bare.append(tail)
        eol_sizes.append(0)
    enc_starts = list(accumulate(map(add, map(len, bare), eol_sizes), initial=0))
    decoded = _decode_regular_qp(body, bare, eol_sizes)
    if decoded is None:
        decoded = _decode_each_line(bare, eol_sizes)
    data, dec_sizes, soft = decoded
    return DecodedBody("quoted-printable", body, data, eol, qp_enc=enc_starts,
                       qp_dec=list(accumulate(dec_sizes, initial=0)), qp_soft=soft)


def _decode_regular_qp(body: bytes, bare: list[bytes],
                       eol_sizes: list[int]) -> tuple[bytes, list[int], list[bool]] | None:
    """What every usual encoder writes, in one a2b_qp call.

    Each '=' is then an escape (three characters become one) or a soft break (one becomes
    none), so a line's decoded size follows from its length and its '=' count. An '=' that is
    neither makes a2b_qp keep it and the sizes no longer add up: then None, for the careful way.
    """
    if any(map(bytes.endswith, bare, repeat((b" ", b"\t")))):
        return None  # padding to strip first
    if body.count(b"\r") != body.count(b"\r\n"):
        return None  # a CR on its own: a2b_qp takes "=\r" for a soft break
    soft = list(map(bytes.endswith, bare, repeat(b"=")))
    sizes = [length - 2 * escapes + (1 if is_soft else eol_size) for length, escapes, is_soft, eol_size
             in zip(map(len, bare), map(bytes.count, bare, repeat(b"=")), soft, eol_sizes)]
    data = binascii.a2b_qp(body)
    return (data, sizes, soft) if sum(sizes) == len(data) else None


def _decode_each_line(bare: list[bytes], eol_sizes: list[int]) -> tuple[bytes, list[int], list[bool]]:
    # RFC 2045 rule 3: trailing whitespace is transport padding, not content.
    contents = list(map(bytes.rstrip, bare, repeat(b" \t")))
    soft = list(map(bytes.endswith, contents, repeat(b"=")))
    pieces = list(map(binascii.a2b_qp, contents))  # a2b_qp drops a trailing soft-break '='
    eols = [b"" if is_soft else _EOL_OF_SIZE[size] for is_soft, size in zip(soft, eol_sizes)]
    data = b"".join(chain.from_iterable(zip(pieces, eols)))
    return data, list(map(add, map(len, pieces), map(len, eols))), soft


def _encode_qp_edits(decoded: DecodedBody, edits: list[ByteEdit]) -> bytes:
    count = len(decoded.qp_soft)
    if not count:
        return qp_encode(splice(decoded.data, edits), decoded.eol, continues=False)
    dec_ends = decoded.qp_dec[1:]
    groups: list[list] = []  # [first line, last line, edits]
    for edit in edits:
        # An insertion belongs to the line it lands in (at a line boundary: the next line).
        first = min(bisect.bisect_right(dec_ends, edit.start), count - 1)
        last = first if edit.end <= edit.start else min(bisect.bisect_left(dec_ends, edit.end), count - 1)
        if groups and first <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], last)
            groups[-1][2].append(edit)
        else:
            groups.append([first, last, [edit]])
    out = []
    cursor = 0
    for first, last, group_edits in groups:
        start, end = decoded.qp_dec[first], decoded.qp_dec[last + 1]
        shifted = [ByteEdit(e.start - start, e.end - start, e.data) for e in group_edits]
        out.append(decoded.body[cursor:decoded.qp_enc[first]])
        # More encoded lines follow: the chunk must end on a line break, soft if not hard.
        continues = last < count - 1 or decoded.qp_soft[last]
        out.append(qp_encode(splice(decoded.data[start:end], shifted), decoded.eol,
                             continues=continues))
        cursor = decoded.qp_enc[last + 1]
    out.append(decoded.body[cursor:])
    return b"".join(out)


# Everything but printable ASCII (less '=') and space/tab needs an =XX escape.
_QP_UNSAFE = re.compile(rb"[^\x21-\x3c\x3e-\x7e \t]")
_HEX = [f"={b:02X}".encode() for b in range(256)]


def _escape(m: re.Match[bytes]) -> bytes:
    return _HEX[m.group(0)[0]]


def qp_encode(data: bytes, eol: bytes, *, continues: bool) -> bytes:
    """Quoted-printable for `data`, whose hard line breaks are `eol`.

    With `continues` the result ends on a line break (a soft one unless `data` ends with `eol`),
    because original encoded lines follow it. Lines stay within 76 characters, soft break
    included, and an =XX escape is never split.
    """
    out = []
    segments = data.split(eol)
    last = len(segments) - 1
    for number, segment in enumerate(segments):
        soft_end = number == last and continues
        line = _QP_UNSAFE.sub(_escape, segment)
        # Whitespace right before a hard break or the end would be taken for padding.
        if line and line[-1] in (9, 32) and not soft_end:
            line = line[:-1] + _HEX[line[-1]]
        limit = QP_LINE_LIMIT - 1 if soft_end else QP_LINE_LIMIT
        while len(line) > limit:
            cut = QP_LINE_LIMIT - 1
            if line[cut - 1] == 61:  # '=': don't split an escape
                cut -= 1
            elif line[cut - 2] == 61:
                cut -= 2
            out += (line[:cut], b"=", eol)
            line = line[cut:]
        if number < last:
            out += (line, eol)
        elif line:
            out += (line, b"=" + eol) if continues else (line,)
    return b"".join(out)


# --- base64 --------------------------------------------------------------------------------------

_B64_WHITESPACE = re.compile(rb"[ \t\r\n]+")


def _decode_base64(body: bytes, eol: bytes) -> DecodedBody:
    text = body.rstrip(b" \t\r\n")
    suffix = body[len(text):]
    compact = _B64_WHITESPACE.sub(b"", text)
    if len(compact) % 4 == 1:
        raise TransferError("the base64 body is truncated")
    compact += b"=" * (-len(compact) % 4)  # some encoders leave the padding out
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise TransferError(f"the base64 body does not decode ({error})") from None
    first_line = text.split(b"\n", 1)[0].rstrip(b"\r")
    multi_line = b"\n" in text
    length = len(first_line) if multi_line and len(first_line) % 4 == 0 and first_line else 76
    return DecodedBody("base64", body, data, eol, b64_line_length=min(length, 76),
                       b64_suffix=suffix)


def _encode_base64(data: bytes, decoded: DecodedBody) -> bytes:
    encoded = base64.b64encode(data)
    n = decoded.b64_line_length
    lines = [encoded[i:i + n] for i in range(0, len(encoded), n)]
    return decoded.eol.join(lines) + decoded.b64_suffix
