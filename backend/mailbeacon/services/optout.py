"""A recipient's opt-out: from then on their hits on this message are not recorded and mail to them is sent
untracked, by every sender on this deployment (the law asks for consent, not for per-sender bookkeeping)."""

from __future__ import annotations

from sqlalchemy import select

from ..runtime import Runtime
from ..storage import donottrack
from ..storage.models import TrackedMessage, utcnow


def message_for_optout(rt: Runtime, message_id: int) -> TrackedMessage | None:
    with rt.db.session() as session:
        return session.scalar(select(TrackedMessage).where(TrackedMessage.id == message_id))


def opt_out(rt: Runtime, message_id: int) -> int:
    """Record the opt-out; returns how many addresses were added to the global do-not-track list."""
    with rt.db.transaction() as session:
        message = session.scalar(select(TrackedMessage).where(TrackedMessage.id == message_id))
        if message is None:
            return 0
        if message.opted_out_at is None:
            message.opted_out_at = utcnow()
        added = 0
        for address in message.recipients or []:
            try:
                donottrack.add_entry(session, address, user_id=None, source="optout")
                added += 1
            except ValueError:
                continue
        return added
