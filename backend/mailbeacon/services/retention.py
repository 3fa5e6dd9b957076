"""Short retention: hits, notifications and the sender's activity footprints older than the configured number of
days are deleted. Messages and their links stay, so links in old mail keep redirecting; their summary is an
aggregate (counts and times), not a record of anyone's behaviour.

Hit batches that failed for good (the embedded spool's failed/ folder; RQ's failed registry expires its own) hold
full client addresses, so they go after FAILED_HIT_BATCH_SECONDS, whatever the retention period."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from ..jobs.queues import FAILED_HIT_BATCH_SECONDS
from ..jobs.spool import Spool
from ..runtime import Runtime
from ..storage.models import Hit, Notification, SenderActivity, utcnow


def purge_expired(rt: Runtime, *, days: int | None = None) -> dict[str, int]:
    days = days or rt.config.retention_days
    cutoff = utcnow() - timedelta(days=days)
    with rt.db.transaction() as session:
        notifications = session.execute(delete(Notification).where(Notification.created_at < cutoff)).rowcount
        hits = session.execute(delete(Hit).where(Hit.occurred_at < cutoff)).rowcount
        activity = session.execute(delete(SenderActivity).where(SenderActivity.at < cutoff)).rowcount
    return {"hits": hits or 0, "notifications": notifications or 0, "sender_activity": activity or 0,
            "failed_batches": Spool(rt.config.spool_dir).expire_set_aside(FAILED_HIT_BATCH_SECONDS),
            "older_than_days": days}

