"""The message summary: human and machine open and click counts, first and last human open and click, and the
same per link.

A batch changes the summary only through the hits it inserted and the stored hits whose kind it changed (a later
burst turning earlier hits into scanner hits), so `apply_summary_change` applies exactly those deltas: the cost
of a batch does not grow with the hits its message already has. Counts and times that only move forward are
exact that way. A time can move backwards only when the hit that held it stops being human; then that one time
is looked up again (storage/hits.py `human_edge_time`, an index walk from that end to the nearest person's hit),
which is as rare as a burst that re-classifies the message's latest or earliest human hit.

`recompute_summary` is the full GROUP BY over every counted hit of the message: the reference the incremental
path is tested against, and the repair for a summary believed wrong. It is not the worker's fallback, because
the retention purge deletes old hits and leaves the summary as the aggregate of everything ever recorded (see
services/retention.py): recomputing a purged message from the hits that are left would forget the purged ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from .hits import human_edge_time
from .models import Hit, Link, TrackedMessage

HUMAN, MACHINE = "human", "machine"


@dataclass
class SummaryChange:
    """What one batch did to one message's hits."""

    inserted: list[Hit] = field(default_factory=list)
    reclassified: list[tuple[Hit, str]] = field(default_factory=list)  # (hit, the kind it had before)


@dataclass(frozen=True)
class SummaryKinds:
    """Which kinds count as a person's open or click; every other kind but `self` is a machine's."""

    open_kinds: frozenset[str]
    click_kinds: frozenset[str]

    def side(self, hit_type: str, kind: str) -> str | None:
        if kind == "self":
            return None  # the sender's own reading is kept for the timeline, never counted
        human = kind in (self.open_kinds if hit_type == "open" else self.click_kinds)
        return HUMAN if human else MACHINE


def apply_summary_change(session, message: TrackedMessage, links: list[Link], change: SummaryChange,
                         kinds: SummaryKinds) -> None:
    """Bring the summary up to date with one batch's change. The caller holds the message's row lock, so the
    values read from the row are the latest and no other worker applies a delta in between."""
    by_id = {link.id: link for link in links}
    # (hit type, link id or None for the message's own, "first" or "last"): times whose holder stopped being human
    stale: set[tuple[str, int | None, str]] = set()
    for hit in change.inserted:
        if hit.counted:
            _add(message, by_id, hit, kinds.side(hit.hit_type, hit.kind))
    for hit, before in change.reclassified:
        old, new = kinds.side(hit.hit_type, before), kinds.side(hit.hit_type, hit.kind)
        if not hit.counted or old == new:
            continue  # a scanner hit that was a prefetch hit before moves nothing
        stale |= _remove(message, by_id, hit, old)
        _add(message, by_id, hit, new)
    if stale:
        session.flush()  # the edge look-ups must see this batch's rows and kinds
        _refresh_edge_times(session, message, by_id, stale, kinds)


def _add(message: TrackedMessage, links: dict[int, Link], hit: Hit, side: str | None) -> None:
    if side is None:
        return
    at = hit.occurred_at
    if hit.hit_type == "open":
        if side == HUMAN:
            message.human_open_count += 1
            message.first_opened_at, message.last_opened_at = _widen(message.first_opened_at,
                                                                     message.last_opened_at, at)
        else:
            message.machine_open_count += 1
        return
    link = links.get(hit.link_id) if hit.link_id is not None else None
    if side == HUMAN:
        message.human_click_count += 1
        message.first_clicked_at, message.last_clicked_at = _widen(message.first_clicked_at,
                                                                   message.last_clicked_at, at)
        if link is not None:
            link.human_click_count += 1
            link.first_clicked_at, link.last_clicked_at = _widen(link.first_clicked_at, link.last_clicked_at, at)
    else:
        message.machine_click_count += 1
        if link is not None:
            link.machine_click_count += 1


def _remove(message: TrackedMessage, links: dict[int, Link], hit: Hit, side: str | None
            ) -> set[tuple[str, int | None, str]]:
    """Take a hit out of the side it was counted on; return the first and last times it may have held."""
    stale: set[tuple[str, int | None, str]] = set()
    if side is None:
        return stale
    at = hit.occurred_at
    link = links.get(hit.link_id) if hit.link_id is not None else None
    if hit.hit_type == "open":
        if side == MACHINE:
            message.machine_open_count -= 1
            return stale
        message.human_open_count -= 1
        stale |= {("open", None, end) for end in _edges_held(message.first_opened_at, message.last_opened_at, at)}
        return stale
    if side == MACHINE:
        message.machine_click_count -= 1
        if link is not None:
            link.machine_click_count -= 1
        return stale
    message.human_click_count -= 1
    stale |= {("click", None, end) for end in _edges_held(message.first_clicked_at, message.last_clicked_at, at)}
    if link is not None:
        link.human_click_count -= 1
        stale |= {("click", link.id, end) for end in _edges_held(link.first_clicked_at, link.last_clicked_at, at)}
    return stale


def _widen(first: datetime | None, last: datetime | None, at: datetime) -> tuple[datetime, datetime]:
    return (at if first is None or at < first else first), (at if last is None or at > last else last)


def _edges_held(first: datetime | None, last: datetime | None, at: datetime) -> set[str]:
    # <= and >= rather than ==: a time that somehow lies outside the range must be looked up again too.
    held = set()
    if first is None or at <= first:
        held.add("first")
    if last is None or at >= last:
        held.add("last")
    return held


def _refresh_edge_times(session, message: TrackedMessage, links: dict[int, Link],
                        stale: set[tuple[str, int | None, str]], kinds: SummaryKinds) -> None:
    for hit_type, link_id in {(hit_type, link_id) for hit_type, link_id, _ in stale}:
        target, count, first_attr, last_attr = _scope(message, links, hit_type, link_id)
        if getattr(target, count) <= 0:
            setattr(target, first_attr, None)
            setattr(target, last_attr, None)
            continue
        human = kinds.open_kinds if hit_type == "open" else kinds.click_kinds
        # Only the end the hit held is looked up: the other may belong to a hit the retention purge deleted (it
        # deletes hits, never the summary), which no look-up could find again.
        if (hit_type, link_id, "first") in stale:
            first = human_edge_time(session, message.id, hit_type, human, link_id=link_id, latest=False)
            # The hit that held the first time survived the purge, which deletes only hits older than those it
            # keeps: so no earlier person's hit of the scope was purged, and the look-up finds the true first.
            setattr(target, first_attr, first or getattr(target, first_attr))
        if (hit_type, link_id, "last") in stale:
            last = human_edge_time(session, message.id, hit_type, human, link_id=link_id, latest=True)
            # None left while the count says there were more: the purge took them and their latest time with
            # them; the first time is the latest still known to be a person's.
            setattr(target, last_attr, last or getattr(target, first_attr))


def _scope(message: TrackedMessage, links: dict[int, Link], hit_type: str, link_id: int | None
           ) -> tuple[object, str, str, str]:
    """The row and the column names holding a scope's human count and its first and last time."""
    if link_id is not None:
        return links[link_id], "human_click_count", "first_clicked_at", "last_clicked_at"
    if hit_type == "open":
        return message, "human_open_count", "first_opened_at", "last_opened_at"
    return message, "human_click_count", "first_clicked_at", "last_clicked_at"


def recompute_summary(session, message: TrackedMessage, kinds: SummaryKinds) -> None:
    """The whole summary again from every stored counted hit of the message: the reference and the repair path."""
    rows = session.execute(
        select(Hit.hit_type, Hit.kind, Hit.link_id, func.count(), func.min(Hit.occurred_at), func.max(Hit.occurred_at))
        .where(Hit.message_id == message.id, Hit.counted.is_(True))
        .group_by(Hit.hit_type, Hit.kind, Hit.link_id)).all()
    opens = machine_opens = clicks = machine_clicks = 0
    first_open = last_open = first_click = last_click = None
    per_link: dict[int, list] = {}
    for hit_type, kind, link_id, count, first, last in rows:
        side = kinds.side(hit_type, kind)
        if side is None:
            continue
        if hit_type == "open":
            if side == HUMAN:
                opens += count
                first_open = first if first_open is None or first < first_open else first_open
                last_open = last if last_open is None or last > last_open else last_open
            else:
                machine_opens += count
        else:
            entry = per_link.setdefault(link_id, [0, 0, None, None])
            if side == HUMAN:
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
