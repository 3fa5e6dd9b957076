"""Bearer-token authentication for /api/v1 and the sender's footprint it leaves (for telling `self` hits apart).

A call runs on one connection from the token check to the answer: user_session() for reads (autocommit, so a
read costs its queries and nothing else), user_transaction() for changes that must happen together.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from functools import wraps

from flask import current_app, g, request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..services.api_tokens import authenticate
from ..services.record_hits import sender_ip_hash
from ..storage.models import SenderActivity
from .clientip import client_ip
from .errors import ApiError

FOOTPRINT_EVERY_SECONDS = 300.0


def _rt():
    return current_app.extensions["mailbeacon"]


def require_user(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError(401, "unauthorized", "Send an API token as Authorization: Bearer <token>.",
                           headers={"WWW-Authenticate": 'Bearer realm="mailbeacon"'})
        rt = _rt()
        scope = rt.db.scope()
        g.db_scope = scope
        # Closed here rather than at teardown: a streamed answer (/stream) tears down only when the client goes
        # away, and must not hold a pooled connection for hours. Every view has rendered its answer by now.
        try:
            conn = scope.connection()
            bearer = authenticate(conn, header[7:].strip())
            if bearer is None:
                raise ApiError(401, "invalid_token", "This API token is not valid (expired, revoked or unknown); "
                                                     "sign in again.",
                               headers={"WWW-Authenticate": 'Bearer realm="mailbeacon", error="invalid_token"'})
            g.user_id, g.user_email, g.token_id = bearer.user_id, bearer.email, bearer.token_id
            _leave_footprint(rt, conn, bearer.user_id)
            retry_after = _rate_limited(rt, bearer.token_id)
            if retry_after:
                raise ApiError(429, "rate_limited", "Too many requests with this token; slow down.",
                               headers={"Retry-After": str(retry_after)})
            return view(*args, **kwargs)
        finally:
            g.pop("db_scope", None)
            scope.close()

    return wrapper


def user_session() -> Session:
    """The call's session for reads, on the connection its token was checked on."""
    return g.db_scope.session()


def user_transaction() -> AbstractContextManager[Session]:
    """A transaction on the call's connection: commits when the block ends, rolls back if it raises."""
    return g.db_scope.transaction()


_local_lock = threading.Lock()


def _rate_limited(rt, token_id: int) -> int:
    """Fixed one-minute windows per token (Redis when there is one, so every process shares the count).
    Returns the seconds to wait, or 0."""
    limit = rt.config.api_rate_per_minute
    window = int(time.time() // 60)
    retry_after = 60 - int(time.time()) % 60 or 1
    if rt.redis is not None:
        key = f"mb:rl:{token_id}:{window}"
        try:
            with rt.redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, 120)
                count = pipe.execute()[0]
        except Exception:
            return 0  # a Redis outage must not lock every client out
        return retry_after if count > limit else 0
    _local_windows: dict = rt._once("rate_windows", dict)  # per runtime: embedded mode has one process
    with _local_lock:
        key = (token_id, window)
        _local_windows[key] = _local_windows.get(key, 0) + 1
        if len(_local_windows) > 10_000:
            for old in [k for k in _local_windows if k[1] < window]:
                del _local_windows[old]
        return retry_after if _local_windows[key] > limit else 0


def _leave_footprint(rt, conn, user_id: int) -> None:
    ip = client_ip(request.environ, rt.config.trusted_proxies)
    if not ip:
        return
    digest = sender_ip_hash(rt, ip)
    cache = current_app.extensions.setdefault("mailbeacon.footprints", {})
    key = (user_id, digest)
    now = time.time()
    if now - cache.get(key, 0.0) < FOOTPRINT_EVERY_SECONDS:
        return
    cache[key] = now
    conn.execute(insert(SenderActivity).values(user_id=user_id, activity="api", ip_hash=digest, at_epoch=now))
