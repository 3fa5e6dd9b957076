"""The stream sends notifications from the database in id order: a client that was away for long gets all of
them, and one published late or never still arrives, before anything newer."""

import time

from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.notify.publish import Publisher, RedisPublisher
from mailbeacon.storage.models import Notification
from mailbeacon.web.stream import CATCH_UP_PAGE

from ..api_support import user_with_token
from ..factories import make_message, wait_until
from .test_stream import EventReader, hit, served  # noqa: F401  (the fixture)


def _store_notifications(rt, user_id, message, count):
    with rt.db.transaction() as s:
        notes = [Notification(user_id=user_id, message_id=message.id, event="open",
                              payload={"event": "open", "message_id": message.public_id, "kind": "human",
                                       "subject": message.subject, "n": n}) for n in range(count)]
        s.add_all(notes)
        s.flush()
        return [n.id for n in notes]


def _publish(rt, user_id, event):
    backend = RedisPublisher(rt.redis) if rt.redis is not None else rt.broker
    Publisher(backend).publish_all([(user_id, event)])


def _notification_ids(reader):
    return [int(e["id"]) for e in reader.events if e["event"] == "notification"]


def _listening(rt, server, session, email):
    """A sender with a message and a live stream open (given a moment to subscribe)."""
    user_id, auth = user_with_token(rt, email)
    message = make_message(session, sender=email)
    reader = EventReader(server.url + "/api/v1/stream", auth)
    time.sleep(0.3)
    return user_id, message, reader


def test_a_client_back_after_more_than_a_page_of_notifications_gets_every_one_in_order(served, session):
    rt, server = served
    user_id, auth = user_with_token(rt, "away@example.com")
    message = make_message(session, sender="away@example.com")
    ids = _store_notifications(rt, user_id, message, 2 * CATCH_UP_PAGE + 50)
    reader = EventReader(server.url + "/api/v1/stream", {**auth, "Last-Event-ID": str(ids[9])})
    wait_until(lambda: len(_notification_ids(reader)) >= len(ids) - 10, timeout=20)
    time.sleep(0.3)
    assert _notification_ids(reader) == ids[10:]
    reader.close()


def test_a_notification_published_late_arrives_before_the_newer_one_that_overtook_it(served, session):
    rt, server = served
    user_id, message, reader = _listening(rt, server, session, "order@example.com")
    older, newer = _store_notifications(rt, user_id, message, 2)
    # Two workers committed both; the one holding the newer id published first, the other hasn't yet.
    _publish(rt, user_id, {"id": newer, "event": "open", "message_id": message.public_id})
    wait_until(lambda: len(_notification_ids(reader)) >= 2, timeout=10)
    _publish(rt, user_id, {"id": older, "event": "open", "message_id": message.public_id})
    time.sleep(0.5)
    assert _notification_ids(reader) == [older, newer]  # in order, and the late event sent nothing twice
    reader.close()


def test_a_notification_whose_event_was_lost_still_reaches_the_live_client(served, session):
    rt, server = served
    user_id, message, reader = _listening(rt, server, session, "lost@example.com")
    [lost] = _store_notifications(rt, user_id, message, 1)  # its publish failed (Redis blinked)
    process_hit_batch([hit(message)])  # the next open is published as usual
    wait_until(lambda: len(_notification_ids(reader)) >= 2, timeout=10)
    ids = _notification_ids(reader)
    assert ids[0] == lost and ids[1] > lost and len(ids) == 2
    reader.close()


def test_send_events_are_passed_on_as_they_come(served, session):
    rt, server = served
    user_id, auth = user_with_token(rt, "sends@example.com")
    reader = EventReader(server.url + "/api/v1/stream", auth)
    time.sleep(0.3)
    _publish(rt, user_id, {"event": "message.failed", "message_id": "abc", "reason": "refused"})
    wait_until(lambda: any(e["event"] == "message" for e in reader.events), timeout=10)
    event = next(e for e in reader.events if e["event"] == "message")
    assert event["id"] is None and event["data"]["event"] == "message.failed"
    reader.close()


def test_a_stream_opened_without_a_last_id_starts_from_now_and_one_with_0_gets_everything(served, session):
    rt, server = served
    user_id, auth = user_with_token(rt, "fresh@example.com")
    message = make_message(session, sender="fresh@example.com")
    old = _store_notifications(rt, user_id, message, 3)  # history: the bell's list has it, the stream doesn't replay it
    fresh = EventReader(server.url + "/api/v1/stream", auth)
    from_zero = EventReader(server.url + "/api/v1/stream", {**auth, "Last-Event-ID": "0"})
    time.sleep(0.3)
    [new] = _store_notifications(rt, user_id, message, 1)
    _publish(rt, user_id, {"id": new, "event": "open", "message_id": message.public_id})
    wait_until(lambda: _notification_ids(fresh) and len(_notification_ids(from_zero)) >= 4, timeout=10)
    time.sleep(0.3)
    assert _notification_ids(fresh) == [new]
    assert _notification_ids(from_zero) == [*old, new]
    fresh.close()
    from_zero.close()


def test_the_stream_outlives_the_database_going_away_but_not_a_query_it_refuses(served, session, monkeypatch):
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from mailbeacon.web import stream as stream_module

    rt, server = served
    user_id, message, reader = _listening(rt, server, session, "flaky@example.com")
    real_read = stream_module._stored_after
    failures: list[Exception] = [OperationalError("SELECT", {}, Exception("server closed the connection"))]

    def reading(runtime, *args):
        # Only this test's stream: one left open by an earlier test may still be reading, for a user with the same id.
        if runtime is rt and failures:
            raise failures.pop()
        return real_read(runtime, *args)

    monkeypatch.setattr(stream_module, "_stored_after", reading)

    def notify() -> int:
        [note] = _store_notifications(rt, user_id, message, 1)
        _publish(rt, user_id, {"id": note, "event": "open", "message_id": message.public_id})
        return note

    first = notify()  # its read fails: the database is away
    time.sleep(0.5)
    assert _notification_ids(reader) == []
    second = notify()  # the next event reads again, from where the stream was
    wait_until(lambda: len(_notification_ids(reader)) >= 2, timeout=10)
    assert _notification_ids(reader) == [first, second]

    failures.append(ProgrammingError("SELECT", {}, Exception("column does not exist")))
    notify()  # its read is refused: the stream ends ...
    wait_until(lambda: not failures, timeout=10)
    notify()  # ... so this one, whose read would work, never comes (a stream that went on would send both)
    time.sleep(1.0)
    assert _notification_ids(reader) == [first, second]
    reader.close()
