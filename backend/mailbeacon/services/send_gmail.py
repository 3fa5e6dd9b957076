"""send_tracked_gmail: fetch the draft the sender is looking at, track it, replace it, send it — once.

Rules the code keeps, in order of importance:
- never send a draft that isn't the one on screen (recipients, subject and a digest of the text must match what
  the client saw; while Gmail's copy is stale we wait and refetch, a bounded number of times);
- never send twice: a retry first checks whether the draft it replaced is still there (drafts.send is what
  removes it; gmail.compose, the narrow scope we ask for, cannot read Sent), and a send whose answer was lost
  counts as sent when the draft is gone;
- on failure leave the draft as the user wrote it, untracked and unsent, and say why.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from datetime import datetime, timezone
from functools import partial

from ..providers.base import Draft, MailProvider, NotFound, ProviderError, SentMessage, TransientProviderError
from ..runtime import Runtime
from ..storage.models import TrackedMessage, User
from ..tracking.envelope import read_envelope
from .prepare import RefusedMessage, prepare_tracked_message
from .send_attempts import (SendFailed, Unsent, cache_link_destinations, compare_with_screen, record_failed,
                            record_sent, run_send)

log = logging.getLogger(__name__)

STALE_WAITS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # ~12 s in all: Gmail's autosave lands within a few seconds


def _ensure_message_id(raw: bytes, message: TrackedMessage, rt: Runtime) -> tuple[bytes, str]:
    """The Message-ID that lets a retry find this message in Sent. Added at the top only when the draft has none."""
    env = read_envelope(raw)
    if env.message_id:
        return raw, env.message_id
    host = rt.config.public_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "mailbeacon.invalid"
    value = f"<mb.{message.public_id}.{int(time.time())}@{host}>"
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    return f"Message-ID: {value}".encode("ascii") + newline + raw, value


def send_tracked_gmail(rt: Runtime, message_id: int, *, provider_for, sleep=time.sleep) -> str:
    """Run (or re-run) the send of one message. Returns the final status; raises RetryLater to be run again."""
    return run_send(rt, message_id, provider_for=provider_for, attempt=partial(_attempt, sleep=sleep), fail=_fail,
                    not_connected="Your Google account is not connected; reconnect it and send again.",
                    refused_code="gmail_refused",
                    gave_up=lambda exc: ("gave_up", f"Gmail kept failing ({exc}); the draft was not sent."))


def _attempt(rt: Runtime, message_id: int, provider: MailProvider, *, sleep) -> str:
    with rt.db.session() as session:
        message = session.get(TrackedMessage, message_id)
        draft_id, seen = message.provider_draft_id, dict(message.client_seen or {})
        digest, thread_id = message.tracked_digest, message.provider_thread_id
    if digest and not _draft_exists(provider, draft_id):
        # An earlier attempt replaced the draft and sent it, and the answer was lost (gmail.compose can't read
        # Sent, but drafts.send is what removes a draft): it went out.
        return _sent(rt, message_id, SentMessage(message_id="", thread_id=thread_id))
    draft = _fetch_matching_draft(provider, draft_id, seen, digest, sleep=sleep)
    if digest and hashlib.sha256(draft.raw).hexdigest() == digest:
        tracked_raw = draft.raw  # our own tracked version from the last attempt: don't track the tracking
    else:
        tracked_raw = _track(rt, message_id, draft)
        provider.replace_draft(draft_id=draft_id, raw=tracked_raw, thread_id=draft.thread_id)
    try:
        sent = provider.send_draft(draft_id=draft_id)
    except (NotFound, TransientProviderError):
        # The send may have happened with its answer lost (a dropped connection is resent by the HTTP layer and
        # then finds the draft gone). Only a draft that is still there proves it did not.
        if _draft_exists(provider, draft_id):
            raise
        sent = SentMessage(message_id="", thread_id=draft.thread_id)
    return _sent(rt, message_id, sent)


def _draft_exists(provider: MailProvider, draft_id: str) -> bool:
    try:
        provider.fetch_draft(draft_id=draft_id)
        return True
    except NotFound:
        return False


def _fetch_matching_draft(provider: MailProvider, draft_id: str, seen: dict, digest: str | None, *, sleep) -> Draft:
    mismatch = None
    for wait in (0.0,) + STALE_WAITS:
        if wait:
            sleep(wait)
        try:
            draft = provider.fetch_draft(draft_id=draft_id)
        except NotFound:
            raise SendFailed("draft_missing", "Gmail has no such draft any more (was it sent or discarded?).")
        if digest and hashlib.sha256(draft.raw).hexdigest() == digest:
            return draft
        mismatch = compare_with_screen(draft.raw, seen)
        if mismatch is None:
            return draft
        log.info("draft still stale", extra={"field": mismatch.field})
    raise SendFailed("stale_draft", f"Gmail's copy of the draft never matched the screen: {mismatch.detail}. "
                                    "Nothing was sent; try again in a moment.")


def _track(rt: Runtime, message_id: int, draft: Draft) -> bytes:
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        user = session.get(User, message.user_id)
        try:
            prepared = prepare_tracked_message(rt, session, user=user, raw=draft.raw,
                                               track_opens=message.requested_opens,
                                               track_clicks=message.requested_clicks, provider="gmail",
                                               account_id=message.account_id, message=message)
        except RefusedMessage as exc:
            raise SendFailed(exc.code, f"The draft could not be tracked: {exc}") from None
        raw, mid = _ensure_message_id(prepared.raw, message, rt)
        message.internet_message_id = mid
        message.stashed_original = rt.secrets.encrypt(base64.b64encode(draft.raw).decode("ascii"))
        message.provider_thread_id = draft.thread_id or message.provider_thread_id
        message.tracked_digest = hashlib.sha256(raw).hexdigest()
    cache_link_destinations(rt, message_id)
    return raw


def _sent(rt: Runtime, message_id: int, sent: SentMessage) -> str:
    when = (datetime.fromtimestamp(sent.internal_date_ms / 1000, tz=timezone.utc) if sent.internal_date_ms
            else datetime.now(timezone.utc))
    return record_sent(rt, message_id, sent_at=when, provider_message_id=sent.message_id or None,
                       provider_thread_id=sent.thread_id)


def _fail(rt: Runtime, message_id: int, code: str, detail: str, *, provider: MailProvider | None = None) -> str:
    """Mark the send failed and put the draft back the way the user wrote it, if we had changed it."""
    restore = partial(_restore_draft, rt, provider) if provider is not None else None
    status = record_failed(rt, message_id, code, detail, restore=restore)
    log.warning("send failed", extra={"code": code})
    return status


def _restore_draft(rt: Runtime, provider: MailProvider, unsent: Unsent) -> None:
    if not (unsent.draft_id and unsent.tracked_digest):
        return
    original = base64.b64decode(rt.secrets.decrypt(unsent.stashed_original))
    try:
        draft = provider.fetch_draft(draft_id=unsent.draft_id)
    except ProviderError:
        return
    if hashlib.sha256(draft.raw).hexdigest() != unsent.tracked_digest:
        return  # the user has changed it since: theirs wins
    try:
        provider.replace_draft(draft_id=unsent.draft_id, raw=original, thread_id=draft.thread_id)
    except ProviderError:
        log.warning("could not restore the draft after a failed send")


def resume_unfinished_sends(rt: Runtime, *, older_than_seconds: float = 30.0) -> int:
    """Embedded mode keeps send jobs in memory: after a restart, hand the unfinished ones to the runner again.
    Safe because a send is idempotent (a draft that is gone was sent)."""
    from datetime import timedelta

    from sqlalchemy import select

    from ..jobs.runner import enqueue
    from ..storage.models import utcnow

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with rt.db.session() as session:
        ids = session.scalars(select(TrackedMessage.id).where(
            TrackedMessage.provider == "gmail", TrackedMessage.status.in_(("queued", "sending")),
            TrackedMessage.created_at < cutoff)).all()
    for message_id in ids:
        enqueue(rt, "mailbeacon.jobs.send.send_message", message_id)
    return len(ids)
