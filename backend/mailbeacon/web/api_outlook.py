"""/api/v1 for the Outlook add-in: send a saved draft through Graph, or prepare a body for Outlook to send itself.

POST /api/v1/outlook/messages                  Graph path (Outlook on the web, new Outlook): 202, a job sends it
POST /api/v1/messages/prepare                  prepare path (classic desktop): the tracked body and its header
POST /api/v1/messages/<id>/prepared-sent       the add-in's hint that Outlook sent a prepared message: look now
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from ..jobs.runner import enqueue
from ..services.outlook_body import OutlookBody
from ..services.outlook_prepare import PrepareRefused, note_client_sent, prepare_outlook_message
from ..services.prepare import RefusedMessage
from ..storage.models import MailAccount, TrackedMessage
from .api import message_status
from .apiauth import require_user, user_transaction
from .errors import ApiError

bp = Blueprint("api_outlook", __name__, url_prefix="/api/v1")
# A REST item id (what Office.context.mailbox.convertToRestId returns): URL-safe base64, so it is a path segment.
_ITEM_ID = re.compile(r"\A[A-Za-z0-9_=-]{20,512}\Z")
_SHA256 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
MAX_ADDRESSES = 500


def _rt():
    return current_app.extensions["mailbeacon"]


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return body


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, True)
    if not isinstance(value, bool):
        raise ApiError(400, "invalid_request", f"{name} must be true or false.")
    return value


def _addresses(container: dict, name: str, where: str) -> list[str]:
    value = container.get(name, [])
    if not isinstance(value, list) or len(value) > MAX_ADDRESSES \
            or not all(isinstance(v, str) and 0 < len(v) <= 998 for v in value):
        raise ApiError(400, "invalid_request", f"{where}{name} must be a list of addresses.")
    return value


def _subject(container: dict, where: str) -> str:
    value = container.get("subject", "")
    if not isinstance(value, str) or len(value) > 2000:
        raise ApiError(400, "invalid_request", f"{where}subject must be a string.")
    return value


def _idempotency_key(body: dict) -> str | None:
    key = body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 8 <= len(key) <= 128):
        raise ApiError(400, "invalid_request", "idempotency_key must be 8 to 128 characters.")
    return key


def _connected_outlook_account(session) -> MailAccount:
    account = session.scalar(select(MailAccount).where(MailAccount.user_id == g.user_id,
                                                       MailAccount.provider == "outlook"))
    if account is None:
        raise ApiError(409, "no_account", "Sign in with Microsoft first.")
    if account.status != "connected":
        raise ApiError(409, "account_disconnected", account.status_reason or "Sign in with Microsoft again.")
    return account


@bp.post("/outlook/messages")
@require_user
def send_outlook_message():
    """Send the draft the add-in saved (its REST id) tracked; the send job reports back on the event channel."""
    body = _json_body()
    item_id = body.get("item_id")
    if not isinstance(item_id, str) or not _ITEM_ID.match(item_id):
        raise ApiError(400, "invalid_request", "item_id is required: the saved item's REST id "
                                               "(Office.context.mailbox.convertToRestId).")
    track_opens, track_clicks = _flag(body, "track_opens"), _flag(body, "track_clicks")
    seen = body.get("seen")
    if not isinstance(seen, dict):
        raise ApiError(400, "invalid_request", "seen {to, cc, bcc, subject, text_sha256} is required: we never "
                                               "send a draft that isn't the one on screen.")
    clean_seen: dict = {name: _addresses(seen, name, "seen.") for name in ("to", "cc", "bcc")}
    clean_seen["subject"] = _subject(seen, "seen.")
    if seen.get("text_sha256") is not None:
        if not isinstance(seen["text_sha256"], str) or not _SHA256.match(seen["text_sha256"]):
            raise ApiError(400, "invalid_request", "seen.text_sha256 must be a hex SHA-256.")
        clean_seen["text_sha256"] = seen["text_sha256"].lower()
    key = _idempotency_key(body)
    rt = _rt()
    with user_transaction() as session:
        if key:
            existing = session.scalar(select(TrackedMessage).where(TrackedMessage.user_id == g.user_id,
                                                                   TrackedMessage.idempotency_key == key))
            if existing is not None:
                return jsonify(message_status(existing)), 202
        account = _connected_outlook_account(session)
        message = TrackedMessage(user_id=g.user_id, account_id=account.id, provider="outlook", status="queued",
                                 provider_draft_id=item_id, idempotency_key=key, requested_opens=track_opens,
                                 requested_clicks=track_clicks, client_seen={**clean_seen, "path": "graph"},
                                 subject=clean_seen["subject"],
                                 recipients=clean_seen["to"] + clean_seen["cc"] + clean_seen["bcc"])
        session.add(message)
        session.flush()
        message_id, payload = message.id, message_status(message)
    enqueue(rt, "mailbeacon.jobs.outlook.send_outlook_message", message_id)
    return jsonify(payload), 202


@bp.post("/messages/prepare")
@require_user
def prepare_message():
    """Track a body for classic Outlook to send natively; set the returned body and header, then let it send."""
    body = _json_body()
    content = body.get("body")
    if not isinstance(content, dict) or content.get("content_type") not in ("html", "text") \
            or not isinstance(content.get("content"), str):
        raise ApiError(400, "invalid_request", "body {content_type: \"html\"|\"text\", content} is required.")
    rt = _rt()
    if len(content["content"]) > rt.config.max_message_bytes:
        raise ApiError(413, "too_large", f"The body is over the limit of {rt.config.max_message_bytes} bytes.")
    fields = {name: _addresses(body, name, "") for name in ("to", "cc", "bcc")}
    try:
        with user_transaction() as session:
            done = prepare_outlook_message(
                rt, session, user_id=g.user_id, subject=_subject(body, ""), body=OutlookBody(
                    content["content_type"], content["content"]), track_opens=_flag(body, "track_opens"),
                track_clicks=_flag(body, "track_clicks"), idempotency_key=_idempotency_key(body), **fields)
            payload = {"message": message_status(done.message),
                       "body": {"content_type": done.body.content_type, "content": done.body.content},
                       "header": done.header, "report": done.prepared.summary()}
    except PrepareRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except RefusedMessage as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/messages/<public_id>/prepared-sent")
@require_user
def prepared_sent(public_id: str):
    """The add-in saw Outlook send a prepared message. A hint: the message counts as sent only once Graph shows
    the copy in Sent Items."""
    rt = _rt()
    with user_transaction() as session:
        message = session.scalar(select(TrackedMessage).where(TrackedMessage.public_id == public_id,
                                                              TrackedMessage.user_id == g.user_id))
        if message is None or message.provider != "outlook":
            raise ApiError(404, "not_found", "No such prepared message.")
        payload = message_status(message)
        if message.status != "prepared":
            return jsonify(payload), 200
        note_client_sent(session, message)
        message_id = message.id
    enqueue(rt, "mailbeacon.jobs.outlook.find_outlook_sent_copy", message_id)
    return jsonify(payload), 202
