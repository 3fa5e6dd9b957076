"""The demo's compose window: what it types becomes a draft shaped like the one the sender's mail app saves.

Gmail saves a multipart/alternative draft: a text/plain part and an HTML part in which typed URLs became links.
Outlook on the web saves an item whose body is that HTML alone (Graph's body, contentType html). Building the same
shapes here means the backend tracks the demo's message exactly as it would a real one, and the "seen" fingerprint
is computed the way the extension (from the raw draft) and the add-in (from the HTML body) compute it.
"""

from __future__ import annotations

import email.policy
import email.utils
import html
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from ..tracking.fingerprint import draft_text_digest, html_text, text_digest

MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_RECIPIENTS = 10

# A URL as people type it; trailing punctuation belongs to the sentence, not the link.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


class ComposeError(ValueError):
    """What the person typed cannot become a draft; the message says which field and why."""


@dataclass(frozen=True)
class Compose:
    to: tuple[str, ...]
    subject: str
    body: str

    @classmethod
    def from_form(cls, *, to: str, subject: str, body: str) -> "Compose":
        addresses = parse_recipients(to)
        subject = " ".join((subject or "").split())
        if len(subject) > MAX_SUBJECT:
            raise ComposeError(f"The subject is longer than {MAX_SUBJECT} characters.")
        body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
        if not body.strip():
            raise ComposeError("Write something in the message: an empty body has nothing to track.")
        if len(body) > MAX_BODY:
            raise ComposeError(f"The message is longer than {MAX_BODY} characters.")
        return cls(addresses, subject, body)


def parse_recipients(value: str) -> tuple[str, ...]:
    found = [addr.strip() for _name, addr in email.utils.getaddresses([value or ""]) if addr.strip()]
    if not found:
        raise ComposeError("Add a recipient in To.")
    if len(found) > MAX_RECIPIENTS:
        raise ComposeError(f"The demo sends to at most {MAX_RECIPIENTS} recipients.")
    for address in found:
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or any(ch.isspace() for ch in address):
            raise ComposeError(f"{address!r} is not an email address.")
    return tuple(dict.fromkeys(found))


def _split_url(match: str) -> tuple[str, str]:
    url = match.rstrip(_TRAILING)
    # A closing parenthesis stays when the URL itself opened one (Wikipedia-style links).
    while match[len(url):len(url) + 1] == ")" and url.count("(") > url.count(")"):
        url += ")"
    return url, match[len(url):]


def body_html(body: str) -> str:
    """The HTML part Gmail would save for this text: escaped, URLs as links, one <div> per line."""
    lines = []
    for line in body.split("\n"):
        out, last = [], 0
        for m in _URL.finditer(line):
            url, rest = _split_url(m.group(0))
            out.append(html.escape(line[last:m.start()], quote=False))
            href = html.escape(url, quote=True)
            out.append(f'<a href="{href}">{html.escape(url, quote=False)}</a>{html.escape(rest, quote=False)}')
            last = m.end()
        out.append(html.escape(line[last:], quote=False))
        lines.append("<div>" + ("".join(out) or "<br>") + "</div>")
    return '<div dir="ltr">' + "".join(lines) + "</div>"


def build_draft(compose: Compose, *, sender_email: str, sender_name: str | None) -> bytes:
    """The RFC 5322 draft for the compose window's content, with CRLF line ends as Gmail stores them."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=sender_name or "", addr_spec=sender_email)
    message["To"] = ", ".join(compose.to)
    message["Subject"] = compose.subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message.set_content(compose.body, subtype="plain", charset="utf-8")
    message.add_alternative(body_html(compose.body), subtype="html", charset="utf-8")
    return message.as_bytes()


def seen_fingerprint(compose: Compose, raw: bytes) -> dict:
    """What the compose window shows, as the extension reports it with Send: the backend refuses any other draft."""
    return {"to": list(compose.to), "cc": [], "bcc": [], "subject": compose.subject,
            "text_sha256": draft_text_digest(raw)}


def outlook_seen_fingerprint(compose: Compose, body: str) -> dict:
    """The same, as the add-in reports it from Office's getBody("html"): the backend refuses any other item."""
    return {"to": list(compose.to), "cc": [], "bcc": [], "subject": compose.subject,
            "text_sha256": text_digest(html_text(body))}
