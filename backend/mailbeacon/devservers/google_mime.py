"""RFC 5322 handling for the Gmail stand-in: decode ``raw`` as Google does, validate, and render parts.

The stored bytes are never re-serialised: everything here reads a message or splices whole header
lines at the top, so what a client sent is what it gets back, byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from .google_errors import bad_bytes_field, invalid_argument

_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
_HEADER_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
SNIPPET_LENGTH = 200


def decode_raw(value: Any, field_path: str) -> bytes:
    """Decode a JSON ``bytes`` field the way Google's transcoder does.

    Google accepts the standard and the URL-safe alphabet, with or without padding, and
    nothing else: no whitespace, no stray characters.
    """
    if not isinstance(value, str):
        raise bad_bytes_field(field_path, repr(value))
    if not _BASE64_CHARS.match(value) or len(value.rstrip("=")) % 4 == 1:
        raise bad_bytes_field(field_path, value)
    unpadded = value.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise bad_bytes_field(field_path, value) from None


def encode_raw(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def header_section_end(raw: bytes) -> int:
    """Offset of the blank line that ends the header section (after the last header's newline), or len(raw)."""
    match = re.search(rb"\r?\n(\r?\n)", raw)
    return match.start(1) if match else len(raw)


def _line_ending(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[: header_section_end(raw)] else b"\n"


def validate_structure(raw: bytes) -> None:
    """Reject what is not an RFC 5322 message at all: it must start with a header field."""
    if not raw.strip():
        raise invalid_argument("Invalid raw message: the message is empty")
    first_line = raw.split(b"\n", 1)[0]
    if not _HEADER_FIELD.match(first_line):
        raise invalid_argument("Invalid raw message: it does not start with a header field")
    message = parse(raw)
    if message.get_content_maintype() == "multipart" and not message.get_boundary():
        raise invalid_argument("Invalid raw message: multipart Content-Type without a boundary")


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def header(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    try:
        return str(value)
    except Exception:  # a header policy.default cannot model: fall back to its raw text
        return str(message.get_all(name, [""])[0])


def recipients(message: EmailMessage, *, required: bool) -> list[str]:
    """Envelope recipients from To, Cc and Bcc, validated as Gmail does.

    Gmail refuses an address without a dotted domain (``human@f``) and garbage like ``e,m,a,i,l``
    with "Invalid To header"; a send with no recipient at all gets "Recipient address required".
    """
    found: list[str] = []
    for name in ("To", "Cc", "Bcc"):
        for value in message.get_all(name, []):
            try:
                addresses = value.addresses
                defects = value.defects
            except AttributeError:
                raise invalid_argument(f"Invalid {name} header") from None
            if any(type(defect).__name__ == "InvalidHeaderDefect" for defect in defects):
                raise invalid_argument(f"Invalid {name} header")
            for address in addresses:
                local, _, domain = address.addr_spec.rpartition("@")
                if not local or "." not in domain.strip("[]") or domain.startswith(".") or domain.endswith("."):
                    raise invalid_argument(f"Invalid {name} header")
                found.append(address.addr_spec)
    if required and not found:
        raise invalid_argument("Recipient address required")
    return found


def message_id(message: Message) -> str | None:
    """The Message-ID without angle brackets, which is how ``rfc822msgid:`` compares it."""
    value = header(message, "Message-ID")
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    return match.group(1) if match else value.strip()


def referenced_ids(message: Message) -> list[str]:
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        ids.extend(_MESSAGE_ID.findall(header(message, name) or ""))
    return ids


def base_subject(subject: str | None) -> str:
    """The subject Gmail threads on: reply and forward prefixes removed, whitespace collapsed."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split()).casefold()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def leaf_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AttributeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def snippet(message: EmailMessage) -> str:
    """Gmail's snippet: the start of the readable text, whitespace collapsed, HTML-escaped."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = leaf_text(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = leaf_text(part)
    if plain is not None:
        text = plain
    elif html is not None:
        extractor = _TextExtractor()
        extractor.feed(html)
        text = " ".join(extractor.chunks)
    else:
        text = ""
    text = " ".join(text.split())[:SNIPPET_LENGTH]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace(
        "'", "&#39;"
    )


def _headers_of(part: Message, wanted: set[str] | None) -> list[dict[str, str]]:
    result = []
    for name, value in part.items():
        if wanted is not None and name.casefold() not in wanted:
            continue
        try:
            text = str(value)
        except Exception:
            text = ""
        result.append({"name": name, "value": text})
    return result


def attachment_id(message_id_: str, part_id: str) -> str:
    return "ANGjdJ" + base64.urlsafe_b64encode(f"{message_id_}:{part_id}".encode()).decode().rstrip("=")


def parse_attachment_id(value: str) -> tuple[str, str] | None:
    if not value.startswith("ANGjdJ"):
        return None
    encoded = value[len("ANGjdJ") :]
    try:
        message_id_, _, part_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return message_id_, part_id


def _part(part: Message, part_id: str, owner_id: str) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": _headers_of(part, None),
    }
    if part.is_multipart():
        children = part.get_payload()
        prefix = "" if part_id == "" else part_id + "."
        rendered["body"] = {"size": 0}
        rendered["parts"] = [_part(child, f"{prefix}{index}", owner_id) for index, child in enumerate(children)]
        return rendered
    content = part.get_payload(decode=True) or b""
    if rendered["filename"] or part.get_content_disposition() == "attachment":
        rendered["body"] = {"attachmentId": attachment_id(owner_id, part_id), "size": len(content)}
    else:
        rendered["body"] = {"size": len(content), "data": encode_raw(content)} if content else {"size": 0}
    return rendered


def full_payload(message: EmailMessage, owner_id: str) -> dict[str, Any]:
    return _part(message, "", owner_id)


def metadata_payload(message: EmailMessage, metadata_headers: list[str]) -> dict[str, Any]:
    wanted = {name.casefold() for name in metadata_headers} if metadata_headers else None
    return {
        "partId": "",
        "mimeType": message.get_content_type(),
        "filename": "",
        "headers": _headers_of(message, wanted),
    }


def find_part_content(message: EmailMessage, part_id: str) -> bytes | None:
    part: Message = message
    if part_id:
        for index in part_id.split("."):
            children = part.get_payload() if part.is_multipart() else None
            if not isinstance(children, list) or not index.isdigit() or int(index) >= len(children):
                return None
            part = children[int(index)]
    if part.is_multipart():
        return None
    return part.get_payload(decode=True) or b""


def remove_header(raw: bytes, name: str) -> bytes:
    """Drop every instance of one header (with its folded lines); the rest stays byte-exact."""
    end = header_section_end(raw)
    field = re.compile(rb"^" + re.escape(name.encode("ascii")) + rb"[ \t]*:", re.IGNORECASE)
    kept: list[bytes] = []
    dropping = False
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] not in (b" ", b"\t"):  # not a continuation: a new field starts here
            dropping = bool(field.match(line))
        if not dropping:
            kept.append(line)
    return b"".join(kept) + raw[end:]


def prepend_headers(raw: bytes, fields: list[tuple[str, str]]) -> bytes:
    newline = _line_ending(raw)
    return b"".join(f"{name}: {value}".encode("utf-8") + newline for name, value in fields) + raw
