"""send_tracked_graph: the Outlook draft the add-in saved, tracked and sent through Microsoft Graph — once.

The rules are Gmail's (services/send_gmail.py), met with Graph's means, with the bookkeeping both keep in
services/send_attempts.py:
- never send a draft that isn't the one on screen: recipients, subject and text digest must match what the add-in
  saw (compare_with_screen), refetching a bounded number of times while they don't;
- a draft Graph can't see yet (404 right after saving: it hasn't synced) is waited for, bounded, then retried
  later by the job runner;
- 429 and 503 are waited out for as long as their Retry-After says, within a budget per attempt;
- never send twice: the immutable id (which survives the move to Sent Items) tells a retry whether the draft is
  still a draft; a send whose answer was lost is watched for a while before it is ever repeated;
- on failure the draft goes back to what the user wrote, untracked and unsent, and the user is told why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import TypeVar

from ..jobs.runner import RetryLater
from ..providers.base import NotFound, ProviderError, TransientProviderError
from ..providers.graph import GraphMessage, GraphProvider
from ..runtime import Runtime
from ..storage.models import TrackedMessage, User
from .outlook_body import OutlookBody, carries_own_tracking, track_outlook_body, wrap
from .prepare import RefusedMessage
from .send_attempts import (SendFailed, Unsent, cache_link_destinations, compare_with_screen, record_failed,
                            record_sent, run_send)

log = logging.getLogger(__name__)

SYNC_WAITS = (0.5, 1.0, 2.0, 3.0, 4.0)  # a fresh draft's 404: Outlook on the web syncs within seconds
STALE_WAITS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
SETTLE_WAITS = (2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # after a send with no answer: did it go out?
RETRY_AFTER_BUDGET = 60.0  # seconds of Retry-After one attempt waits out before handing back to the job runner
BACKOFF = (1.0, 2.0)  # for a transient failure that names no Retry-After, on requests safe to repeat
T = TypeVar("T")


class _Patience:
    """Retries a Graph call through transient failures, honouring Retry-After, within one attempt's budget."""

    def __init__(self, sleep: Callable[[float], None], budget: float = RETRY_AFTER_BUDGET) -> None:
        self.sleep, self.remaining = sleep, budget

    def call(self, operation: Callable[[], T], *, repeatable: bool = True) -> T:
        tries = 0
        while True:
            try:
                return operation()
            except TransientProviderError as exc:
                # A throttled request (429, or 503 with Retry-After) was refused before it was processed, so even
                # a send may be repeated; anything else is repeated only where repeating is harmless.
                throttled = exc.status in (429, 503) and exc.retry_after is not None
                if not (repeatable or throttled):
                    raise
                wait = exc.retry_after if exc.retry_after is not None else (
                    BACKOFF[tries] if tries < len(BACKOFF) else None)
                if wait is None or wait > self.remaining:
                    raise
                log.info("graph call will be retried", extra={"status": exc.status, "wait": wait})
                self.sleep(wait)
                self.remaining -= wait
                tries += 1


def _update(rt: Runtime, message_id: int, **seen_changes) -> None:
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        message.client_seen = {**(message.client_seen or {}), **seen_changes}


def send_tracked_graph(rt: Runtime, message_id: int, *, provider_for, sleep=time.sleep) -> str:
    """Run (or re-run) the send of one message. Returns the final status; raises RetryLater to be run again."""
    return run_send(rt, message_id, provider_for=provider_for, attempt=partial(_attempt, sleep=sleep), fail=_fail,
                    not_connected="Your Microsoft account is not connected; sign in again and send again.",
                    refused_code="outlook_refused", gave_up=_gave_up)


def _gave_up(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, _NotSynced):
        return "draft_missing", ("Outlook's draft never reached the server, so it could not be sent from there; "
                                 "nothing was sent.")
    return "gave_up", f"Outlook kept failing ({exc}); nothing was sent."


class _NotSynced(RetryLater):
    """Graph still answers 404 for the draft the add-in saved."""


def _attempt(rt: Runtime, message_id: int, provider: GraphProvider, *, sleep) -> str:
    patience = _Patience(sleep)
    with rt.db.session() as session:
        message = session.get(TrackedMessage, message_id)
        rest_id, immutable_id = message.provider_draft_id, message.provider_message_id
        seen, tracked_before = dict(message.client_seen or {}), bool(message.tracked_digest)
    if immutable_id and tracked_before:
        try:
            current = patience.call(lambda: provider.get_message(message_id=immutable_id))
        except NotFound:
            current = None
        if current is None or not current.is_draft:
            if current is None and not seen.get("send_attempted"):
                raise SendFailed("draft_missing", "The draft was deleted before it could be sent.")
            # An earlier attempt's send went out and its answer was lost.
            return _sent(rt, message_id, current)
        draft = current
    else:
        draft = _fetch_synced_draft(provider, rest_id, patience, sleep=sleep)
        with rt.db.transaction() as session:
            message = session.get(TrackedMessage, message_id)
            message.provider_message_id = draft.id
            message.provider_thread_id = draft.conversation_id or message.provider_thread_id
        immutable_id = draft.id
    draft = _matching_draft(provider, draft, seen, patience, sleep=sleep)
    if not draft.is_draft:
        raise SendFailed("not_a_draft", "That item has already been sent; nothing was sent again.")
    with rt.db.session() as session:
        ours = carries_own_tracking(rt, session, message_id, draft.body)
    if not ours:
        tracked = _track(rt, message_id, draft)
        if tracked.content != draft.body:
            patience.call(lambda: provider.update_body(message_id=immutable_id, body_type=tracked.content_type,
                                                       content=tracked.content))
    _update(rt, message_id, send_attempted=True)
    try:
        patience.call(lambda: provider.send(message_id=immutable_id), repeatable=False)
    except (TransientProviderError, NotFound) as exc:
        # No answer, or a 5xx: it may have gone out all the same. Watch the draft before ever sending it again.
        after = _settled(provider, immutable_id, sleep=sleep)
        if after is None or after.is_draft:
            raise exc
        return _sent(rt, message_id, after)
    return _sent(rt, message_id, _sent_copy(provider, immutable_id))


def _fetch_synced_draft(provider: GraphProvider, rest_id: str, patience: _Patience, *, sleep) -> GraphMessage:
    for wait in (0.0,) + SYNC_WAITS:
        if wait:
            sleep(wait)
        try:
            return patience.call(lambda: provider.get_message(message_id=rest_id))
        except NotFound:
            log.info("draft not synced to the server yet")
    raise _NotSynced("Graph does not see the saved draft yet")


def _screen_mismatch(draft: GraphMessage, seen: dict):
    raw = wrap(subject=draft.subject, to=draft.to, cc=draft.cc, bcc=draft.bcc,
               body=OutlookBody(draft.body_type, draft.body))
    return compare_with_screen(raw, seen)


def _matching_draft(provider: GraphProvider, draft: GraphMessage, seen: dict, patience: _Patience,
                    *, sleep) -> GraphMessage:
    mismatch = _screen_mismatch(draft, seen)
    for wait in STALE_WAITS:
        if mismatch is None:
            return draft
        log.info("draft still stale", extra={"field": mismatch.field})
        sleep(wait)
        try:
            draft = patience.call(lambda: provider.get_message(message_id=draft.id))
        except NotFound:
            raise SendFailed("draft_missing", "Outlook has no such draft any more (was it sent or discarded?).") \
                from None
        mismatch = _screen_mismatch(draft, seen)
    if mismatch is None:
        return draft
    raise SendFailed("stale_draft", f"Outlook's copy of the draft never matched the screen: {mismatch.detail}. "
                                    "Nothing was sent; try again in a moment.")


def _settled(provider: GraphProvider, immutable_id: str, *, sleep) -> GraphMessage | None:
    current = None
    for wait in SETTLE_WAITS:
        sleep(wait)
        try:
            current = provider.get_message(message_id=immutable_id)
        except ProviderError:
            continue
        if not current.is_draft:
            return current
    return current


def _sent_copy(provider: GraphProvider, immutable_id: str) -> GraphMessage | None:
    """The sent message's own record (its sent time), if Graph shows it already; sending is asynchronous."""
    try:
        found = provider.get_message(message_id=immutable_id)
    except ProviderError:
        return None
    return None if found.is_draft else found


def _track(rt: Runtime, message_id: int, draft: GraphMessage) -> OutlookBody:
    original = OutlookBody(draft.body_type, draft.body)
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        user = session.get(User, message.user_id)
        try:
            tracked, _prepared = track_outlook_body(
                rt, session, user=user, message=message, subject=draft.subject, to=draft.to, cc=draft.cc,
                bcc=draft.bcc, body=original, track_opens=message.requested_opens,
                track_clicks=message.requested_clicks, internet_message_id=draft.internet_message_id)
        except RefusedMessage as exc:
            raise SendFailed(exc.code, f"The draft could not be tracked: {exc}") from None
        message.stashed_original = rt.secrets.encrypt(json.dumps({"type": original.content_type,
                                                                  "content": original.content}))
        message.tracked_digest = hashlib.sha256(tracked.content.encode("utf-8", "surrogatepass")).hexdigest()
        message.provider_thread_id = draft.conversation_id or message.provider_thread_id
    cache_link_destinations(rt, message_id)
    return tracked


def _sent(rt: Runtime, message_id: int, sent: GraphMessage | None) -> str:
    return record_sent(rt, message_id,
                       sent_at=sent.sent_at if sent and sent.sent_at else datetime.now(timezone.utc),
                       provider_message_id=sent.id if sent else None,
                       provider_thread_id=sent.conversation_id if sent else None,
                       internet_message_id=sent.internet_message_id if sent else None)


def _fail(rt: Runtime, message_id: int, code: str, detail: str, *, provider: GraphProvider | None = None) -> str:
    """Mark the send failed and put the draft back the way the user wrote it, if we had changed it."""
    restore = partial(_restore_draft, rt, provider, message_id) if provider is not None else None
    status = record_failed(rt, message_id, code, detail, restore=restore)
    log.warning("outlook send failed", extra={"code": code})
    return status


def _restore_draft(rt: Runtime, provider: GraphProvider, message_id: int, unsent: Unsent) -> None:
    immutable_id = unsent.provider_message_id
    if not immutable_id:
        return
    original = json.loads(rt.secrets.decrypt(unsent.stashed_original))
    try:
        draft = provider.get_message(message_id=immutable_id)
    except ProviderError:
        return
    with rt.db.session() as session:
        still_ours = draft.is_draft and carries_own_tracking(rt, session, message_id, draft.body)
    if not still_ours:
        return  # sent after all, or changed by the user since: theirs wins
    try:
        provider.update_body(message_id=immutable_id, body_type=original["type"], content=original["content"])
    except ProviderError:
        log.warning("could not restore the Outlook draft after a failed send")
