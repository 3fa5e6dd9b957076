"""After a human open, an Outlook category ("Opened") on the sent copy, so the status shows in Outlook's own
message list, which no add-in can draw on. Off unless the sender turned it on (settings: outlook.opened_category).

The hit pipeline calls `on_human_open(rt, message_id)` after it has stored a human open; that only enqueues a job
(on the notify queue), so a slow or failing Graph never holds up hits.
"""

from __future__ import annotations

import logging

from ..jobs import queues
from ..jobs.runner import RetryLater, enqueue
from ..providers.base import GrantRevoked, NotFound, PermanentProviderError, TransientProviderError
from ..runtime import Runtime
from ..storage.models import MailAccount, TrackedMessage, UserSettings

log = logging.getLogger(__name__)

OPENED_CATEGORY = "Opened"
JOB = "mailbeacon.jobs.outlook.set_opened_category"


def _wanted(session, message: TrackedMessage | None) -> bool:
    if message is None or message.provider != "outlook" or message.status != "sent" or not message.provider_message_id:
        return False
    if (message.client_seen or {}).get("opened_category"):
        return False  # done once; the sender may remove it in Outlook, and we don't put it back
    settings = session.get(UserSettings, message.user_id)
    return bool(settings is not None and settings.outlook_opened_category)


def on_human_open(rt: Runtime, message_id: int) -> bool:
    """The hit pipeline's hook, called after a human open of `message_id` is committed. True if a job was queued."""
    with rt.db.session() as session:
        if not _wanted(session, session.get(TrackedMessage, message_id)):
            return False
    enqueue(rt, JOB, message_id, queue_name=queues.NOTIFY)
    return True


def _mark_done(rt: Runtime, message_id: int, outcome: str) -> None:
    with rt.db.transaction() as session:
        message = session.get(TrackedMessage, message_id)
        if message is not None:
            message.client_seen = {**(message.client_seen or {}), "opened_category": outcome}


def set_opened_category(rt: Runtime, message_id: int, *, provider_for) -> str:
    """Add the category to the sent copy (keeping the sender's own). Returns what happened."""
    with rt.db.session() as session:
        message = session.get(TrackedMessage, message_id)
        if not _wanted(session, message):
            return "skipped"
        immutable_id = message.provider_message_id
        account = session.get(MailAccount, message.account_id) if message.account_id else None
        if account is None or account.status != "connected":
            return "skipped"
        session.expunge(account)
    try:
        provider = provider_for(rt, account)
        current = provider.get_message(message_id=immutable_id)
        if OPENED_CATEGORY.casefold() not in (c.casefold() for c in current.categories):
            provider.set_categories(message_id=immutable_id, categories=[*current.categories, OPENED_CATEGORY])
    except NotFound:
        _mark_done(rt, message_id, "gone")  # the sender deleted the sent copy
        return "gone"
    except TransientProviderError as exc:
        raise RetryLater(str(exc), after=exc.retry_after) from exc
    except GrantRevoked as exc:
        with rt.db.transaction() as session:
            acc = session.get(MailAccount, account.id)
            acc.status, acc.status_reason = "disconnected", exc.message[:255]
        return "disconnected"
    except PermanentProviderError as exc:
        log.warning("could not set the Outlook category", extra={"why": exc.message})
        _mark_done(rt, message_id, "refused")
        return "refused"
    _mark_done(rt, message_id, "set")
    return "set"
