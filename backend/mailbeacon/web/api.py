"""/api/v1: the JSON API the extension and the add-in use. Thin: parse, authorise, call a service, render."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from ..jobs.runner import enqueue
from ..services import api_tokens
from ..storage.models import MailAccount, TrackedMessage, User
from .api_settings import user_settings
from .apiauth import require_user, user_session, user_transaction
from .errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_DRAFT_ID = re.compile(r"\A[A-Za-z0-9_:.-]{1,128}\Z")
_SHA256 = re.compile(r"\A[0-9a-fA-F]{64}\Z")


def _rt():
    return current_app.extensions["mailbeacon"]


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return body


def _bool(body: dict, name: str, default: bool | None = None) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ApiError(400, "invalid_request", f"{name} must be true or false.")
    return value


def _address_list(seen: dict, name: str) -> list[str]:
    value = seen.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 998 for v in value) \
            or len(value) > 500:
        raise ApiError(400, "invalid_request", f"seen.{name} must be a list of addresses.")
    return value


def message_status(message: TrackedMessage) -> dict:
    return {
        "id": message.public_id,
        "status": message.status,
        "status_detail": message.status_detail,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "thread_id": message.provider_thread_id,
        "subject": message.subject,
        "recipients": message.recipients or [],
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "tracking": {"opens": message.track_opens, "clicks": message.track_clicks,
                     "skipped_reason": message.tracking_skipped_reason,
                     "skipped_detail": message.tracking_skipped_detail},
    }


@bp.get("/me")
@require_user
def me():
    rt = _rt()
    settings = user_settings()  # first: a new user's first call writes their settings in a transaction
    session = user_session()
    user = session.get(User, g.user_id)
    accounts = session.scalars(select(MailAccount).where(MailAccount.user_id == g.user_id)).all()
    return jsonify({
        "email": user.email, "name": user.display_name,
        "accounts": [{"id": a.id, "provider": a.provider, "address": a.address, "status": a.status,
                      "status_reason": a.status_reason} for a in accounts],
        "defaults": {"track_opens": settings.default_track_opens and settings.open_tracking_enabled,
                     "track_clicks": settings.default_track_clicks and settings.click_tracking_enabled},
        # Where the real-time channel lives (a separate gevent service in production, this server otherwise).
        "stream_url": (rt.config.stream_url or rt.config.public_url) + "/api/v1/stream",
        # Where pixels and click URLs point, so a client can keep its own browser from loading them.
        "tracking_base_url": rt.config.public_url,
    })


@bp.post("/messages")
@require_user
def send_message():
    """Send a Gmail draft tracked: answers 202 at once; the send job does the rest and reports back."""
    body = _json_body()
    provider = body.get("provider", "gmail")
    if provider != "gmail":
        raise ApiError(400, "invalid_request", "provider must be \"gmail\" here (Outlook uses its own paths).")
    draft_id = body.get("draft_id")
    if not isinstance(draft_id, str) or not _DRAFT_ID.match(draft_id):
        raise ApiError(400, "invalid_request", "draft_id is required (Gmail's draft id, e.g. r-123456789).")
    track_opens, track_clicks = _bool(body, "track_opens", True), _bool(body, "track_clicks", True)
    seen = body.get("seen")
    if not isinstance(seen, dict):
        raise ApiError(400, "invalid_request", "seen {to, cc, bcc, subject, text_sha256} is required: we never "
                                               "send a draft that isn't the one on screen.")
    clean_seen = {name: _address_list(seen, name) for name in ("to", "cc", "bcc")}
    subject = seen.get("subject")
    if subject is not None:
        # Omitted or null: the client couldn't see it (Gmail hides the subject box of a reply), so it isn't compared.
        if not isinstance(subject, str) or len(subject) > 2000:
            raise ApiError(400, "invalid_request", "seen.subject must be a string or null.")
        clean_seen["subject"] = subject
    if seen.get("text_sha256") is not None:
        if not isinstance(seen["text_sha256"], str) or not _SHA256.match(seen["text_sha256"]):
            raise ApiError(400, "invalid_request", "seen.text_sha256 must be a hex SHA-256.")
        clean_seen["text_sha256"] = seen["text_sha256"].lower()
    key = body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 8 <= len(key) <= 128):
        raise ApiError(400, "invalid_request", "idempotency_key must be 8 to 128 characters.")
    rt = _rt()
    with user_transaction() as session:
        if key:
            existing = session.scalar(select(TrackedMessage).where(TrackedMessage.user_id == g.user_id,
                                                                   TrackedMessage.idempotency_key == key))
            if existing is not None:
                return jsonify(message_status(existing)), 202
        account = session.scalar(select(MailAccount).where(MailAccount.user_id == g.user_id,
                                                           MailAccount.provider == "gmail"))
        if account is None:
            raise ApiError(409, "no_account", "Connect your Google account first.")
        if account.status != "connected":
            raise ApiError(409, "account_disconnected", account.status_reason or "Reconnect your Google account.")
        message = TrackedMessage(user_id=g.user_id, account_id=account.id, provider="gmail", status="queued",
                                 provider_draft_id=draft_id, idempotency_key=key, requested_opens=track_opens,
                                 requested_clicks=track_clicks, client_seen=clean_seen,
                                 subject=clean_seen.get("subject", ""), recipients=clean_seen["to"] + clean_seen["cc"]
                                 + clean_seen["bcc"])
        session.add(message)
        session.flush()
        message_id, payload = message.id, message_status(message)
    enqueue(rt, "mailbeacon.jobs.send.send_message", message_id)
    return jsonify(payload), 202


@bp.get("/tokens")
@require_user
def tokens():
    rows = api_tokens.list_tokens(user_session(), g.user_id)
    return jsonify({"tokens": [{
        "id": t.id, "name": t.name, "client": t.client, "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(), "last_used_at": t.last_used_at.isoformat() if t.last_used_at
        else None, "revoked": t.revoked_at is not None, "current": t.id == g.token_id} for t in rows]})


@bp.delete("/tokens/<int:token_id>")
@require_user
def revoke(token_id: int):
    if token_id > 2**63 - 1:
        raise ApiError(404, "not_found", "No such active token.")
    with user_transaction() as session:
        if not api_tokens.revoke_token(session, g.user_id, token_id):
            raise ApiError(404, "not_found", "No such active token.")
    return "", 204
