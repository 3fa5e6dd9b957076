"""A user's notification ids become visible in the order they were given out, whichever worker commits first:
clients ask for "everything after the last id I saw", so a smaller id committed later would never be seen."""

import secrets
import threading
import time

import pytest
from sqlalchemy import select, text

from mailbeacon.services.record_hits import NOTIFICATION_LOCK_SPACE, record_batch
from mailbeacon.storage.models import Notification
from mailbeacon.tracking.networks import Networks

from ..factories import CHROME_UA, make_message

NETWORKS = Networks.load(None)


def _open(message, ip):
    return {"uid": secrets.token_hex(16), "at": time.time(), "type": "open", "message_id": message.id,
            "method": "GET", "user_agent": CHROME_UA, "ip": ip, "headers": {}}


def test_a_batch_waits_to_number_its_notifications_until_an_earlier_one_for_that_user_commits(rt, session):
    first = make_message(session, sender="ordered@example.com", subject="First")
    second = make_message(session, sender="ordered@example.com", subject="Second")
    user_id = first.user_id

    # Another worker's batch, mid-transaction: it has numbered its notification and not committed yet. On
    # PostgreSQL it holds the user's notification lock; on SQLite its insert holds the one write lock.
    other = rt.db.engine.connect()
    other_tx = other.begin()
    if rt.db.engine.dialect.name == "postgresql":
        other.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                      {"space": NOTIFICATION_LOCK_SPACE, "key": user_id % 2**31})
    earlier_id = other.execute(Notification.__table__.insert().returning(Notification.__table__.c.id),
                               {"user_id": user_id, "message_id": first.id, "event": "open",
                                "payload": {"event": "open"}}).scalar_one()

    done = threading.Event()
    results = []
    worker = threading.Thread(target=lambda: (results.append(record_batch(rt, [_open(second, "198.51.100.40")],
                                                                          networks=NETWORKS)), done.set()))
    worker.start()
    assert not done.wait(0.7), "the batch numbered its notification while an earlier one was uncommitted"
    other_tx.commit()
    other.close()
    assert done.wait(10)
    worker.join()
    [(_user, event)] = results[0].notifications
    assert event["id"] > earlier_id
    session.expire_all()
    ids = session.scalars(select(Notification.id).where(Notification.user_id == user_id)
                          .order_by(Notification.id)).all()
    assert ids == [earlier_id, event["id"]]


def test_batches_for_different_users_do_not_wait_for_each_other(rt, session):
    if rt.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's per-user lock only: SQLite has one writer at a time for every user")
    busy = make_message(session, sender="busy@example.com")
    free = make_message(session, sender="free@example.com")
    other = rt.db.engine.connect()
    other_tx = other.begin()
    other.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                  {"space": NOTIFICATION_LOCK_SPACE, "key": busy.user_id % 2**31})
    try:
        result = record_batch(rt, [_open(free, "198.51.100.41")], networks=NETWORKS)
        assert len(result.notifications) == 1
    finally:
        other_tx.rollback()
        other.close()
