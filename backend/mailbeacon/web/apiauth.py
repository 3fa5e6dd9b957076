"""Bearer-token authentication for /api/v1 and the sender's footprint it leaves (for telling `self` hits apart)."""

from __future__ import annotations

import time
from functools import wraps

from flask import current_app, g, request

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
        with rt.db.transaction() as session:
            found = authenticate(session, header[7:].strip())
            if found is None:
                raise ApiError(401, "invalid_token", "This API token is not valid (expired, revoked or unknown); "
                                                     "sign in again.",
                               headers={"WWW-Authenticate": 'Bearer realm="mailbeacon", error="invalid_token"'})
            user, token = found
            g.user_id, g.user_email, g.token_id = user.id, user.email, token.id
            _leave_footprint(rt, session, user.id)
        return view(*args, **kwargs)

    return wrapper


def _leave_footprint(rt, session, user_id: int) -> None:
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
    session.add(SenderActivity(user_id=user_id, activity="api", ip_hash=digest, at_epoch=now))
