import secrets
import time

import pytest
from sqlalchemy import func, select

from mailbeacon.services.record_hits import record_batch, sender_ip_hash
from mailbeacon.storage import donottrack
from mailbeacon.storage.models import Hit, Notification, SenderActivity, TrackedMessage
from mailbeacon.tracking import tokens
from mailbeacon.tracking.networks import Networks

from ..factories import CHROME_UA, GMAIL_PROXY_UA, make_message

NETWORKS = Networks.load(None)


def hit(message, *, type="open", link=None, ua=CHROME_UA, ip="198.51.100.23", at=None, method="GET", headers=None):
    return {"uid": secrets.token_hex(16), "at": at or time.time(), "type": type, "message_id": message.id,
            "link": link, "method": method, "user_agent": ua, "ip": ip, "headers": headers or {}}


def stored(session, message):
    session.expire_all()
    return session.scalars(select(Hit).where(Hit.message_id == message.id).order_by(Hit.occurred_at)).all()


def test_a_human_open_is_stored_summarised_and_notified(rt, session):
    message = make_message(session)
    result = record_batch(rt, [hit(message)], networks=NETWORKS)
    assert result.stored == 1 and result.kinds == {"human": 1}
    [row] = stored(session, message)
    assert row.kind == "human" and row.ip_prefix == "198.51.100.0/24"
    refreshed = session.get(TrackedMessage, message.id)
    assert refreshed.human_open_count == 1 and refreshed.first_opened_at is not None
    assert len(result.notifications) == 1
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_full_ip_is_never_stored(rt, session):
    message = make_message(session)
    record_batch(rt, [hit(message, ip="2001:db8:1234:5678::9")], networks=NETWORKS)
    [row] = stored(session, message)
    assert row.ip_prefix == "2001:db8:1234::/48"
    assert "5678" not in str(row.facts) and "2001:db8:1234:5678" not in (row.reason or "")


def test_running_the_same_batch_twice_stores_each_hit_once(rt, session):
    message = make_message(session, urls=["https://example.com/a"])
    batch = [hit(message), hit(message, type="click", link=0)]
    first = record_batch(rt, batch, networks=NETWORKS)
    second = record_batch(rt, batch, networks=NETWORKS)
    assert first.stored == 2 and second.stored == 0 and second.duplicates_skipped == 2
    assert len(stored(session, message)) == 2
    refreshed = session.get(TrackedMessage, message.id)
    assert refreshed.human_open_count == 1 and refreshed.human_click_count == 1
    assert session.scalar(select(func.count()).select_from(Notification)) == 2


def test_gmail_proxy_open_counts_as_an_open_without_a_place(rt, session):
    message = make_message(session)
    record_batch(rt, [hit(message, ua=GMAIL_PROXY_UA, ip="66.249.84.10")], networks=NETWORKS)
    [row] = stored(session, message)
    assert row.kind == "proxy_open"
    assert session.get(TrackedMessage, message.id).human_open_count == 1


def test_head_request_is_kept_as_a_machine_hit_and_never_notifies(rt, session):
    message = make_message(session)
    result = record_batch(rt, [hit(message, method="HEAD")], networks=NETWORKS)
    [row] = stored(session, message)
    assert row.kind == "scanner"
    refreshed = session.get(TrackedMessage, message.id)
    assert refreshed.human_open_count == 0 and refreshed.machine_open_count == 1
    assert result.notifications == []


def test_a_later_burst_reclassifies_the_clicks_before_it(rt, session):
    urls = [f"https://example.com/{i}" for i in range(5)]
    message = make_message(session, urls=urls)
    t0 = time.time()
    record_batch(rt, [hit(message, type="click", link=0, at=t0)], networks=NETWORKS)
    assert stored(session, message)[0].kind == "human"
    burst = [hit(message, type="click", link=i, at=t0 + 0.2 * i) for i in range(1, 5)]
    result = record_batch(rt, burst, networks=NETWORKS)
    rows = stored(session, message)
    assert {r.kind for r in rows} == {"scanner"}
    assert result.reclassified == 1
    assert session.get(TrackedMessage, message.id).human_click_count == 0


def test_honeypot_click_is_a_scanner(rt, session):
    message = make_message(session, urls=["https://example.com/a"], honeypot=True)
    record_batch(rt, [hit(message, type="click", link=1)], networks=NETWORKS)
    assert stored(session, message)[0].kind == "scanner"


def test_repeat_fetch_within_seconds_is_kept_but_not_counted(rt, session):
    message = make_message(session)
    t0 = time.time()
    record_batch(rt, [hit(message, at=t0), hit(message, at=t0 + 2)], networks=NETWORKS)
    rows = stored(session, message)
    assert [r.counted for r in rows] == [True, False]
    assert session.get(TrackedMessage, message.id).human_open_count == 1


def test_sender_viewing_signal_makes_the_next_hit_self(rt, session):
    message = make_message(session)
    now = time.time()
    session.add(SenderActivity(user_id=message.user_id, message_id=message.id, activity="viewing", at_epoch=now - 3))
    session.commit()
    result = record_batch(rt, [hit(message, at=now)], networks=NETWORKS)
    assert stored(session, message)[0].kind == "self"
    assert session.get(TrackedMessage, message.id).human_open_count == 0 and result.notifications == []


def test_sender_own_recent_ip_makes_a_hit_self(rt, session):
    message = make_message(session)
    session.add(SenderActivity(user_id=message.user_id, activity="api", ip_hash=sender_ip_hash(rt, "203.0.113.77"),
                               at_epoch=time.time() - 600))
    session.commit()
    record_batch(rt, [hit(message, ip="203.0.113.77")], networks=NETWORKS)
    assert stored(session, message)[0].kind == "self"


def test_an_address_the_sender_used_days_ago_no_longer_makes_a_hit_self(rt, session):
    message = make_message(session)
    # A week ago the sender's laptop was on this network (a café, a client's office); today a recipient is.
    session.add(SenderActivity(user_id=message.user_id, activity="api", ip_hash=sender_ip_hash(rt, "203.0.113.78"),
                               at_epoch=time.time() - 7 * 24 * 3600))
    session.commit()
    record_batch(rt, [hit(message, ip="203.0.113.78")], networks=NETWORKS)
    assert stored(session, message)[0].kind == "human"


def test_sender_cookie_on_a_click_is_self_but_a_forged_one_is_not(rt, session):
    message = make_message(session, urls=["https://example.com/a", "https://example.com/b"])
    good = tokens.sign("sender", message.user_id, keyring=rt.keyring)
    other = tokens.sign("sender", message.user_id + 1, keyring=rt.keyring)
    t0 = time.time()
    record_batch(rt, [hit(message, type="click", link=0, headers={"mb-sender-cookie": good}, at=t0),
                      hit(message, type="click", link=1, headers={"mb-sender-cookie": other}, at=t0 + 60)],
                 networks=NETWORKS)
    kinds = [r.kind for r in stored(session, message)]
    assert kinds[0] == "self" and kinds[1] != "self"


def test_opted_out_recipient_hits_are_not_recorded(rt, session):
    message = make_message(session, recipients=["deniz@example.org"])
    donottrack.add_entry(session, "@example.org", user_id=None, source="optout")
    session.commit()
    result = record_batch(rt, [hit(message)], networks=NETWORKS)
    assert result.stored == 0 and result.dropped == {"opted_out": 1}
    assert stored(session, message) == []


def test_hits_for_unknown_messages_and_links_are_dropped(rt, session):
    message = make_message(session, urls=["https://example.com/a"])
    ghost = {**hit(message), "message_id": message.id + 999}
    bad_link = hit(message, type="click", link=7)
    result = record_batch(rt, [ghost, bad_link, {"junk": True}], networks=NETWORKS)
    assert result.stored == 0
    assert result.dropped == {"unknown_message": 1, "unknown_link": 1, "malformed": 1}


def test_first_open_only_notifies_once_unless_every_open_is_wanted(rt, session):
    from mailbeacon.storage.users import settings_for

    message = make_message(session)
    t0 = time.time()
    record_batch(rt, [hit(message, at=t0), hit(message, at=t0 + 600, ip="198.51.100.99")], networks=NETWORKS)
    assert session.scalar(select(func.count()).select_from(Notification)) == 1
    settings_for(session, message.user_id).notify_every_open = True
    session.commit()
    record_batch(rt, [hit(message, at=t0 + 1200, ip="198.51.100.98")], networks=NETWORKS)
    assert session.scalar(select(func.count()).select_from(Notification)) == 2


def test_workers_pick_up_changed_network_lists(rt, tmp_path, monkeypatch):
    from mailbeacon.jobs import context

    networks_dir = tmp_path / "networks"
    networks_dir.mkdir()
    rt2 = type(rt)(rt.config.replace(networks_dir=str(networks_dir)))
    context.use_runtime(rt2)
    monkeypatch.setattr(context, "NETWORKS_CHECK_SECONDS", 0.0)
    assert "apple_private_relay" not in context.networks().tags_for("198.18.7.9")
    (networks_dir / "apple-egress.csv").write_text("198.18.7.0/24,GB,GB-EN,London,\n")
    assert context.networks().tags_for("198.18.7.9")
    rt2.close()


def test_a_human_open_of_an_outlook_message_queues_the_opened_category(config, redis_url, session):
    from mailbeacon.jobs import context, queues
    from mailbeacon.jobs.hits import process_hit_batch
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage.users import settings_for

    rt = Runtime(config.replace(redis_url=redis_url))
    context.use_runtime(rt)
    message = make_message(session)
    with rt.db.transaction() as s:
        m = s.get(TrackedMessage, message.id)
        m.provider, m.provider_message_id = "outlook", "AAMkAD-immutable"
        settings_for(s, m.user_id).outlook_opened_category = True
    process_hit_batch([hit(message, method="HEAD")])
    assert queues.queue(queues.NOTIFY, rt.redis).count == 0  # machine hits don't
    summary = process_hit_batch([hit(message, at=time.time() + 120)])
    assert summary["kinds"] == {"human": 1}
    assert queues.queue(queues.NOTIFY, rt.redis).count == 1
    rt.close()
