"""The message summary kept up to date from each batch's deltas equals the full recompute from the stored hits."""

import secrets
import threading
import time
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from mailbeacon.services.record_hits import SUMMARY_KINDS, record_batch, sender_ip_hash
from mailbeacon.services.retention import purge_expired
from mailbeacon.storage.hits import recent_hits, walking_the_index
from mailbeacon.storage.models import Hit, Link, SenderActivity, TrackedMessage
from mailbeacon.storage.summary import recompute_summary
from mailbeacon.tracking.networks import Networks

from ..factories import CHROME_UA, GMAIL_PROXY_UA, make_message

NETWORKS = Networks.load(None)
URLS = ["https://example.com/a", "https://example.com/b", "https://example.com/c"]
HONEYPOT = len(URLS)  # make_message puts the trap link after the real ones
SENDER_IP = "203.0.113.77"
MESSAGE_FIELDS = ("human_open_count", "machine_open_count", "first_opened_at", "last_opened_at",
                  "human_click_count", "machine_click_count", "first_clicked_at", "last_clicked_at")
LINK_FIELDS = ("human_click_count", "machine_click_count", "first_clicked_at", "last_clicked_at")


def hit(message, *, at, type="open", link=None, ua=CHROME_UA, ip="198.51.100.23", method="GET"):
    return {"uid": secrets.token_hex(16), "at": at, "type": type, "message_id": message.id, "link": link,
            "method": method, "user_agent": ua, "ip": ip, "headers": {}}


def summary_of(rt, message_id):
    with rt.db.session() as s:
        m = s.get(TrackedMessage, message_id)
        links = s.scalars(select(Link).where(Link.message_id == message_id).order_by(Link.position)).all()
        return ({f: getattr(m, f) for f in MESSAGE_FIELDS},
                [{f: getattr(link, f) for f in LINK_FIELDS} for link in links])


def recomputed(rt, message_id):
    """The reference: the full GROUP BY over the stored hits, rolled back so the stored summary stays as it was."""
    s = rt.db.session()
    try:
        m = s.get(TrackedMessage, message_id)
        recompute_summary(s, m, SUMMARY_KINDS)
        s.flush()
        links = s.scalars(select(Link).where(Link.message_id == message_id).order_by(Link.position)).all()
        return ({f: getattr(m, f) for f in MESSAGE_FIELDS},
                [{f: getattr(link, f) for f in LINK_FIELDS} for link in links])
    finally:
        s.rollback()
        s.close()


def assert_summary_is_exact(rt, message_id):
    assert summary_of(rt, message_id) == recomputed(rt, message_id)


def sender_is_using(rt, session, message, ip=SENDER_IP):
    session.add(SenderActivity(user_id=message.user_id, activity="api", ip_hash=sender_ip_hash(rt, ip),
                               at_epoch=time.time() - 60))
    session.commit()


def kinds_stored(session, message):
    session.expire_all()
    return [h.kind for h in session.scalars(select(Hit).where(Hit.message_id == message.id)
                                            .order_by(Hit.occurred_at))]


# --- the cases one by one ---------------------------------------------------------------------------------------


def test_a_replayed_batch_leaves_the_summary_as_it_was(rt, session):
    message = make_message(session, urls=URLS)
    t0 = time.time() - 600
    batch = [hit(message, at=t0), hit(message, at=t0 + 30, type="click", link=1, ip="198.51.100.9"),
             hit(message, at=t0 + 40, method="HEAD", ip="192.0.2.5")]
    record_batch(rt, batch, networks=NETWORKS)
    before = summary_of(rt, message.id)
    again = record_batch(rt, batch, networks=NETWORKS)
    assert again.stored == 0 and again.duplicates_skipped == 3
    assert summary_of(rt, message.id) == before
    assert before[0]["human_open_count"] == 1 and before[0]["machine_open_count"] == 1
    assert_summary_is_exact(rt, message.id)


def test_a_batch_replayed_with_new_hits_counts_only_the_new_ones(rt, session):
    message = make_message(session, urls=URLS)
    t0 = time.time() - 600
    batch = [hit(message, at=t0), hit(message, at=t0 + 60, ip="198.51.100.40")]
    record_batch(rt, batch[:1], networks=NETWORKS)
    record_batch(rt, batch, networks=NETWORKS)
    assert summary_of(rt, message.id)[0]["human_open_count"] == 2
    assert_summary_is_exact(rt, message.id)


def test_a_later_burst_moves_the_first_human_click_to_the_next_one(rt, session):
    message = make_message(session, urls=URLS)
    t0 = time.time() - 900
    record_batch(rt, [hit(message, at=t0, type="click", link=0),
                      hit(message, at=t0 + 300, type="click", link=1, ip="198.51.100.77")], networks=NETWORKS)
    assert summary_of(rt, message.id)[0]["first_clicked_at"].timestamp() == pytest.approx(t0, abs=1e-3)
    burst = [hit(message, at=t0 + 0.3, type="click", link=1, ip="192.0.2.9"),
             hit(message, at=t0 + 0.6, type="click", link=2, ip="192.0.2.9")]
    result = record_batch(rt, burst, networks=NETWORKS)
    assert result.reclassified == 1
    summary, links = summary_of(rt, message.id)
    assert summary["human_click_count"] == 1 and summary["machine_click_count"] == 3
    assert summary["first_clicked_at"].timestamp() == pytest.approx(t0 + 300, abs=1e-3)
    assert summary["last_clicked_at"].timestamp() == pytest.approx(t0 + 300, abs=1e-3)
    assert links[0] == {"human_click_count": 0, "machine_click_count": 1, "first_clicked_at": None,
                        "last_clicked_at": None}
    assert_summary_is_exact(rt, message.id)


def test_a_trap_link_click_moves_the_last_human_open_back(rt, session):
    message = make_message(session, urls=URLS, honeypot=True)
    t0 = time.time() - 900
    record_batch(rt, [hit(message, at=t0 - 600, ip="198.51.100.1"), hit(message, at=t0, ip="198.51.100.2")],
                 networks=NETWORKS)
    record_batch(rt, [hit(message, at=t0 + 1, type="click", link=HONEYPOT, ip="192.0.2.44")], networks=NETWORKS)
    assert kinds_stored(session, message) == ["human", "scanner", "scanner"]
    summary, _ = summary_of(rt, message.id)
    assert summary["human_open_count"] == 1 and summary["machine_open_count"] == 1
    assert summary["first_opened_at"] == summary["last_opened_at"]
    assert summary["last_opened_at"].timestamp() == pytest.approx(t0 - 600, abs=1e-3)
    assert_summary_is_exact(rt, message.id)


def test_the_only_human_open_reclassified_leaves_no_open_times(rt, session):
    message = make_message(session, urls=URLS, honeypot=True)
    t0 = time.time() - 900
    record_batch(rt, [hit(message, at=t0)], networks=NETWORKS)
    record_batch(rt, [hit(message, at=t0 + 2, type="click", link=HONEYPOT, ip="192.0.2.44")], networks=NETWORKS)
    summary, _ = summary_of(rt, message.id)
    assert summary["human_open_count"] == 0 and summary["first_opened_at"] is None
    assert summary["last_opened_at"] is None
    assert_summary_is_exact(rt, message.id)


def test_the_senders_own_hits_are_never_counted(rt, session):
    message = make_message(session, urls=URLS)
    sender_is_using(rt, session, message)
    t0 = time.time() - 300
    record_batch(rt, [hit(message, at=t0, ip=SENDER_IP), hit(message, at=t0 + 60, type="click", link=0,
                                                             ip=SENDER_IP)], networks=NETWORKS)
    assert set(kinds_stored(session, message)) == {"self"}
    summary, links = summary_of(rt, message.id)
    assert all(summary[f] in (0, None) for f in MESSAGE_FIELDS)
    assert all(link[f] in (0, None) for link in links for f in LINK_FIELDS)
    assert_summary_is_exact(rt, message.id)


def test_a_repeat_within_seconds_is_stored_but_not_counted(rt, session):
    message = make_message(session, urls=URLS)
    t0 = time.time() - 300
    record_batch(rt, [hit(message, at=t0, type="click", link=2)], networks=NETWORKS)
    record_batch(rt, [hit(message, at=t0 + 3, type="click", link=2)], networks=NETWORKS)  # the next batch
    summary, links = summary_of(rt, message.id)
    assert summary["human_click_count"] == 1 and links[2]["human_click_count"] == 1
    assert summary["last_clicked_at"].timestamp() == pytest.approx(t0, abs=1e-3)
    assert_summary_is_exact(rt, message.id)


def test_clicks_are_counted_per_link(rt, session):
    message = make_message(session, urls=URLS)
    t0 = time.time() - 3000
    record_batch(rt, [hit(message, at=t0, type="click", link=0, ip="198.51.100.1"),
                      hit(message, at=t0 + 100, type="click", link=0, ip="198.51.100.2")], networks=NETWORKS)
    record_batch(rt, [hit(message, at=t0 + 200, type="click", link=2, ip="198.51.100.3"),
                      hit(message, at=t0 + 300, type="click", link=2, method="HEAD", ip="192.0.2.1")],
                 networks=NETWORKS)
    summary, links = summary_of(rt, message.id)
    assert [(l["human_click_count"], l["machine_click_count"]) for l in links] == [(2, 0), (0, 0), (1, 1)]
    assert links[0]["first_clicked_at"].timestamp() == pytest.approx(t0, abs=1e-3)
    assert links[0]["last_clicked_at"].timestamp() == pytest.approx(t0 + 100, abs=1e-3)
    assert summary["human_click_count"] == 3 and summary["machine_click_count"] == 1
    assert_summary_is_exact(rt, message.id)


def test_the_summary_keeps_purged_hits_and_adds_later_ones(rt, session):
    # The purge deletes hits, never the summary: it is the aggregate of everything recorded. The recompute from the
    # hits left would forget the purged ones, so a hit after a purge must add to the summary, not rebuild it.
    message = make_message(session, urls=URLS, sent_seconds_ago=300 * 86400)
    old = time.time() - 200 * 86400
    record_batch(rt, [hit(message, at=old, ip="198.51.100.1"), hit(message, at=old + 600, ip="198.51.100.2")],
                 networks=NETWORKS)
    assert purge_expired(rt, days=180)["hits"] == 2
    record_batch(rt, [hit(message, at=time.time() - 60, ip="198.51.100.3")], networks=NETWORKS)
    summary, _ = summary_of(rt, message.id)
    assert summary["human_open_count"] == 3
    assert summary["first_opened_at"].timestamp() == pytest.approx(old, abs=1e-3)
    assert recomputed(rt, message.id)[0]["human_open_count"] == 1  # what rebuilding from the hits would say


def test_a_reclassified_open_after_a_purge_keeps_the_purged_opens(rt, session):
    message = make_message(session, urls=URLS, honeypot=True, sent_seconds_ago=300 * 86400)
    old = time.time() - 200 * 86400
    record_batch(rt, [hit(message, at=old, ip="198.51.100.1")], networks=NETWORKS)
    purge_expired(rt, days=180)
    now = time.time() - 60
    record_batch(rt, [hit(message, at=now, ip="198.51.100.2")], networks=NETWORKS)
    record_batch(rt, [hit(message, at=now + 1, type="click", link=HONEYPOT, ip="192.0.2.44")], networks=NETWORKS)
    summary, _ = summary_of(rt, message.id)
    assert summary["human_open_count"] == 1 and summary["machine_open_count"] == 1
    # The purged open's time is the only person's open time left, first and last.
    assert summary["first_opened_at"].timestamp() == pytest.approx(old, abs=1e-3)
    assert summary["last_opened_at"] == summary["first_opened_at"]


def test_two_workers_on_one_message_lose_no_count(rt, session, config):
    from mailbeacon.runtime import Runtime

    message = make_message(session, urls=URLS)
    t0 = time.time() - 3000
    # Far apart in time and from distinct networks (dedup compares /24s): no repeat and no burst, all count.
    batches = [[hit(message, at=t0 + 1000 * w + 20 * i + j, ip=f"81.2.{w * 100 + i * 5 + j}.1",
                    type="click" if j == 4 else "open", link=(i % 3) if j == 4 else None) for j in range(5)]
               for w in range(2) for i in range(12)]
    errors = []

    def work(mine):
        runtime = Runtime(config)
        try:
            for batch in mine:
                record_batch(runtime, batch, networks=NETWORKS)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            runtime.db.dispose()

    threads = [threading.Thread(target=work, args=(batches[w::2],)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    summary, _ = summary_of(rt, message.id)
    assert summary["human_open_count"] == 4 * 24 and summary["human_click_count"] == 24
    assert_summary_is_exact(rt, message.id)


def test_the_same_batch_run_by_two_workers_at_once_is_counted_once(rt, session, config):
    from mailbeacon.runtime import Runtime

    message = make_message(session, urls=URLS)
    t0 = time.time() - 3000
    batches = [[hit(message, at=t0 + 30 * i + j, ip=f"81.3.{i * 4 + j}.1") for j in range(4)]
               for i in range(10)]
    errors = []

    def work():
        runtime = Runtime(config)
        try:
            for batch in batches:
                for _attempt in range(3):  # RQ retries a job that failed; the retry finds the hits stored
                    try:
                        record_batch(runtime, batch, networks=NETWORKS)
                        break
                    except (IntegrityError, OperationalError):
                        continue
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            runtime.db.dispose()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert summary_of(rt, message.id)[0]["human_open_count"] == 40
    assert_summary_is_exact(rt, message.id)


def test_a_batch_reads_a_bounded_window_of_the_message_hits(rt, session):
    """What keeps a hot message as cheap as a fresh one: no statement in a batch ranges over all of its hits."""
    message = make_message(session, urls=URLS, honeypot=True)
    t0 = time.time() - 900
    record_batch(rt, [hit(message, at=t0 + i, ip=f"198.51.100.{i}") for i in range(20)], networks=NETWORKS)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(rt.db.engine, "before_cursor_execute", seen)
    try:
        record_batch(rt, [hit(message, at=t0 + 30, type="click", link=0, ip="198.51.100.200"),
                          hit(message, at=t0 + 40, ip="198.51.100.201")], networks=NETWORKS)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", seen)
    reads = [s for s in statements if s.startswith("SELECT") and "FROM hits" in s]
    assert reads, statements
    for statement in reads:
        assert "GROUP BY" not in statement and ("LIMIT" in statement or "hits.hit_uid IN" in statement), statement


def test_the_look_back_walks_the_index_from_the_end_even_before_statistics_know_the_message(rt, session):
    # A message that turned hot since the last ANALYZE: left to itself PostgreSQL may fetch and sort the whole window.
    def opens(message, start):
        return [{"hit_uid": secrets.token_hex(16), "message_id": message.id, "hit_type": "open", "method": "GET",
                 "kind": "human", "reason": "", "counted": True, "facts": {"at": start + i / 100},
                 "occurred_at": datetime.fromtimestamp(start + i / 100, tz=timezone.utc)} for i in range(3000)]

    earlier, message = make_message(session, urls=URLS), make_message(session, urls=URLS)
    t0 = time.time() - 900
    with rt.db.transaction() as s:
        s.execute(insert(Hit), opens(earlier, t0 - 86400))
    with rt.db.engine.connect() as conn:  # statistics that know only the earlier message
        conn.execute(text("ANALYZE hits"))
        conn.commit()
    rows = opens(message, t0)
    with rt.db.transaction() as s:
        s.execute(insert(Hit), rows)
    since = datetime.fromtimestamp(t0, tz=timezone.utc)
    query = (select(Hit).where(Hit.message_id == message.id, Hit.occurred_at >= since)
             .order_by(Hit.occurred_at.desc()).limit(50))  # as recent_hits reads them
    with rt.db.transaction() as s:
        dialect = s.get_bind().dialect
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        with walking_the_index(s):
            if dialect.name == "postgresql":
                plan = "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql)))
                assert "Index Scan Backward using ix_hits_message_time" in plan, plan
                assert "Bitmap" not in plan and "Sort" not in plan, plan  # neither fetches nor sorts the window
            else:
                plan = " ".join(r[-1] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))
                assert "USING INDEX ix_hits_message_time" in plan and "TEMP B-TREE" not in plan, plan
        assert [h.hit_uid for h in recent_hits(s, message.id, since=since, limit=50)] == \
            [r["hit_uid"] for r in rows[-50:]]


# --- any sequence of batches ------------------------------------------------------------------------------------

ACTORS = {
    "person": dict(ua=CHROME_UA),
    "gmail_proxy": dict(ua=GMAIL_PROXY_UA, ip="66.249.84.10"),
    "head_scanner": dict(method="HEAD", ip="192.0.2.80"),
    "sender": dict(ip=SENDER_IP),
}

hit_spec = st.fixed_dictionaries({
    "type": st.sampled_from(["open", "click"]),
    "link": st.integers(0, HONEYPOT),                       # HONEYPOT: the hidden trap link, for clicks
    "actor": st.sampled_from(sorted(ACTORS)),
    "address": st.integers(1, 3),                           # few networks, so repeats within 10 s happen
    "step": st.sampled_from([0.0, 0.3, 0.8, 3.0, 12.0, 90.0, 700.0]),  # bursts, repeats, and far apart
})
operation = st.one_of(
    st.tuples(st.just("batch"), st.lists(hit_spec, min_size=1, max_size=6)),
    st.tuples(st.just("burst"), st.integers(0, 60)),         # every link within a second, near earlier hits
    st.tuples(st.just("replay"), st.integers(0, 20)),       # an earlier batch again
    st.tuples(st.just("replay_with_more"), st.integers(0, 20)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=10))
def test_any_sequence_of_batches_keeps_the_summary_equal_to_the_recompute(rt, session, operations):
    message = make_message(session, urls=URLS, honeypot=True)
    sender_is_using(rt, session, message)
    clock = time.time() - 3000
    done: list[list[dict]] = []
    last_times: list[float] = [clock]
    for op, arg in operations:
        if op == "batch":
            batch = []
            for spec in arg:
                clock += spec["step"]
                actor = dict(ACTORS[spec["actor"]])
                actor.setdefault("ip", f"81.4.{spec['address']}.1")
                link = spec["link"] if spec["type"] == "click" else None
                batch.append(hit(message, at=clock, type=spec["type"], link=link, **actor))
        elif op == "burst":
            # A gateway's scan starting just after one of the earlier hits, so it re-classifies what is near it.
            start = last_times[arg % len(last_times)] + 0.4
            batch = [hit(message, at=start + 0.2 * i, type="click", link=i, ip="192.0.2.99") for i in range(3)]
        elif not done:
            continue
        elif op == "replay":
            batch = done[arg % len(done)]
        else:
            clock += 5.0
            batch = done[arg % len(done)] + [hit(message, at=clock, ip="198.51.100.50")]
        note(f"{op}: {[(h['type'], h['link'], h['ip'], round(h['at'] - last_times[0], 1)) for h in batch]}")
        record_batch(rt, batch, networks=NETWORKS)
        done.append(batch)
        last_times.extend(h["at"] for h in batch)
        assert_summary_is_exact(rt, message.id)

