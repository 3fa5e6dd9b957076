"""The message summary (first and last human open, counts, clicks per link), recomputed from the stored hits.

Recomputing instead of incrementing makes a batch that is processed twice, or hits re-classified by a later
burst, leave the summary right.
"""

from __future__ import annotations

from sqlalchemy import func, select

from .models import Hit, Link, TrackedMessage


def refresh_summary(session, message: TrackedMessage, open_kinds: frozenset[str], click_kinds: frozenset[str]) -> None:
    rows = session.execute(
        select(Hit.hit_type, Hit.kind, Hit.link_id, func.count(), func.min(Hit.occurred_at), func.max(Hit.occurred_at))
        .where(Hit.message_id == message.id, Hit.counted.is_(True))
        .group_by(Hit.hit_type, Hit.kind, Hit.link_id)).all()
    opens = machine_opens = clicks = machine_clicks = 0
    first_open = last_open = first_click = last_click = None
    per_link: dict[int, list] = {}
    for hit_type, kind, link_id, count, first, last in rows:
        if kind == "self":
            continue  # the sender's own reading is kept for the timeline, never counted
        if hit_type == "open":
            if kind in open_kinds:
                opens += count
                first_open = first if first_open is None or first < first_open else first_open
                last_open = last if last_open is None or last > last_open else last_open
            else:
                machine_opens += count
        else:
            entry = per_link.setdefault(link_id, [0, 0, None, None])
            if kind in click_kinds:
                clicks += count
                entry[0] += count
                first_click = first if first_click is None or first < first_click else first_click
                last_click = last if last_click is None or last > last_click else last_click
                entry[2] = first if entry[2] is None or first < entry[2] else entry[2]
                entry[3] = last if entry[3] is None or last > entry[3] else entry[3]
            else:
                machine_clicks += count
                entry[1] += count
    message.human_open_count, message.machine_open_count = opens, machine_opens
    message.first_opened_at, message.last_opened_at = first_open, last_open
    message.human_click_count, message.machine_click_count = clicks, machine_clicks
    message.first_clicked_at, message.last_clicked_at = first_click, last_click
    for link in session.scalars(select(Link).where(Link.message_id == message.id)):
        human, machine, first, last = per_link.get(link.id, [0, 0, None, None])
        link.human_click_count, link.machine_click_count = human, machine
        link.first_clicked_at, link.last_clicked_at = first, last
