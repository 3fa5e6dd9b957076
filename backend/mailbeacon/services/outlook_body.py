"""An Outlook body (Graph's `{contentType, content}`, or what the add-in read) tracked exactly like any message.

Tracking works on whole RFC 5322 messages, so the body is wrapped in a minimal single-part message (its
recipients and subject in the header, so do-not-track and the report see them; the body as 8bit UTF-8, which
the injector edits in place), tracked by prepare_tracked_message, and taken back out. Both Outlook paths, Graph
and prepare, go through `track_outlook_body`, so a message is tracked the same whichever path sent it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.header import Header

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..runtime import Runtime
from ..storage.models import Link, TrackedMessage, User
from .prepare import PreparedMessage, prepare_tracked_message

_SEPARATOR = b"\r\n\r\n"


@dataclass(frozen=True)
class OutlookBody:
    content_type: str  # "html" | "text"
    content: str

    def __post_init__(self) -> None:
        if self.content_type not in ("html", "text"):
            raise ValueError("an Outlook body is html or text")


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _address_field(name: str, addresses: list[str]) -> bytes:
    # Header injection is impossible: every value is reduced to one line, and commas separate only our entries.
    cleaned = [_one_line(a).replace(",", "") for a in addresses if _one_line(a)]
    return f"{name}: {', '.join(cleaned)}\r\n".encode("utf-8") if cleaned else b""


def wrap(*, subject: str, to: list[str], cc: list[str], bcc: list[str], body: OutlookBody,
         internet_message_id: str | None = None) -> bytes:
    """The body as a message of its own: `text/html` or `text/plain`, UTF-8, 8bit, CRLF header."""
    subject_line = _one_line(subject)
    encoded = Header(subject_line, "utf-8" if not subject_line.isascii() else "us-ascii",
                     header_name="Subject").encode(linesep="\r\n")
    head = b"".join([
        _address_field("To", to), _address_field("Cc", cc), _address_field("Bcc", bcc),
        f"Subject: {encoded}\r\n".encode("ascii"),
        f"Message-ID: {_one_line(internet_message_id)}\r\n".encode("utf-8") if internet_message_id else b"",
        b"MIME-Version: 1.0\r\n",
        f"Content-Type: text/{'html' if body.content_type == 'html' else 'plain'}; charset=utf-8\r\n"
        .encode("ascii"),
        b"Content-Transfer-Encoding: 8bit\r\n",
    ])
    # surrogatepass: a lone surrogate in the JSON survives the round trip instead of being replaced.
    return head + b"\r\n" + body.content.encode("utf-8", "surrogatepass")


def unwrap(raw: bytes, content_type: str) -> OutlookBody:
    """The body back out of a message made by `wrap` (the injector changes body bytes only, never the header)."""
    head_end = raw.index(_SEPARATOR)
    return OutlookBody(content_type, raw[head_end + len(_SEPARATOR):].decode("utf-8", "surrogatepass"))


def own_link_urls(rt: Runtime, message_id: int, positions) -> list[str]:
    return [rt.click_url(message_id, position) for position in positions]


def carries_own_tracking(rt: Runtime, session: Session, message_id: int, content: str) -> bool:
    """True when `content` already holds this message's pixel or one of its click URLs (our earlier attempt)."""
    if rt.open_url(message_id) in content:
        return True
    positions = session.scalars(select(Link.position).where(Link.message_id == message_id)).all()
    return any(url in content for url in own_link_urls(rt, message_id, positions))


def without_own_links(rt: Runtime, session: Session, message_id: int, body: OutlookBody) -> OutlookBody:
    """`body` with this message's click URLs put back to where they lead, so it can be tracked afresh.

    The injector removes its own old pixels and honeypots by itself but leaves our click URLs alone (they might
    be another message's); for the message being re-prepared they must go, because re-preparing replaces its
    link registry and the old tokens would point at links that no longer exist.
    """
    content = body.content
    for link in session.scalars(select(Link).where(Link.message_id == message_id, Link.is_honeypot.is_(False))):
        original = html.escape(link.url, quote=True) if body.content_type == "html" else link.url
        content = content.replace(rt.click_url(message_id, link.position), original)
    return OutlookBody(body.content_type, content)


def track_outlook_body(rt: Runtime, session: Session, *, user: User, message: TrackedMessage, subject: str,
                       to: list[str], cc: list[str], bcc: list[str], body: OutlookBody, track_opens: bool,
                       track_clicks: bool, internet_message_id: str | None = None
                       ) -> tuple[OutlookBody, PreparedMessage]:
    """Register `message`'s tracking for this body and return the tracked body (untracked when refused)."""
    raw = wrap(subject=subject, to=to, cc=cc, bcc=bcc, body=body, internet_message_id=internet_message_id)
    prepared = prepare_tracked_message(rt, session, user=user, raw=raw, track_opens=track_opens,
                                       track_clicks=track_clicks, provider="outlook",
                                       account_id=message.account_id, message=message)
    return unwrap(prepared.raw, body.content_type), prepared
