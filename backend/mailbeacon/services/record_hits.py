"""record_batch: what the worker does with a batch of hits handed on by the request path.

For each hit: check the policy (opt-out, do-not-track), classify it in the context of its message's other hits
(a burst re-classifies the hits around it), de-duplicate, store, apply what changed to the message's summary and
hand a notification on for a human open or click. One transaction per batch, and every hit carries the id it was
given on the request path, so a batch that is run twice (a retry after a crash, a replay from the spool) stores
each hit once.

Nothing here reads a number of the message's hits that grows with the message: the look-back is the latest
PRIOR_HITS_CONSIDERED within PRIOR_WINDOW_SECONDS, and the summary is brought up to date from this batch's changes
alone. A batch into a message holding 50,000 hits costs what it costs into a fresh one (bench/drain.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import select, text, update

from ..runtime import Runtime
from ..storage import donottrack
from ..storage.hits import recent_hits
from ..storage.models import Hit, Link, Notification, SenderActivity, TrackedMessage
from ..storage.summary import SummaryChange, SummaryKinds, apply_summary_change
from ..storage.users import settings_for
from ..tracking import tokens
from ..tracking.classify import HitFacts, Verdict, classify_message
from ..web.clientip import truncate_ip
from .notifications import in_quiet_hours, wants_notification
from .places import place_for

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 10.0      # the same client fetching the same thing again this soon is one event
VIEWING_WINDOW_SECONDS = 120.0       # "I'm looking at this message" counts for hits this long after it
SENDER_IP_WINDOW_SECONDS = 24 * 3600.0
# Bursts and repeats are judged over minutes, not days: a hot message's older hits needn't be reloaded per batch.
PRIOR_WINDOW_SECONDS = 120.0
PRIOR_HITS_CONSIDERED = 50
OPEN_KINDS = frozenset({"human", "proxy_open"})       # a real open (a proxy's has no device or place)
CLICK_KINDS = frozenset({"human"})
SUMMARY_KINDS = SummaryKinds(OPEN_KINDS, CLICK_KINDS)
NOTIFICATION_LOCK_SPACE = 0x6D62  # the first key of our advisory locks on notifications ("mb")


@dataclass
class BatchResult:
    stored: int = 0
    duplicates_skipped: int = 0       # already stored by an earlier run of the same batch
    dropped: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    reclassified: int = 0
    notifications: list[tuple[int, dict]] = field(default_factory=list)
    opened_messages: set[int] = field(default_factory=set)  # messages with a new counted human (or proxy) open

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


def sender_ip_hash(rt: Runtime, ip: str) -> str:
    """The sender's client IPs are kept only as keyed hashes: enough to recognise, useless to read."""
    return hmac.new(rt.config.secret_key.encode(), b"sender-ip:" + ip.encode(), hashlib.sha256).hexdigest()


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def record_batch(rt: Runtime, hits: list[dict], *, networks, enrich: Callable[[HitFacts], HitFacts] | None = None,
                 ) -> BatchResult:
    result = BatchResult()
    by_message: dict[int, list[dict]] = defaultdict(list)
    for hit in hits:
        try:
            by_message[int(hit["message_id"])].append(hit)
        except (KeyError, TypeError, ValueError):
            result.drop("malformed")
    if not by_message:
        return result
    with rt.db.transaction() as session:
        uids = [h.get("uid") for group in by_message.values() for h in group]
        already = set(session.scalars(select(Hit.hit_uid).where(Hit.hit_uid.in_(uids))).all()) if uids else set()
        pending: list[_PendingNote] = []
        for message_id, group in sorted(by_message.items()):
            fresh = [h for h in group if h.get("uid") and h["uid"] not in already]
            result.duplicates_skipped += len(group) - len(fresh)
            if fresh:
                _record_for_message(rt, session, message_id, fresh, networks, enrich, result, pending)
        _insert_notifications(session, pending, result)
    return result


@dataclass
class _PendingNote:
    message: TrackedMessage
    hit: Hit
    links: dict
    settings: object


def _insert_notifications(session, pending: list[_PendingNote], result: BatchResult) -> None:
    """Notifications last, each user's under a lock held until the batch commits.

    Clients page notifications by id ("everything after the last one I saw") and the live stream sends them in id
    order. So a user's notification ids must become visible in the order they were given out: were two workers to
    take ids 10 and 11 and commit 11 first, a client that saw 11 would never ask for 10. Taking each user's lock
    (in user order, so two batches never wait on each other in a cycle) before taking ids makes commit order id
    order. SQLite needs nothing: one writer at a time already commits in id order.
    """
    if not pending:
        return
    session.flush()  # the hits' ids, for the notifications' hit_id
    if session.get_bind().dialect.name == "postgresql":
        for user_id in sorted({p.message.user_id for p in pending}):
            session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                            {"space": NOTIFICATION_LOCK_SPACE, "key": user_id % 2**31})
    notes = [(p.message.user_id, _notification(p.message, p.hit, p.links, p.settings)) for p in pending]
    session.add_all(note for _user, note in notes)
    session.flush()
    result.notifications.extend((user_id, {"id": note.id, **note.payload}) for user_id, note in notes)


def _lock_message(session, message_id: int) -> TrackedMessage | None:
    """The message, locked until the batch commits, so two workers never interleave its hits and summary deltas.

    PostgreSQL: a row lock (READ COMMITTED re-reads the row once the lock is granted). SQLite: the database's
    write lock, taken by a write that changes nothing. The driver begins a transaction only at the first write, so
    without it the summary and the prior hits read here could predate another worker's commit that lands before
    our first insert, and our summary deltas would be applied to stale counts.
    """
    query = select(TrackedMessage).where(TrackedMessage.id == message_id)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        query = query.with_for_update()
    elif dialect == "sqlite":
        table = TrackedMessage.__table__
        # Not `id = id`: writing a key column makes SQLite check every table that references it.
        session.execute(update(table).where(table.c.id == message_id)
                        .values(human_open_count=table.c.human_open_count))
    return session.scalar(query)


def _record_for_message(rt, session, message_id, hits, networks, enrich, result: BatchResult,
                        pending: list[_PendingNote]) -> None:
    message = _lock_message(session, message_id)
    if message is None:
        for _ in hits:
            result.drop("unknown_message")  # deleted, purged, or a token from a dry run
        return
    if message.opted_out_at is not None or donottrack.blocked_recipients(session, message.user_id,
                                                                         message.recipients or []):
        for _ in hits:
            result.drop("opted_out")  # the recipient said no: not recorded at all
        return

    links = {link.position: link for link in session.scalars(select(Link).where(Link.message_id == message_id))}
    earliest = min((float(h.get("at") or 0.0) for h in hits), default=0.0)
    prior = recent_hits(session, message_id, since=_dt(max(0.0, earliest - PRIOR_WINDOW_SECONDS)),
                        limit=PRIOR_HITS_CONSIDERED)
    context = _SenderContext.load(rt, session, message)
    sent_epoch = (message.sent_at or message.created_at).timestamp()

    new_facts: list[HitFacts] = []
    for hit in sorted(hits, key=lambda h: h.get("at") or 0):
        link_index = hit.get("link")
        if hit.get("type") == "click" and link_index not in links:
            result.drop("unknown_link")
            continue
        facts = _facts_for(hit, message, links, sent_epoch, context)
        if enrich is not None:
            try:
                facts = enrich(facts)
            except Exception:
                log.warning("hit enrichment failed; classifying without it", exc_info=True)
        new_facts.append(facts)
    if not new_facts:
        return

    prior_facts = [_facts_from_stored(h) for h in prior]
    verdicts = classify_message(prior_facts + new_facts, networks)
    prior_verdicts, new_verdicts = verdicts[:len(prior)], verdicts[len(prior):]

    change = SummaryChange()
    for stored, verdict in zip(prior, prior_verdicts):
        # A later burst can only make earlier hits look more like a machine: the stored facts lack the full IP,
        # so a re-run can't re-derive network-based verdicts and must not undo them.
        if verdict.kind == "scanner" and stored.kind not in ("scanner", "self"):
            change.reclassified.append((stored, stored.kind))
            stored.kind, stored.reason = verdict.kind, verdict.reason
            result.reclassified += 1

    settings = settings_for(session, message.user_id)
    had_human_open = message.human_open_count > 0
    for facts, verdict in zip(new_facts, new_verdicts):
        hit = _store(session, message, links, facts, verdict, prior, place_for(facts, verdict.kind, networks))
        prior.append(hit)
        change.inserted.append(hit)
        result.stored += 1
        result.kinds[verdict.kind] = result.kinds.get(verdict.kind, 0) + 1
        if hit.counted and wants_notification(settings, hit, first_open=not had_human_open):
            pending.append(_PendingNote(message, hit, links, settings))
        if hit.counted and hit.hit_type == "open" and hit.kind in OPEN_KINDS:
            had_human_open = True
            result.opened_messages.add(message.id)
    apply_summary_change(session, message, list(links.values()), change, SUMMARY_KINDS)
    session.flush()


@dataclass
class _SenderContext:
    user_id: int
    viewing_epochs: list[float]
    ip_seen: dict[str, list[float]]  # the sender's client IPs (keyed hashes) and when each was seen
    ip_hash: Callable[[str], str]
    keyring: tokens.Keyring

    @classmethod
    def load(cls, rt: Runtime, session, message: TrackedMessage) -> "_SenderContext":
        rows = session.execute(
            select(SenderActivity.activity, SenderActivity.at_epoch, SenderActivity.ip_hash, SenderActivity.message_id)
            .where(SenderActivity.user_id == message.user_id)
            .order_by(SenderActivity.at_epoch.desc()).limit(200)).all()
        viewing = [r.at_epoch for r in rows if r.activity == "viewing" and r.message_id in (None, message.id)]
        seen: dict[str, list[float]] = defaultdict(list)
        for r in rows:
            if r.ip_hash:
                seen[r.ip_hash].append(r.at_epoch)
        return cls(message.user_id, viewing, dict(seen), lambda ip: sender_ip_hash(rt, ip), rt.keyring)

    def sender_was_at(self, ip: str | None, at: float) -> bool:
        """The sender used our API from this address within SENDER_IP_WINDOW_SECONDS of the hit. Only recently:
        addresses change hands (a laptop on a café's network, a recipient behind the same office NAT a week
        later), and an old match would file a real open as the sender's."""
        if not ip:
            return False
        epochs = self.ip_seen.get(self.ip_hash(ip))
        return bool(epochs) and any(abs(at - epoch) <= SENDER_IP_WINDOW_SECONDS for epoch in epochs)


def _facts_for(hit: dict, message: TrackedMessage, links: dict, sent_epoch: float, ctx: _SenderContext) -> HitFacts:
    at = float(hit.get("at") or 0.0)
    ip = hit.get("ip")
    viewing_ago = None
    for epoch in ctx.viewing_epochs:
        if 0 <= at - epoch <= VIEWING_WINDOW_SECONDS:
            viewing_ago = at - epoch if viewing_ago is None else min(viewing_ago, at - epoch)
    headers = dict(hit.get("headers") or {})
    cookie = headers.pop("mb-sender-cookie", None)
    sender_cookie = False
    if cookie:
        claims = tokens.verify(cookie, keyring=ctx.keyring, purpose="sender")
        sender_cookie = claims is not None and claims.message_id == ctx.user_id
    link_index = hit.get("link")
    link = links.get(link_index) if link_index is not None else None
    return HitFacts(
        id=str(hit["uid"]),
        message=str(message.id),
        hit="click" if hit.get("type") == "click" else "open",
        method=str(hit.get("method") or "GET"),
        user_agent=str(hit.get("user_agent") or ""),
        ip=ip,
        seconds_since_sent=max(0.0, at - sent_epoch) if at else None,
        headers=headers,
        link=link_index,
        links_in_message=sum(1 for l in links.values() if not l.is_honeypot) or None,
        honeypot=bool(link is not None and link.is_honeypot),
        sender_viewing_seconds_ago=viewing_ago,
        sender_last_ip=ip if ctx.sender_was_at(ip, at or time.time()) else None,
        sender_cookie=sender_cookie,
        at=at or None,
    )


def _facts_from_stored(hit: Hit) -> HitFacts:
    f = hit.facts or {}
    return HitFacts(
        id=hit.hit_uid, message=str(hit.message_id), hit=hit.hit_type, method=hit.method,
        user_agent=hit.user_agent or "", ip=None, seconds_since_sent=f.get("seconds_since_sent"),
        headers=f.get("headers") or {}, link=f.get("link"), links_in_message=f.get("links_in_message"),
        honeypot=bool(f.get("honeypot")), reverse_dns=f.get("reverse_dns"),
        forward_confirmed=f.get("forward_confirmed"), asn=f.get("asn"),
        sender_viewing_seconds_ago=f.get("sender_viewing_seconds_ago"), sender_cookie=bool(f.get("sender_cookie")),
        at=f.get("at"),
    )


def _store(session, message, links, facts: HitFacts, verdict: Verdict, prior: Iterable[Hit],
           place: str | None) -> Hit:
    at = facts.at or datetime.now(timezone.utc).timestamp()
    ip_prefix = truncate_ip(facts.ip)
    counted = True
    for earlier in reversed(list(prior)):
        earlier_at = (earlier.facts or {}).get("at") or earlier.occurred_at.timestamp()
        if at - earlier_at > DUPLICATE_WINDOW_SECONDS:
            break
        if (earlier.counted and earlier.hit_type == facts.hit and (earlier.facts or {}).get("link") == facts.link
                and earlier.ip_prefix == ip_prefix and (earlier.user_agent or "") == facts.user_agent):
            counted = False
            break
    link = links.get(facts.link) if facts.link is not None else None
    hit = Hit(
        hit_uid=facts.id, message_id=message.id, link_id=link.id if link is not None else None,
        hit_type=facts.hit, method=facts.method[:8], kind=verdict.kind,
        reason=verdict.reason if counted else f"{verdict.reason}; repeat within {int(DUPLICATE_WINDOW_SECONDS)} s",
        user_agent=facts.user_agent[:1000] or None, ip_prefix=ip_prefix,
        device_class=getattr(verdict, "device_class", None), client=getattr(verdict, "client", None),
        place=place, counted=counted, occurred_at=_dt(at),
        facts={
            "at": at, "link": facts.link, "links_in_message": facts.links_in_message, "honeypot": facts.honeypot,
            "seconds_since_sent": facts.seconds_since_sent, "headers": dict(facts.headers),
            "reverse_dns": facts.reverse_dns, "forward_confirmed": facts.forward_confirmed, "asn": facts.asn,
            "sender_viewing_seconds_ago": facts.sender_viewing_seconds_ago, "sender_cookie": facts.sender_cookie,
        },
    )
    session.add(hit)
    return hit


def _notification(message: TrackedMessage, hit: Hit, links: dict, settings=None) -> Notification:
    link_url = None
    if hit.link_id is not None:
        link_url = next((l.url for l in links.values() if l.id == hit.link_id), None)
    payload = {
        "event": hit.hit_type,
        "message_id": message.public_id,
        "subject": message.subject,
        "recipients": message.recipients,
        "kind": hit.kind,
        "at": hit.occurred_at.isoformat(),
        "link": link_url,
        "thread_id": message.provider_thread_id,
    }
    if settings is not None:
        # Stored and counted on the bell either way; during quiet hours clients skip the desktop alert.
        payload["quiet"] = in_quiet_hours(settings, hit.occurred_at)
    return Notification(user_id=message.user_id, message_id=message.id, hit_id=hit.id, event=hit.hit_type,
                        payload=payload, created_at=hit.occurred_at)
