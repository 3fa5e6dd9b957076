"""What a draft says, reduced to what a client on screen can also compute: its recipients, subject and a digest
of its visible text. The send job compares these with what the composer showed before sending anything.

The text digest contract (the extension computes the same from the compose body's textContent): take the text
content of the HTML part (or the text/plain part when there is none) without <style>, <script>, <head> and
comments, decode character references, remove every whitespace and zero-width character, NFC-normalise, and
hash with SHA-256 (hex). Removing whitespace entirely makes line wrapping and &nbsp; irrelevant.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
import unicodedata

_DROP_BLOCKS = re.compile(r"<(style|script|head|title)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def text_digest(text: str) -> str:
    squeezed = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return hashlib.sha256(squeezed.encode("utf-8")).hexdigest()


def html_text(markup: str) -> str:
    markup = _COMMENTS.sub("", markup)
    markup = _DROP_BLOCKS.sub("", markup)
    return html.unescape(_TAGS.sub(" ", markup))


def visible_text(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    html_body = plain_body = None
    for part in message.walk():
        if part.is_multipart() or (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/html", "text/plain"):
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        if ctype == "text/html" and html_body is None:
            html_body = text
        elif ctype == "text/plain" and plain_body is None:
            plain_body = text
    if html_body is not None:
        return html_text(html_body)
    return plain_body or ""


def draft_text_digest(raw: bytes) -> str:
    return text_digest(visible_text(raw))
