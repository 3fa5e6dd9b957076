"""The recipient's side: their inboxes in both stand-ins, and one delivered message as a mail client renders it.

Each stand-in delivers only to accounts of its own, so a recipient of both senders has a mailbox in each: Alex's
mail arrives in the Google stand-in's INBOX, Jordan's in the Microsoft stand-in's Inbox. The page lists the two
together. A message is the recipient's own delivered copy (what the stand-in filed for them after the backend sent
the tracked draft), not the sender's Sent copy: the pixel and the rewritten links in it are the ones the outside
world received. It is served as its own document for a sandboxed frame: no script runs, images load (so the
pixel is fetched by the browser, as a mail app without an image proxy fetches it) and links open in a new tab.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Protocol

from ..devservers import google_mime as mime
from ..devservers.google_state import GoogleState
from ..devservers.microsoft_messages import StoredMessage as OutlookMessage
from ..devservers.microsoft_state import MicrosoftState
from ..tracking.fingerprint import html_text

INBOX_SHOWN = 20
# The message document's own policy: nothing but images and inline styles (the tracking's hidden trap link is
# hidden with an inline style, so styles must apply). `sandbox` repeats the frame's attribute for a frame-less
# visit: the document can open links in new tabs and nothing else.
MESSAGE_POLICY = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
                  "sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'self'")
_URL = re.compile(r"https?://[^\s<>\"']+")
# Exchange keeps an HTML body as a whole document; the frame's document wraps only what is inside its <body>.
_BODY = re.compile(r"<body\b[^>]*>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class InboxEntry:
    id: str
    sender: str
    subject: str
    snippet: str
    received_at: int  # ms since the epoch (Gmail's internalDate)
    unread: bool

    def as_json(self) -> dict:
        return {"id": self.id, "from": self.sender, "subject": self.subject, "snippet": self.snippet,
                "received_at": self.received_at, "unread": self.unread}


class RecipientInbox(Protocol):
    service: str  # "gmail" or "outlook": which stand-in the mailbox is in
    address: str

    def entries(self) -> list[InboxEntry]: ...

    def message_document(self, message_id: str) -> str | None: ...


class GmailInbox:
    service = "gmail"

    def __init__(self, state: GoogleState, address: str) -> None:
        self.state = state
        self.address = address

    def entries(self) -> list[InboxEntry]:
        out = []
        for message in self.state.messages(self.address, "in:inbox")[:INBOX_SHOWN]:
            name, addr = parseaddr(message.header_text("From"))
            out.append(InboxEntry(message.id, name or addr, message.header_text("Subject") or "(no subject)",
                                  html.unescape(message.snippet), message.internal_date,
                                  "UNREAD" in message.label_ids))
        return out

    def message_document(self, message_id: str) -> str | None:
        """The delivered message as an HTML document for the frame, or None if the INBOX has no such message."""
        with self.state.lock:
            message = self.state.mailbox(self.address).messages.get(message_id)
            if message is None or "INBOX" not in message.label_ids:
                return None
            if "UNREAD" in message.label_ids:  # opening it reads it, as in Gmail
                message.label_ids.remove("UNREAD")
            parsed = message.parsed
        body_html = body_text = None
        for part in parsed.walk():
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            if part.get_content_type() == "text/html" and body_html is None:
                body_html = mime.leaf_text(part)
            elif part.get_content_type() == "text/plain" and body_text is None:
                body_text = mime.leaf_text(part)
        return _document(body_html, body_text)


class OutlookInbox:
    service = "outlook"

    def __init__(self, state: MicrosoftState, address: str) -> None:
        self.state = state
        self.address = address

    def _inbox(self) -> list[OutlookMessage]:
        box = self.state.mailbox(self.address)
        found = [m for m in box.messages.values() if m.folder == "inbox"]
        return sorted(found, key=lambda m: m.received or m.created, reverse=True)

    def entries(self) -> list[InboxEntry]:
        out = []
        with self.state.lock:
            for message in self._inbox()[:INBOX_SHOWN]:
                sender = (message.from_ or message.owner())["emailAddress"]
                text = html_text(message.body_content) if message.body_type == "html" else message.body_content
                out.append(InboxEntry(message.immutable_id, sender.get("name") or sender["address"],
                                      message.subject or "(no subject)", " ".join(text.split())[:200],
                                      int((message.received or message.created) * 1000), not message.is_read))
        return out

    def message_document(self, message_id: str) -> str | None:
        """The delivered message as an HTML document for the frame, or None if the Inbox has no such message."""
        with self.state.lock:
            message = next((m for m in self._inbox() if m.immutable_id == message_id), None)
            if message is None:
                return None
            message.is_read = True  # opening it reads it, as in Outlook
            kind, content = message.body_type, message.body_content
        if kind != "html":
            return _document(None, content)
        inner = _BODY.search(content)
        return _document(inner.group(1) if inner else content, None)


def _document(body_html: str | None, body_text: str | None) -> str:
    if body_html is None:
        body_html = "<pre>" + _linkify(html.escape(body_text or "", quote=False)) + "</pre>"
    # A mail client hands links to the browser: a new tab, outside the frame.
    return ('<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
            '<style>body{font:15px/1.5 system-ui,sans-serif;margin:12px;color:#1f1f1f;background:#fff}</style>'
            f"</head><body>{body_html}</body></html>")


def _linkify(escaped_text: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped_text)


def recipient_inboxes(google: GoogleState, microsoft: MicrosoftState, *,
                      senders: Iterable[str]) -> list[RecipientInbox]:
    """Every mailbox in either stand-in but the demo senders' own: someone the demo's mail may have reached."""
    own = {address.casefold() for address in senders}
    gmail: list[RecipientInbox] = [GmailInbox(google, account.email) for account in google.users()
                                   if account.email.casefold() not in own]
    with microsoft.lock:
        owners = [box.user.upn for box in microsoft.mailboxes.values()]
    return gmail + [OutlookInbox(microsoft, upn) for upn in owners if upn.casefold() not in own]
