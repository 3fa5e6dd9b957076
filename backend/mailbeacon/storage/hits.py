"""Reads of one message's hits that the worker makes while recording a batch, and that must stay bounded however
many hits the message has: each walks ix_hits_message_time (message_id, occurred_at) from one end and stops after
a few rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select, text

from .models import Hit


@contextmanager
def walking_the_index(session) -> Iterator[None]:
    """Keep PostgreSQL on the ordered index scan for a `... ORDER BY occurred_at LIMIT n` read.

    A message that turned hot since the last ANALYZE is estimated at a handful of rows (its id is in no statistics
    yet), and for so few the planner prefers a bitmap scan that fetches every matching hit and sorts them: every
    hit in the window, which for a backlog being drained is all of the message's. With bitmap scans off for this
    one statement it walks the index from the end and stops at the limit: 0.03 ms instead of 57 ms with 50,000
    hits in the window (bench/drain.py's message). SQLite walks the index here on its own.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    yield
    # Not in a `finally`: after a failed statement the transaction takes no more commands, and rolls the SET back.
    if postgres:
        session.execute(text("SET LOCAL enable_bitmapscan TO DEFAULT"))


def recent_hits(session, message_id: int, *, since: datetime, limit: int) -> list[Hit]:
    """The message's latest `limit` hits at or after `since`, oldest first."""
    # Exactly the index's order, with no tie-break on id: for a message it believes small the planner sorts the
    # whole window to apply one, rather than sorting ties step by step (hits in the same microsecond are one
    # moment to every rule anyway).
    query = (select(Hit).where(Hit.message_id == message_id, Hit.occurred_at >= since)
             .order_by(Hit.occurred_at.desc()).limit(limit))
    with walking_the_index(session):
        latest_first = session.scalars(query).all()
    return list(reversed(latest_first))


def human_edge_time(session, message_id: int, hit_type: str, kinds: frozenset[str], *, link_id: int | None,
                    latest: bool) -> datetime | None:
    """The time of the message's first (or last) counted hit of `hit_type` and one of `kinds` (on `link_id`, if
    given). It reads only the hits between that end and the nearest match, which is short unless a long run of
    machine hits lies in between; the summary needs it only when the hit that held the time stops being human."""
    query = select(Hit.occurred_at).where(Hit.message_id == message_id, Hit.counted.is_(True),
                                          Hit.hit_type == hit_type, Hit.kind.in_(sorted(kinds)))
    if link_id is not None:
        query = query.where(Hit.link_id == link_id)
    order = Hit.occurred_at.desc() if latest else Hit.occurred_at.asc()
    with walking_the_index(session):
        return session.scalar(query.order_by(order).limit(1))
