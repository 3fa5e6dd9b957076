"""The demo's own small web app: the page, its JSON endpoints, the recipient's message frame, a landing page.

It is a separate Flask app on its own port, in front of nothing: it plays the sender's Gmail-with-extension
(composing, saving the draft in the stand-in, asking the backend to send it) and the recipient's mail app
(showing what was delivered), and shows the sender's view of the tracking. It never touches the backend's
internals to send: sending goes through the backend's public API like the extension's does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request

from ..devservers.google_errors import GoogleApiError
from ..devservers.google_state import GoogleState
from .compose import Compose, ComposeError, build_draft, seen_fingerprint
from .feed import SenderFeed
from .recipient import MESSAGE_POLICY, RecipientInbox
from .sender import DemoError, SenderClient

HERE = Path(__file__).parent
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass
class DemoParties:
    """Who plays whom: the signed-in sender and the recipient the compose window suggests."""

    sender_email: str
    sender_name: str | None
    recipient_email: str
    recipient_name: str | None
    address_note: str


def create_demo_app(*, parties: DemoParties, google: GoogleState, sender: SenderClient, feed: SenderFeed,
                    allowed_hosts: set[str]) -> Flask:
    app = Flask("mailbeacon.demo", root_path=str(HERE), static_folder="static", template_folder="templates")
    app.config["JSON_SORT_KEYS"] = False

    def inboxes() -> list[RecipientInbox]:
        # Every stand-in mailbox but the sender's is someone the demo's mail may have reached.
        return [RecipientInbox(google, account.email) for account in google.users()
                if account.email.casefold() != parties.sender_email.casefold()]

    @app.before_request
    def _only_our_own_origin():
        # A page on another site (or a DNS-rebound name) must not drive the demo's sender.
        if request.host not in allowed_hosts:
            abort(421)
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin is not None and origin.split("://", 1)[-1] not in allowed_hosts:
            abort(403)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        return response

    @app.get("/")
    def page():
        return render_template(
            "demo.html", sender_email=parties.sender_email, sender_name=parties.sender_name or parties.sender_email,
            sender_first_name=_first_name(parties.sender_name, parties.sender_email),
            recipient_email=parties.recipient_email,
            recipient_first_name=_first_name(parties.recipient_name, parties.recipient_email),
            landing_url=request.host_url + "pricing?plan=pro&seats=5", address_note=parties.address_note)

    @app.get("/pricing")
    def landing():
        return render_template("landing.html", url=request.url)

    @app.get("/demo/state")
    def state():
        inbox = [{**entry.as_json(), "mailbox": box.address} for box in inboxes() for entry in box.entries()]
        inbox.sort(key=lambda e: e["received_at"], reverse=True)
        return jsonify({"feed": feed.snapshot(), "inbox": inbox})

    @app.get("/demo/mail/<mailbox>/<message_id>")
    def mail(mailbox: str, message_id: str):
        box = next((b for b in inboxes() if b.address.casefold() == mailbox.casefold()), None)
        document = box.message_document(message_id) if box is not None else None
        if document is None:
            abort(404)
        response = Response(document, mimetype="text/html")
        response.headers["Content-Security-Policy"] = MESSAGE_POLICY
        return response

    @app.post("/demo/send")
    def send():
        body = request.get_json(silent=True) if request.is_json else None
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "Send the compose window as JSON.")
        try:
            compose = Compose.from_form(to=_text(body, "to"), subject=_text(body, "subject"),
                                        body=_text(body, "body"))
        except ComposeError as exc:
            return _error(400, "invalid_compose", str(exc), draft_id=body.get("draft_id"))
        for address in compose.to:
            google.add_user(address)  # the stand-in delivers only to its own accounts: open one for each
        raw = build_draft(compose, sender_email=parties.sender_email, sender_name=parties.sender_name)
        draft_id = _save_draft(google, parties.sender_email, raw, body.get("draft_id"))
        key = body.get("idempotency_key")
        try:
            queued = sender.send_draft(draft_id=draft_id, seen=seen_fingerprint(compose, raw),
                                       track_opens=body.get("track_opens") is not False,
                                       track_clicks=body.get("track_clicks") is not False,
                                       idempotency_key=key if isinstance(key, str) else _fresh_key())
        except DemoError as exc:
            return _error(502, "backend_refused", str(exc), draft_id=draft_id)
        return jsonify({"message": queued, "draft_id": draft_id}), 202

    return app


def _save_draft(google: GoogleState, sender_email: str, raw: bytes, draft_id: Any) -> str:
    """Gmail's autosave: the compose window's draft is replaced while it exists, else a new one is made."""
    if isinstance(draft_id, str) and draft_id:
        try:
            return google.save_draft(sender_email, raw, draft_id=draft_id)
        except GoogleApiError:
            pass  # sent or deleted meanwhile: this is a new draft
    return google.save_draft(sender_email, raw)


def _fresh_key() -> str:
    return "demo-" + secrets.token_hex(12)


def _text(body: dict, name: str) -> str:
    value = body.get(name, "")
    return value if isinstance(value, str) else ""


def _first_name(name: str | None, email: str) -> str:
    return (name or email.split("@")[0]).split(" ")[0].split(".")[0].capitalize()


def _error(status: int, code: str, message: str, **extra: Any):
    return jsonify({"error": {"code": code, "message": message}, **extra}), status
