"""The recipient's side: their stand-in Gmail INBOX, and one delivered message as a mail client renders it.

The message is the recipient's own delivered copy (what the stand-in put in their INBOX after the backend sent
the tracked draft), not the sender's Sent copy: the pixel and the rewritten links in it are the ones the outside
world received. It is served as its own document for a sandboxed frame: no script runs, images load (so the
pixel is fetched by the browser, as a mail app without an image proxy fetches it) and links open in a new tab.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.utils import parseaddr

from ..devservers import google_mime as mime
from ..devservers.google_state import GoogleState

INBOX_SHOWN = 20
# The message document's own policy: nothing but images and inline styles (the tracking's hidden trap link is
# hidden with an inline style, so styles must apply). `sandbox` repeats the frame's attribute for a frame-less
# visit: the document can open links in new tabs and nothing else.
MESSAGE_POLICY = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
                  "sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'self'")
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class InboxEntry:
    id: str
    sender: str
    subject: str
    snippet: str
    received_at: int  # ms since the epoch, Gmail's internalDate
    unread: bool

    def as_json(self) -> dict:
        return {"id": self.id, "from": self.sender, "subject": self.subject, "snippet": self.snippet,
                "received_at": self.received_at, "unread": self.unread}


class RecipientInbox:
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
        if body_html is None:
            body_html = "<pre>" + _linkify(html.escape(body_text or "", quote=False)) + "</pre>"
        # A mail client hands links to the browser: a new tab, outside the frame.
        return ('<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
                '<style>body{font:15px/1.5 system-ui,sans-serif;margin:12px;color:#1f1f1f;background:#fff}</style>'
                f"</head><body>{body_html}</body></html>")


def _linkify(escaped_text: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped_text)
