"""Fan-out of events to the sender's live clients: Redis pub/sub when configured, in-process otherwise.

Every notification is stored before it is published, so a client that was not listening catches up from the
database; publishing is best effort and never fails the hit pipeline.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "mb:notify:"


def channel_for(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}{user_id}"


class LocalBroker:
    """In-process pub/sub for embedded mode (one process serves the web and runs the jobs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, list[Callable[[dict], None]]] = {}

    def subscribe(self, user_id: int, listener: Callable[[dict], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.setdefault(user_id, []).append(listener)

        def unsubscribe() -> None:
            with self._lock:
                listeners = self._listeners.get(user_id, [])
                if listener in listeners:
                    listeners.remove(listener)

        return unsubscribe

    def publish(self, user_id: int, event: dict) -> None:
        with self._lock:
            listeners = list(self._listeners.get(user_id, []))
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("local listener failed")


class RedisPublisher:
    def __init__(self, redis_client) -> None:
        self._redis = redis_client

    def publish(self, user_id: int, event: dict) -> None:
        self._redis.publish(channel_for(user_id), json.dumps(event, separators=(",", ":"), default=str))


class Publisher:
    def __init__(self, backend) -> None:
        self._backend = backend

    def publish_all(self, events: list[tuple[int, dict]]) -> None:
        for user_id, event in events:
            try:
                self._backend.publish(user_id, event)
            except Exception as exc:
                log.warning("notification publish failed (%s); clients will catch up", exc.__class__.__name__)
