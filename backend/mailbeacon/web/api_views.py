"""/api/v1: the tracked-mail list, a message's detail, list-row status, and the sender's "viewing" signal."""

from __future__ import annotations

import time

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from ..services.message_views import (LIST_FILTERS, BadCursor, list_messages, message_detail, row_status)
from ..storage.models import SenderActivity, TrackedMessage
from .apiauth import require_user, user_session, user_transaction
from .errors import ApiError

bp = Blueprint("api_views", __name__, url_prefix="/api/v1")
MAX_ROWS = 100


@bp.get("/messages")
@require_user
def list_view():
    args = request.args
    flt = args.get("filter", "all")
    if flt not in LIST_FILTERS:
        raise ApiError(400, "invalid_request", f"filter must be one of {', '.join(LIST_FILTERS)}.")
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "invalid_request", "limit must be a number from 1 to 100.") from None
    if not 1 <= limit <= 100:
        raise ApiError(400, "invalid_request", "limit must be a number from 1 to 100.")
    query = args.get("q") or None
    if query is not None and len(query) > 200:
        raise ApiError(400, "invalid_request", "q is limited to 200 characters.")
    try:
        items, cursor = list_messages(user_session(), g.user_id, filter=flt, query=query,
                                      cursor=args.get("cursor") or None, limit=limit)
    except BadCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
    return jsonify({"messages": items, "next_cursor": cursor})


@bp.get("/messages/<public_id>")
@require_user
def detail_view(public_id: str):
    detail = message_detail(user_session(), g.user_id, public_id)
    if detail is None:  # someone else's and missing look the same: ids can't be probed
        raise ApiError(404, "not_found", "No such message.")
    return jsonify(detail)


@bp.post("/messages/status")
@require_user
def status_view():
    body = request.get_json(silent=True)
    ids = body.get("thread_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) and 0 < len(i) <= 255 for i in ids):
        raise ApiError(400, "invalid_request", "thread_ids must be a list of Gmail thread or Outlook conversation ids.")
    if len(ids) > MAX_ROWS:
        raise ApiError(400, "invalid_request", f"at most {MAX_ROWS} rows per call.")
    result = row_status(user_session(), g.user_id, thread_ids=list(dict.fromkeys(ids)))
    return jsonify({"rows": result})


def _record_viewing(message_ids: list[int]) -> None:
    now = time.time()
    with user_transaction() as session:
        for message_id in message_ids:
            session.add(SenderActivity(user_id=g.user_id, message_id=message_id, activity="viewing", at_epoch=now))


@bp.post("/messages/<public_id>/viewing")
@require_user
def viewing_message(public_id: str):
    """The sender's client: "I'm looking at this message now" — the next few seconds of hits are the sender."""
    message_id = user_session().scalar(select(TrackedMessage.id).where(TrackedMessage.user_id == g.user_id,
                                                                       TrackedMessage.public_id == public_id))
    if message_id is None:
        raise ApiError(404, "not_found", "No such message.")
    _record_viewing([message_id])
    return "", 204


@bp.post("/viewing")
@require_user
def viewing_thread():
    """The same signal by thread: opening a conversation in Gmail or Outlook knows the thread, not our ids."""
    body = request.get_json(silent=True)
    thread_id = body.get("thread_id") if isinstance(body, dict) else None
    if not isinstance(thread_id, str) or not 0 < len(thread_id) <= 255:
        raise ApiError(400, "invalid_request", "thread_id is required.")
    ids = user_session().scalars(select(TrackedMessage.id).where(TrackedMessage.user_id == g.user_id,
                                                                 TrackedMessage.provider_thread_id == thread_id)).all()
    if ids:
        _record_viewing(list(ids))
    return jsonify({"messages": len(ids)})
