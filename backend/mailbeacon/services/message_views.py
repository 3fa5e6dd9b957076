"""What the sender's clients show: the tracked-mail list, one message's timeline, and the status of list rows.

Every query is scoped by the user id first, so a message id, thread id or cursor from someone else can only
ever come back as "not found".
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from sqlalchemy import String, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ..storage.models import Hit, Link, TrackedMessage

MACHINE_KINDS = ("prefetch", "scanner", "preview", "unknown")
LIST_FILTERS = ("all", "tracked", "opened", "clicked", "not_opened")
MAX_PAGE = 100

# Plain rows of the columns an answer shows (the functions below read them by the models' attribute names), not
# whole objects: a message row also carries the client's JSON and the send job's stash, a hit its facts.
SUMMARY_COLUMNS = tuple(getattr(TrackedMessage, name) for name in (
    "id", "public_id", "subject", "recipients", "provider", "provider_thread_id", "status", "created_at", "sent_at",
    "track_opens", "track_clicks", "tracking_skipped_reason", "human_open_count", "machine_open_count",
    "first_opened_at", "last_opened_at", "human_click_count", "machine_click_count", "first_clicked_at",
    "last_clicked_at"))
DETAIL_COLUMNS = SUMMARY_COLUMNS + (TrackedMessage.status_detail, TrackedMessage.provider_message_id)
LINK_COLUMNS = (Link.id, Link.position, Link.url, Link.is_honeypot, Link.human_click_count, Link.machine_click_count,
                Link.first_clicked_at, Link.last_clicked_at)
HIT_COLUMNS = (Hit.link_id, Hit.occurred_at, Hit.hit_type, Hit.kind, Hit.reason, Hit.counted, Hit.device_class,
               Hit.client, Hit.place)
STATUS_COLUMNS = (TrackedMessage.provider_thread_id, TrackedMessage.public_id, TrackedMessage.human_open_count,
                  TrackedMessage.human_click_count, TrackedMessage.machine_open_count, TrackedMessage.first_opened_at,
                  TrackedMessage.last_opened_at, TrackedMessage.last_clicked_at)


class BadCursor(ValueError):
    pass


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def encode_cursor(message) -> str:
    raw = json.dumps([message.created_at.isoformat(), message.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created, message_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created), int(message_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadCursor("cursor is not one this API handed out") from None


def recipients_wording(message) -> str:
    """Honest about what one shared pixel can and cannot tell."""
    count = len(message.recipients or [])
    opened = message.human_open_count > 0
    if count > 1:
        return ("Opened — we can't tell by whom: the message went to "
                f"{count} recipients who share one tracking pixel." if opened else
                f"Not opened yet by any of its {count} recipients (as far as a pixel can tell).")
    return "Opened." if opened else "Not opened yet (as far as a pixel can tell)."


def summary(message) -> dict:
    """A message as the list shows it; `message` is a row of SUMMARY_COLUMNS or a TrackedMessage."""
    return {
        "id": message.public_id,
        "subject": message.subject,
        "recipients": message.recipients or [],
        "provider": message.provider,
        "thread_id": message.provider_thread_id,
        "status": message.status,
        "created_at": _iso(message.created_at),
        "sent_at": _iso(message.sent_at),
        "tracking": {"opens": message.track_opens, "clicks": message.track_clicks,
                     "skipped_reason": message.tracking_skipped_reason},
        "opens": {"count": message.human_open_count, "machine_count": message.machine_open_count,
                  "first_at": _iso(message.first_opened_at), "last_at": _iso(message.last_opened_at)},
        "clicks": {"count": message.human_click_count, "machine_count": message.machine_click_count,
                   "first_at": _iso(message.first_clicked_at), "last_at": _iso(message.last_clicked_at)},
        "opened": message.human_open_count > 0,
        "clicked": message.human_click_count > 0,
    }


def list_messages(session: Session, user_id: int, *, filter: str = "all", query: str | None = None,
                  cursor: str | None = None, limit: int = 50) -> tuple[list[dict], str | None]:
    limit = max(1, min(MAX_PAGE, limit))
    stmt = select(*SUMMARY_COLUMNS).where(TrackedMessage.user_id == user_id)
    tracked = or_(TrackedMessage.track_opens.is_(True), TrackedMessage.track_clicks.is_(True))
    if filter == "tracked":
        stmt = stmt.where(tracked)
    elif filter == "opened":
        stmt = stmt.where(TrackedMessage.human_open_count > 0)
    elif filter == "clicked":
        stmt = stmt.where(TrackedMessage.human_click_count > 0)
    elif filter == "not_opened":
        stmt = stmt.where(TrackedMessage.track_opens.is_(True), TrackedMessage.human_open_count == 0)
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
        # Recipients are a JSON list; searching its text form finds an address or a part of one.
        stmt = stmt.where(or_(func.lower(TrackedMessage.subject).like(like, escape="\\"),
                              func.lower(cast(TrackedMessage.recipients, String)).like(like, escape="\\")))
    if cursor:
        created, last_id = decode_cursor(cursor)
        # A row value, not "created < c OR (created = c AND id < i)": PostgreSQL reads it as a range of the
        # (user_id, created_at DESC, id DESC) index and starts the page where the cursor points (SQLite >= 3.15).
        stmt = stmt.where(tuple_(TrackedMessage.created_at, TrackedMessage.id) < (created, last_id))
    rows = session.execute(stmt.order_by(TrackedMessage.created_at.desc(), TrackedMessage.id.desc())
                           .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [summary(m) for m in rows], (encode_cursor(rows[-1]) if more and rows else None)


def message_detail(session: Session, user_id: int, public_id: str) -> dict | None:
    message = session.execute(select(*DETAIL_COLUMNS).where(TrackedMessage.user_id == user_id,
                                                            TrackedMessage.public_id == public_id)).first()
    if message is None:
        return None
    links = session.execute(select(*LINK_COLUMNS).where(Link.message_id == message.id).order_by(Link.position)).all()
    by_id = {link.id: link for link in links}
    hits = session.execute(select(*HIT_COLUMNS).where(Hit.message_id == message.id)
                           .order_by(Hit.occurred_at, Hit.id).limit(1000)).all()
    timeline = []
    for hit in hits:
        link = by_id.get(hit.link_id) if hit.link_id else None
        timeline.append({
            "at": _iso(hit.occurred_at), "type": hit.hit_type, "kind": hit.kind, "reason": hit.reason,
            "machine": hit.kind in MACHINE_KINDS, "self": hit.kind == "self", "counted": hit.counted,
            "device_class": hit.device_class, "client": hit.client, "place": hit.place,
            "link": link.position if link is not None else None,
            "url": link.url if link is not None else None,
        })
    data = summary(message)
    data.update({
        "wording": recipients_wording(message),
        "shared_pixel": len(message.recipients or []) > 1,
        "status_detail": message.status_detail,
        "provider_message_id": message.provider_message_id,
        "links": [{"index": l.position, "url": l.url, "clicks": l.human_click_count,
                   "machine_clicks": l.machine_click_count, "first_clicked_at": _iso(l.first_clicked_at),
                   "last_clicked_at": _iso(l.last_clicked_at)} for l in links if not l.is_honeypot],
        "timeline": timeline,
    })
    return data


def row_status(session: Session, user_id: int, *, thread_ids: list[str]) -> dict[str, dict]:
    """One query for every row a client has on screen: Gmail thread ids or Outlook conversation ids."""
    if not thread_ids:
        return {}
    rows = session.execute(select(*STATUS_COLUMNS).where(TrackedMessage.user_id == user_id,
                                                         TrackedMessage.provider_thread_id.in_(thread_ids))
                           .order_by(TrackedMessage.created_at)).all()
    out: dict[str, dict] = {tid: {"tracked": False} for tid in thread_ids}
    for message in rows:
        tid = message.provider_thread_id
        entry = out[tid]
        if not entry.get("tracked"):
            entry.update({"tracked": True, "messages": [], "opened": False, "clicked": False, "open_count": 0,
                          "click_count": 0, "machine_open_count": 0, "first_opened_at": None,
                          "last_opened_at": None, "last_clicked_at": None})
        entry["messages"].append(message.public_id)
        entry["opened"] |= message.human_open_count > 0
        entry["clicked"] |= message.human_click_count > 0
        entry["open_count"] += message.human_open_count
        entry["click_count"] += message.human_click_count
        entry["machine_open_count"] += message.machine_open_count
        for key, value, pick in (("first_opened_at", message.first_opened_at, min),
                                 ("last_opened_at", message.last_opened_at, max),
                                 ("last_clicked_at", message.last_clicked_at, max)):
            if value is not None:
                current = entry[key]
                entry[key] = value.isoformat() if current is None else pick(current, value.isoformat())
    return out
