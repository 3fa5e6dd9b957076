"""Where a click token leads: a process cache, then Redis, then the database.

Destinations never change once registered, so caching them is safe. Redis keeps redirects working while the
database is down; the database keeps them working while Redis is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from ..runtime import Runtime
from ..storage import messages as message_queries

log = logging.getLogger(__name__)

REDIS_TTL_SECONDS = 90 * 24 * 3600
LOCAL_TTL_SECONDS = 600  # short, so a purged or deleted message stops redirecting soon after
LOCAL_MAX = 50_000


def redis_key(message_id: int) -> str:
    return f"mb:dest:{message_id}"


def cache_destinations(redis_client, message_id: int, urls: dict[int, str]) -> None:
    """Write-through at registration, so the first click already finds Redis warm."""
    if redis_client is None or not urls:
        return
    try:
        with redis_client.pipeline(transaction=False) as pipe:
            pipe.hset(redis_key(message_id), mapping={str(k): v for k, v in urls.items()})
            pipe.expire(redis_key(message_id), REDIS_TTL_SECONDS)
            pipe.execute()
    except Exception as exc:
        log.warning("could not cache destinations in Redis (%s); the database still has them", exc.__class__.__name__)


def forget_destinations(redis_client, message_ids: list[int]) -> None:
    if redis_client is None or not message_ids:
        return
    try:
        redis_client.delete(*[redis_key(m) for m in message_ids])
    except Exception:
        log.warning("could not drop cached destinations", exc_info=True)


class CachedLookup:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._local: OrderedDict[tuple[int, int], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def _local_get(self, key: tuple[int, int]) -> str | None:
        with self._lock:
            entry = self._local.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._local[key]
                return None
            self._local.move_to_end(key)
            return entry[1]

    def _local_put(self, key: tuple[int, int], url: str) -> None:
        with self._lock:
            self._local[key] = (time.monotonic() + LOCAL_TTL_SECONDS, url)
            if len(self._local) > LOCAL_MAX:
                self._local.popitem(last=False)

    def cached(self, message_id: int, link_index: int) -> str | None:
        """The process cache alone: no I/O, so the asyncio front may ask it on its event loop."""
        return self._local_get((message_id, link_index))

    def destination(self, message_id: int, link_index: int) -> str | None:
        key = (message_id, link_index)
        url = self._local_get(key)
        if url is not None:
            return url
        redis_client = self.rt.hit_redis
        redis_failed = False
        if redis_client is not None:
            try:
                raw = redis_client.hget(redis_key(message_id), str(link_index))
                if raw is not None:
                    url = raw.decode("utf-8")
                    self._local_put(key, url)
                    return url
            except Exception as exc:
                redis_failed = True
                log.warning("destination cache unavailable (%s); asking the database", exc.__class__.__name__)
        with self.rt.db.session() as session:
            url = message_queries.link_destination(session, message_id, link_index)
            if url is not None and redis_client is not None and not redis_failed:
                urls = message_queries.link_destinations(session, message_id)
                cache_destinations(redis_client, message_id, urls)
        if url is not None:
            self._local_put(key, url)
        return url
