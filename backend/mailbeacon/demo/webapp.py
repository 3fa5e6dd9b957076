"""The demo's own small web app: the page, its JSON endpoints, the recipient's message frame, a landing page.

It is a separate Flask app on its own port, in front of nothing: it plays the senders' mail apps with their
mailbeacon clients (Alex's Gmail with the extension, Jordan's Outlook on the web with the add-in: composing,
saving the draft in that sender's stand-in, asking the backend to send it) and the recipient's mail app (showing
what was delivered), and shows each sender's view of the tracking. It never touches the backend's internals to
send: sending goes through the backend's public API like the clients' sends do.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request

from .compose import Compose, ComposeError
from .feed import SenderFeed
from .outbox import Outbox
from .recipient import MESSAGE_POLICY, RecipientInbox
from .sender import DemoError

HERE = Path(__file__).parent
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass
class DemoSender:
    """One signed-in sender: a "send as" choice in the compose window and a view in the sender panel."""

    key: str  # "gmail" or "outlook": the form's value and the page's ids
    service: str  # "Gmail", "Outlook"
    client: str  # the mailbeacon client the sender works through, as the page names it
    email: str
    name: str | None
    outbox: Outbox
    feed: SenderFeed

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def first_name(self) -> str:
        return _first_name(self.name, self.email)


@dataclass
class DemoParties:
    """Who plays whom: the signed-in senders (the first is the compose window's default) and the recipient the
    compose window suggests."""

    senders: list[DemoSender]
    recipient_email: str
    recipient_name: str | None
    address_note: str


def create_demo_app(*, parties: DemoParties, inboxes: Callable[[], list[RecipientInbox]],
                    allowed_hosts: set[str]) -> Flask:
    app = Flask("mailbeacon.demo", root_path=str(HERE), static_folder="static", template_folder="templates")
    app.config["JSON_SORT_KEYS"] = False
    senders = {sender.key: sender for sender in parties.senders}

    @app.before_request
    def _only_our_own_origin():
        # A page on another site (or a DNS-rebound name) must not drive the demo's senders.
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
            "demo.html", senders=parties.senders, recipient_email=parties.recipient_email,
            recipient_first_name=_first_name(parties.recipient_name, parties.recipient_email),
            landing_url=request.host_url + "pricing?plan=pro&seats=5", address_note=parties.address_note)

    @app.get("/pricing")
    def landing():
        return render_template("landing.html", url=request.url)

    @app.get("/demo/state")
    def state():
        inbox = [{**entry.as_json(), "service": box.service, "mailbox": box.address}
                 for box in inboxes() for entry in box.entries()]
        inbox.sort(key=lambda e: e["received_at"], reverse=True)
        return jsonify({"senders": {key: sender.feed.snapshot() for key, sender in senders.items()},
                        "inbox": inbox})

    @app.get("/demo/mail/<service>/<mailbox>/<message_id>")
    def mail(service: str, mailbox: str, message_id: str):
        box = next((b for b in inboxes() if b.service == service and b.address.casefold() == mailbox.casefold()),
                   None)
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
        sender = senders.get(_text(body, "send_as"))
        if sender is None:
            return _error(400, "invalid_request", "Choose who sends it: " + " or ".join(senders) + ".")
        try:
            compose = Compose.from_form(to=_text(body, "to"), subject=_text(body, "subject"),
                                        body=_text(body, "body"))
        except ComposeError as exc:
            return _error(400, "invalid_compose", str(exc), draft_id=body.get("draft_id"))
        draft = sender.outbox.save(compose, draft_id=body.get("draft_id"))
        key = body.get("idempotency_key")
        try:
            queued = sender.outbox.send(draft, track_opens=body.get("track_opens") is not False,
                                        track_clicks=body.get("track_clicks") is not False,
                                        idempotency_key=key if isinstance(key, str) else _fresh_key())
        except DemoError as exc:
            return _error(502, "backend_refused", str(exc), draft_id=draft.id)
        return jsonify({"message": queued, "draft_id": draft.id, "send_as": sender.key}), 202

    return app


def _fresh_key() -> str:
    return "demo-" + secrets.token_hex(12)


def _text(body: dict, name: str) -> str:
    value = body.get(name, "")
    return value if isinstance(value, str) else ""


def _first_name(name: str | None, email: str) -> str:
    return (name or email.split("@")[0]).split(" ")[0].split(".")[0].capitalize()


def _error(status: int, code: str, message: str, **extra: Any):
    return jsonify({"error": {"code": code, "message": message}, **extra}), status
