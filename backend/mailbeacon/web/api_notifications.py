"""/api/v1/notifications: the bell (unread count), the list with paging, and mark-read (one, some or all)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select, update

from ..storage.models import Notification, utcnow
from .apiauth import require_user, user_session, user_transaction
from .errors import ApiError

bp = Blueprint("api_notifications", __name__, url_prefix="/api/v1")
MAX_ID = 2**63 - 1  # the largest row id either database can hold; anything bigger is a bad request, not a crash


def render_notification(n: Notification) -> dict:
    return {"id": n.id, "event": n.event, "created_at": n.created_at.isoformat(), "read": n.read_at is not None,
            **{k: v for k, v in (n.payload or {}).items() if k not in ("id",)}}


@bp.get("/notifications")
@require_user
def list_notifications():
    args = request.args
    try:
        limit = int(args.get("limit", 50))
        before = int(args["before"]) if args.get("before") else None
        after = int(args["after"]) if args.get("after") else None
    except ValueError:
        raise ApiError(400, "invalid_request", "limit, before and after are numbers.") from None
    if not 1 <= limit <= 100:
        raise ApiError(400, "invalid_request", "limit must be a number from 1 to 100.")
    if any(v is not None and not 0 <= v <= MAX_ID for v in (before, after)):
        raise ApiError(400, "invalid_request", "before and after are notification ids.")
    stmt = select(Notification).where(Notification.user_id == g.user_id)
    if args.get("unread") in ("1", "true"):
        stmt = stmt.where(Notification.read_at.is_(None))
    if before is not None:
        stmt = stmt.where(Notification.id < before)
    if after is not None:  # catching up after sleep: everything newer than what the client has, oldest first
        stmt = stmt.where(Notification.id > after).order_by(Notification.id.asc())
    else:
        stmt = stmt.order_by(Notification.id.desc())
    session = user_session()
    rows = session.scalars(stmt.limit(limit + 1)).all()
    unread = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == g.user_id, Notification.read_at.is_(None)))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify({"notifications": [render_notification(n) for n in rows], "unread": unread,
                    "next_before": rows[-1].id if more and rows and after is None else None})


@bp.get("/notifications/unread-count")
@require_user
def unread_count():
    count = user_session().scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == g.user_id, Notification.read_at.is_(None)))
    return jsonify({"unread": count})


@bp.post("/notifications/read")
@require_user
def mark_read():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or ("all" not in body and "ids" not in body):
        raise ApiError(400, "invalid_request", "send {\"ids\": [...]} or {\"all\": true}.")
    stmt = update(Notification).where(Notification.user_id == g.user_id, Notification.read_at.is_(None))
    if body.get("all") is True:
        pass
    else:
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ID
                                                for i in ids) or len(ids) > 500:
            raise ApiError(400, "invalid_request", "ids must be a list of notification ids (at most 500).")
        stmt = stmt.where(Notification.id.in_(ids))
    with user_transaction() as session:
        changed = session.execute(stmt.values(read_at=utcnow())).rowcount
        unread = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == g.user_id, Notification.read_at.is_(None)))
    return jsonify({"marked": changed or 0, "unread": unread})
