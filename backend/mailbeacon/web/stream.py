"""GET /api/v1/stream: the sender's real-time channel, as Server-Sent Events.

Why SSE: it is plain HTTP (one response that never ends), so it passes every proxy, works on the embedded server
and on gunicorn's gevent worker alike, and resuming is built in (`Last-Event-ID`). The extension reads it with
fetch() from its service worker (which can send the Authorization header, unlike EventSource) and an alarm
reconnects it when Chrome has stopped the worker; on reconnect the client sends the last id it saw and gets
every stored notification after it before the live ones. Without a last id the stream starts from now.

One Redis subscriber per process (a pattern subscription) fans out to that process's clients: a connection per
client would exhaust redis-py's pool long before a thousand open streams.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..notify.publish import CHANNEL_PREFIX
from ..storage.db import unavailable
from ..storage.models import Notification
from .api_notifications import render_notification
from .apiauth import require_user, user_session

log = logging.getLogger(__name__)
bp = Blueprint("stream", __name__, url_prefix="/api/v1")

HEARTBEAT_SECONDS = 15.0  # a comment line this often keeps proxies and the client's idle timers happy
CATCH_UP_PAGE = 200
CLIENT_QUEUE = 1000


class RedisFanout:
    """One pattern subscription for the whole process; events are handed to the local listeners of that user."""

    def __init__(self, redis_client) -> None:
        self._redis = redis_client
        self._lock = threading.Lock()
        self._listeners: dict[int, set] = {}
        self._thread: threading.Thread | None = None

    def subscribe(self, user_id: int, listener) -> callable:
        with self._lock:
            self._listeners.setdefault(user_id, set()).add(listener)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mailbeacon-fanout", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.get(user_id, set()).discard(listener)

        return unsubscribe

    def listeners(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._listeners.values())

    def _run(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(CHANNEL_PREFIX + "*")
                while True:
                    # get_message with a timeout, not listen(): listen() blocks on a socket read that the client's
                    # short socket timeout breaks after a quiet spell, and events published while resubscribing
                    # would never reach the live clients.
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode() if isinstance(message["channel"], bytes) else \
                        message["channel"]
                    try:
                        user_id = int(channel[len(CHANNEL_PREFIX):])
                        event = json.loads(message["data"])
                    except (ValueError, TypeError):
                        continue
                    with self._lock:
                        targets = list(self._listeners.get(user_id, ()))
                    for listener in targets:
                        listener(event)
            except Exception as exc:  # Redis went away: clients keep their stream and catch up from the database
                log.warning("stream fan-out lost Redis (%s); resubscribing", exc.__class__.__name__)
                time.sleep(1.0)


def _fanout(app):
    rt = app.extensions["mailbeacon"]
    if rt.redis is None:
        return rt.broker
    with _FANOUT_LOCK:
        fanout = app.extensions.get("mailbeacon.fanout")
        if fanout is None:
            fanout = app.extensions["mailbeacon.fanout"] = RedisFanout(rt.redis)
        return fanout


_FANOUT_LOCK = threading.Lock()


def _format(event: dict) -> str:
    lines = []
    if _is_notification(event):
        lines.append(f"id: {event['id']}")
        lines.append("event: notification")
    else:
        lines.append("event: message")
    lines.append("data: " + json.dumps(event, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


def _stored_after(rt, user_id: int, after_id: int) -> list[dict]:
    """The user's notifications after `after_id`, oldest first, one page."""
    with rt.db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                          Notification.id > after_id)
                               .order_by(Notification.id).limit(CATCH_UP_PAGE)).all()
        return [render_notification(note) for note in rows]


@bp.get("/stream")
@require_user
def stream():
    user_id = g.user_id
    resume_from = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    try:
        last_id = max(0, int(resume_from)) if resume_from else None
    except ValueError:
        last_id = None
    if last_id is None:
        # No resume point: a client that has seen nothing wants what happens from now on (the bell's list has the
        # history), not every notification of the retention period replayed as alerts.
        last_id = user_session().scalar(select(func.max(Notification.id))
                                        .where(Notification.user_id == user_id)) or 0
    app = current_app._get_current_object()
    rt = app.extensions["mailbeacon"]
    inbox: queue.Queue = queue.Queue(maxsize=CLIENT_QUEUE)
    overflowed = threading.Event()

    def listener(event: dict) -> None:
        try:
            inbox.put_nowait(event)
        except queue.Full:
            overflowed.set()  # what didn't fit is in the database: the stream reads it from there

    # Subscribe before reading what is stored, so nothing published in between is missed.
    unsubscribe = _fanout(app).subscribe(user_id, listener)

    def generate():
        # Notifications are sent from the database, in id order, and a live event only says that there is
        # something new. The clients keep the last id they saw and skip anything at or below it; sending the
        # stored rows rather than the events as they come means one published late (another worker's, a
        # moment behind) or dropped from a full queue is still sent, and before anything newer.
        sent_up_to = last_id

        def catch_up():
            nonlocal sent_up_to
            overflowed.clear()
            try:
                while True:
                    page = _stored_after(rt, user_id, sent_up_to)
                    for note in page:
                        sent_up_to = note["id"]
                        yield _format(note)
                    if len(page) < CATCH_UP_PAGE:
                        return
            except SQLAlchemyError as exc:
                if not unavailable(exc):
                    raise  # a query of ours the database refused: a bug to see, not to retry every heartbeat
                # The database is away: keep the stream open and read again at the next event or heartbeat.
                log.warning("stream could not read notifications (%s)", exc.__class__.__name__)
                overflowed.set()

        try:
            yield "retry: 3000\n: connected\n\n"
            yield from catch_up()
            while True:
                try:
                    events = [inbox.get(timeout=HEARTBEAT_SECONDS)]
                except queue.Empty:
                    if overflowed.is_set():
                        yield from catch_up()
                    yield ": keep-alive\n\n"
                    continue
                while True:  # everything already waiting, so a burst costs one read of the database
                    try:
                        events.append(inbox.get_nowait())
                    except queue.Empty:
                        break
                newer = overflowed.is_set()
                for event in events:
                    if _is_notification(event):
                        newer = newer or int(event["id"]) > sent_up_to
                    else:
                        yield _format(event)  # send progress and failures: not stored, sent as they come
                if newer:
                    yield from catch_up()
        finally:
            unsubscribe()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back
    return response


def _is_notification(event: dict) -> bool:
    return event.get("event") in ("open", "click") and event.get("id") is not None
