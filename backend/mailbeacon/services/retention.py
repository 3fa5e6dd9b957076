"""Short retention: hits, notifications and the sender's activity footprints older than the configured number of
days are deleted. Messages and their links stay, so links in old mail keep redirecting; their summary is an
aggregate (counts and times), not a record of anyone's behaviour.

Hit batches that failed for good (the embedded spool's failed/ folder; RQ's failed registry expires its own) hold
full client addresses, so they go after FAILED_HIT_BATCH_SECONDS, whatever the retention period."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete

from ..jobs.queues import FAILED_HIT_BATCH_SECONDS

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
            "failed_batches": _expire_failed_batches(Path(rt.config.spool_dir)),
            "older_than_days": days}


def _expire_failed_batches(spool: Path) -> int:
    """Batches set aside after their last attempt (failed/*.batch) and ones that could not be read (*.corrupt)."""
    cutoff = time.time() - FAILED_HIT_BATCH_SECONDS
    removed = 0
    try:
        paths = [*spool.glob("failed/*.batch"), *spool.glob("*.corrupt")]
    except OSError:
        return 0
    for path in paths:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # retried or removed meanwhile
        except OSError:
            logging.getLogger(__name__).warning("could not remove an expired failed batch", exc_info=True)
    return removed
