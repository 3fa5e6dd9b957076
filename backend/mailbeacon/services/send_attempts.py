"""The bookkeeping of a tracked send, the same whichever provider sends it (services/send_gmail.py, send_graph.py).

- Every run of a send job is counted before it does anything (`client_seen["attempts"]`), so a run knows when it is
  the last one; a message already sent or failed is never attempted again, which makes running a job twice safe.
- A run ends the same way for both providers (`run_send`): sent, failed for a stated reason, or handed back to the
  job runner to try again while attempts remain.
- Only the draft on screen is sent: `compare_with_screen` says what differs between a fetched draft and what the
  client saw, naming no content.
- A send ends once, either way: sent (the stashed original dropped, the sender told) or failed (the draft put back
  by the provider's own means, the sender told why).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..jobs.runner import SEND_RETRY_INTERVALS, RetryLater
from ..providers.base import GrantRevoked, PermanentProviderError, TransientProviderError
from ..runtime import Runtime
from ..storage.messages import link_destinations
from ..storage.models import MailAccount, TrackedMessage
from ..tracking.envelope import MalformedMessage, read_envelope
from ..tracking.fingerprint import draft_text_digest
from .prepare import mark_sent
from .send_events import publish_send_event

MAX_ATTEMPTS = 1 + len(SEND_RETRY_INTERVALS)
FINAL_STATUSES = ("sent", "failed")


class SendFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Mismatch:
    field: str
    detail: str


def _addresses(values) -> set[str]:
    out = set()
    for value in values or []:
        for _name, addr in email.utils.getaddresses([str(value)]):
            if addr:
                out.add(addr.strip().lower())
    return out


def compare_with_screen(raw: bytes, seen: dict) -> Mismatch | None:
    """None when the draft is the one the client showed; else what differs (names no content)."""
    try:
        env = read_envelope(raw)
    except MalformedMessage as exc:
        return Mismatch("mime", getattr(exc, "reason", str(exc)))
    for field, got in (("to", env.to), ("cc", env.cc), ("bcc", env.bcc)):
        if field in seen and _addresses(seen.get(field)) != _addresses(got):
            return Mismatch(field, f"the draft's {field.upper()} recipients differ from the screen")
    if "subject" in seen and " ".join((seen.get("subject") or "").split()) != " ".join(env.subject.split()):
        return Mismatch("subject", "the draft's subject differs from the screen")
    wanted = seen.get("text_sha256")
    if wanted and draft_text_digest(raw) != wanted.lower():
        return Mismatch("text", "the draft's text differs from the screen")
    return None


@dataclass(frozen=True)
class Attempt:
    number: int  # 1 on the first run of the job
    account: MailAccount | None  # None when the account can't send: disconnected, or holding no grant


def begin_attempt(rt: Runtime, message_id: int) -> Attempt | str:
    """Count one more attempt and mark the message sending. A message already sent or failed, or gone, is not
    attempted again: its status ("missing" when gone) comes back instead of an Attempt."""
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        if message is None or message.status in FINAL_STATUSES:
            return message.status if message is not None else "missing"
        number = int((message.client_seen or {}).get("attempts", 0)) + 1
        message.client_seen = {**(message.client_seen or {}), "attempts": number}
        message.status = "sending"
        account = session.get(MailAccount, message.account_id) if message.account_id else None
        usable = account is not None and account.status == "connected" and bool(account.encrypted_secret)
    return Attempt(number=number, account=account if usable else None)


def run_send(rt: Runtime, message_id: int, *, provider_for: Callable[[Runtime, MailAccount], Any],
             attempt: Callable[[Runtime, int, Any], str], fail: Callable[..., str], not_connected: str,
             refused_code: str, gave_up: Callable[[Exception], tuple[str, str]]) -> str:
    """One run of a send job: `attempt` does the provider's work; every way it can end is decided here. `fail`
    records a failure (given the provider once there is one, to put the draft back), `gave_up` says why the last
    attempt failed. Returns the final status; raises RetryLater while attempts remain."""
    started = begin_attempt(rt, message_id)
    if isinstance(started, str):
        return started
    if started.account is None:
        return fail(rt, message_id, "account_disconnected", not_connected)
    provider = None
    try:
        provider = provider_for(rt, started.account)
        return attempt(rt, message_id, provider)
    except GrantRevoked as exc:
        disconnect_account(rt, started.account.id, exc.message)
        return fail(rt, message_id, "reconnect", exc.message)
    except SendFailed as exc:
        return fail(rt, message_id, exc.code, exc.message, provider=provider)
    except (TransientProviderError, RetryLater) as exc:
        if started.number >= MAX_ATTEMPTS:
            return fail(rt, message_id, *gave_up(exc), provider=provider)
        raise RetryLater(str(exc), after=getattr(exc, "retry_after", None) or getattr(exc, "after", None)) from exc
    except PermanentProviderError as exc:
        return fail(rt, message_id, refused_code, exc.message, provider=provider)


def disconnect_account(rt: Runtime, account_id: int, reason: str) -> None:
    """The provider revoked our grant: the account sends nothing more until its owner reconnects it."""
    with rt.db.transaction() as session:
        account = session.get(MailAccount, account_id)
        account.status, account.status_reason = "disconnected", reason[:255]


def cache_link_destinations(rt: Runtime, message_id: int) -> None:
    """Once a draft is tracked, its click redirects are answered from the cache, before any worker has run."""
    from ..web.destinations import cache_destinations  # imported here: web/ imports the services

    with rt.db.session() as session:
        cache_destinations(rt.redis, message_id, link_destinations(session, message_id))


def record_sent(rt: Runtime, message_id: int, *, sent_at: datetime, provider_message_id: str | None,
                provider_thread_id: str | None, internet_message_id: str | None = None) -> str:
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        mark_sent(message, sent_at=sent_at, provider_message_id=provider_message_id,
                  provider_thread_id=provider_thread_id)
        if internet_message_id:
            message.internet_message_id = internet_message_id
        message.status_detail = None
        message.stashed_original = None
        user_id, public_id, thread_id = message.user_id, message.public_id, message.provider_thread_id
    publish_send_event(rt, user_id, {"event": "message.sent", "message_id": public_id, "thread_id": thread_id})
    return "sent"


@dataclass(frozen=True)
class Unsent:
    """What a failed send leaves to undo: where the draft is, and the user's own version, encrypted."""
    draft_id: str | None
    provider_message_id: str | None
    tracked_digest: str | None
    stashed_original: str


def record_failed(rt: Runtime, message_id: int, code: str, detail: str, *,
                  restore: Callable[[Unsent], None] | None = None) -> str:
    """Mark the send failed; when the draft had been changed, `restore` puts it back before the sender is told."""
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        message.status, message.status_detail = "failed", f"{code}: {detail}"
        stash = message.stashed_original
        unsent = Unsent(draft_id=message.provider_draft_id, provider_message_id=message.provider_message_id,
                        tracked_digest=message.tracked_digest, stashed_original=stash) if stash else None
        message.stashed_original = None
        user_id, public_id = message.user_id, message.public_id
    if restore is not None and unsent is not None:
        restore(unsent)
    publish_send_event(rt, user_id, {"event": "message.failed", "message_id": public_id, "code": code,
                                     "message": detail})
    return "failed"
