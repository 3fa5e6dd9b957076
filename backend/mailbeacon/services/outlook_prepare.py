"""The prepare path, for classic desktop Outlook: its save lands in a local store first, so Graph can't send the draft.

The add-in's send handler asks us to track the body, sets the tracked body and an X-Mailbeacon-Id header, and lets
Outlook send natively. We then look for the sent copy in Sent Items through Graph, by that header (Exchange
exposes internet headers as named extended properties), and record its ids and sent time. A prepared message
whose copy never shows up within a day was not sent after all (the send was cancelled, or failed in Outlook):
it is marked abandoned, never sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..jobs.runner import RetryLater
from ..providers.base import GrantRevoked, ProviderError
from ..providers.graph import GraphMessage
from ..runtime import Runtime
from ..storage.models import MailAccount, TrackedMessage, User, utcnow
from .outlook_body import OutlookBody, track_outlook_body, without_own_links
from .prepare import PreparedMessage, mark_sent
from .send_events import publish_send_event

log = logging.getLogger(__name__)

HEADER_NAME = "X-Mailbeacon-Id"
ABANDON_AFTER = timedelta(days=1)
# Seconds between looks for one message's sent copy: often at first (Outlook syncs within minutes), then hourly.
LOOKUP_INTERVALS = (60, 120, 300, 600, 1800, 3600)
SWEEP_LIMIT = 1000


class PrepareRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class PreparedOutlook:
    message: TrackedMessage
    body: OutlookBody
    prepared: PreparedMessage

    @property
    def header(self) -> dict[str, str]:
        return {"name": HEADER_NAME, "value": self.message.public_id}


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def prepare_outlook_message(rt: Runtime, session: Session, *, user_id: int, subject: str, to: list[str],
                            cc: list[str], bcc: list[str], body: OutlookBody, track_opens: bool, track_clicks: bool,
                            idempotency_key: str | None = None) -> PreparedOutlook:
    """Track a body for Outlook to send itself. The same key again (the send handler ran twice) re-prepares the
    same message instead of registering a second one."""
    account = session.scalar(select(MailAccount).where(MailAccount.user_id == user_id,
                                                       MailAccount.provider == "outlook"))
    if account is None:
        raise PrepareRefused(409, "no_account", "Sign in with Microsoft first.")
    if account.status != "connected":
        # We could track the body, but could never find the sent copy: say so now rather than lose the message.
        raise PrepareRefused(409, "account_disconnected", account.status_reason or "Sign in with Microsoft again.")
    message = None
    if idempotency_key:
        message = session.scalar(select(TrackedMessage).where(TrackedMessage.user_id == user_id,
                                                              TrackedMessage.idempotency_key == idempotency_key))
        if message is not None and message.status != "prepared":
            raise PrepareRefused(409, "already_sent" if message.status == "sent" else "conflict",
                                 f"This message is already {message.status}; prepare it under a new key.")
    if message is not None:
        # The body the handler sends now is the one we tracked before: our click URLs go back to their targets.
        body = without_own_links(rt, session, message.id, body)
    else:
        message = TrackedMessage(user_id=user_id, account_id=account.id, provider="outlook", status="prepared",
                                 idempotency_key=idempotency_key)
        session.add(message)
    message.requested_opens, message.requested_clicks = track_opens, track_clicks
    session.flush()
    user = session.get(User, user_id)
    tracked, prepared = track_outlook_body(rt, session, user=user, message=message, subject=subject, to=to, cc=cc,
                                           bcc=bcc, body=body, track_opens=track_opens, track_clicks=track_clicks)
    message.status = "prepared"
    message.tracked_digest = hashlib.sha256(tracked.content.encode("utf-8", "surrogatepass")).hexdigest()
    message.client_seen = {"path": "prepare", "lookups": 0,
                           "next_lookup_at": _epoch(utcnow()) + LOOKUP_INTERVALS[0]}
    session.flush()
    return PreparedOutlook(message, tracked, prepared)


def note_client_sent(session: Session, message: TrackedMessage) -> None:
    """The add-in says Outlook sent it: look for the copy from now on (its word is a hint, never proof)."""
    message.client_seen = {**(message.client_seen or {}), "client_sent_at": _epoch(utcnow()),
                           "next_lookup_at": _epoch(utcnow())}


def find_sent_copy(rt: Runtime, message_id: int, *, provider_for, retry: bool = False, now: datetime | None = None
                   ) -> str:
    """Look once for the message's sent copy; record it if found. Returns the message's status afterwards.

    With `retry`, a copy not found yet raises RetryLater (the job right after the add-in's "sent" signal)."""
    with rt.db.session() as session:
        message = session.get(TrackedMessage, message_id)
        if message is None or message.status != "prepared":
            return message.status if message is not None else "missing"
        account = session.get(MailAccount, message.account_id) if message.account_id else None
        if account is None or account.status != "connected":
            return message.status
        session.expunge(account)
    provider = provider_for(rt, account)
    status = _look(rt, provider, message_id, now=now or utcnow())
    if status == "prepared" and retry:
        raise RetryLater("the sent copy is not in Sent Items yet")
    return status


def _look(rt: Runtime, provider, message_id: int, *, now: datetime) -> str:
    with rt.db.session() as session:
        message = session.get(TrackedMessage, message_id)
        public_id, created = message.public_id, message.created_at
    found = provider.find_sent_by_header(name=HEADER_NAME, value=public_id)
    if found is not None:
        return _record_sent(rt, message_id, found)
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        if message.status != "prepared":
            return message.status
        if now - created >= ABANDON_AFTER:
            message.status = "abandoned"
            message.status_detail = "abandoned: Outlook never put it in Sent Items within a day, so it was not sent"
            return "abandoned"
        seen = dict(message.client_seen or {})
        lookups = int(seen.get("lookups", 0)) + 1
        seen.update(lookups=lookups, next_lookup_at=_epoch(now) + LOOKUP_INTERVALS[min(lookups,
                                                                                      len(LOOKUP_INTERVALS) - 1)])
        message.client_seen = seen
        return "prepared"


def _record_sent(rt: Runtime, message_id: int, found: GraphMessage) -> str:
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        if message.status != "prepared":
            return message.status
        mark_sent(message, sent_at=found.sent_at or datetime.now(timezone.utc), provider_message_id=found.id,
                  provider_thread_id=found.conversation_id)
        message.internet_message_id = found.internet_message_id or message.internet_message_id
        message.status_detail = None
        user_id, public_id, thread_id = message.user_id, message.public_id, message.provider_thread_id
    publish_send_event(rt, user_id, {"event": "message.sent", "message_id": public_id, "thread_id": thread_id})
    return "sent"


def sweep_prepared(rt: Runtime, *, provider_for, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict:
    """The scheduled look for every prepared message that is due; abandons those older than a day."""
    now = now or utcnow()
    with rt.db.session() as session:
        rows = session.execute(
            select(TrackedMessage.id, TrackedMessage.account_id, TrackedMessage.created_at,
                   TrackedMessage.client_seen)
            .join(MailAccount, MailAccount.id == TrackedMessage.account_id)
            .where(TrackedMessage.status == "prepared", TrackedMessage.provider == "outlook",
                   MailAccount.status == "connected")
            .order_by(TrackedMessage.id).limit(limit)).all()
    due: dict[int, list[int]] = defaultdict(list)
    for message_id, account_id, created, seen in rows:
        if float((seen or {}).get("next_lookup_at", 0)) <= _epoch(now) or now - created >= ABANDON_AFTER:
            due[account_id].append(message_id)
    counts = {"checked": 0, "sent": 0, "abandoned": 0, "failed": 0}
    for account_id, message_ids in due.items():
        _sweep_account(rt, account_id, message_ids, provider_for=provider_for, now=now, counts=counts)
    if counts["checked"]:
        log.info("outlook sent-copy sweep", extra=counts)
    return counts


def _sweep_account(rt: Runtime, account_id: int, message_ids: list[int], *, provider_for, now: datetime,
                   counts: dict) -> None:
    with rt.db.session() as session:
        account = session.get(MailAccount, account_id)
        session.expunge(account)
    try:
        provider = provider_for(rt, account)
        for message_id in message_ids:
            counts["checked"] += 1
            status = _look(rt, provider, message_id, now=now)
            if status in ("sent", "abandoned"):
                counts[status] += 1
    except GrantRevoked as exc:
        with rt.db.transaction() as session:
            acc = session.get(MailAccount, account_id)
            acc.status, acc.status_reason = "disconnected", exc.message[:255]
        counts["failed"] += 1
    except ProviderError as exc:
        # Graph is having trouble with this mailbox: the next sweep tries again, the day's deadline still holds.
        log.warning("outlook sent-copy lookup failed", extra={"why": exc.message})
        counts["failed"] += 1
