"""Each demo sender's compose window, doing what their mail app and its mailbeacon client do on Send.

Alex (Gmail with the extension): the draft is saved in the Google stand-in as Gmail's autosave saves it, and the
extension asks the backend to send that draft (POST /api/v1/messages with its draft id).
Jordan (Outlook on the web with the add-in): the item is saved in the Microsoft stand-in as Office's saveAsync
saves it, and the add-in asks the backend to send it through Graph (POST /api/v1/outlook/messages with its REST id).

Either way the backend fetches the draft from the stand-in itself, checks it against what the compose window
showed, tracks it and sends it; nothing here touches the backend's internals. Each stand-in delivers only to
accounts of its own, so every recipient gets an account in the sender's stand-in before the send, and the
recipient's view reads the inboxes of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..devservers.google_errors import GoogleApiError
from ..devservers.google_state import GoogleState
from ..devservers.microsoft_directory import User
from ..devservers.microsoft_mailbox import as_recipients
from ..devservers.microsoft_odata import GraphError
from ..devservers.microsoft_state import MicrosoftState
from .compose import Compose, body_html, build_draft, outlook_seen_fingerprint, seen_fingerprint
from .sender import GmailSender, OutlookSender


@dataclass(frozen=True)
class SavedDraft:
    id: str  # what the client hands the backend: Gmail's draft id, or the Outlook item's REST id
    seen: dict  # what the compose window showed, for the backend's check


class Outbox(Protocol):
    def save(self, compose: Compose, *, draft_id: Any) -> SavedDraft: ...

    def send(self, draft: SavedDraft, *, track_opens: bool, track_clicks: bool, idempotency_key: str) -> dict: ...


class GmailOutbox:
    def __init__(self, google: GoogleState, client: GmailSender, *, email: str, name: str | None) -> None:
        self.google, self.client, self.email, self.name = google, client, email, name

    def save(self, compose: Compose, *, draft_id: Any) -> SavedDraft:
        for address in compose.to:
            self.google.add_user(address)
        raw = build_draft(compose, sender_email=self.email, sender_name=self.name)
        return SavedDraft(self._autosave(raw, draft_id), seen_fingerprint(compose, raw))

    def _autosave(self, raw: bytes, draft_id: Any) -> str:
        """The compose window's draft is replaced while it exists, else a new one is made."""
        if isinstance(draft_id, str) and draft_id:
            try:
                return self.google.save_draft(self.email, raw, draft_id=draft_id)
            except GoogleApiError:
                pass  # sent or deleted meanwhile: this is a new draft
        return self.google.save_draft(self.email, raw)

    def send(self, draft: SavedDraft, *, track_opens: bool, track_clicks: bool, idempotency_key: str) -> dict:
        return self.client.send_draft(draft_id=draft.id, seen=draft.seen, track_opens=track_opens,
                                      track_clicks=track_clicks, idempotency_key=idempotency_key)


class OutlookOutbox:
    def __init__(self, microsoft: MicrosoftState, client: OutlookSender, *, email: str) -> None:
        self.microsoft, self.client, self.email = microsoft, client, email

    def save(self, compose: Compose, *, draft_id: Any) -> SavedDraft:
        for address in compose.to:
            outlook_account(self.microsoft, address)
        # Outlook on the web turns typed URLs into links too, and its body is that HTML alone.
        body = body_html(compose.body)
        return SavedDraft(self._save_async(compose, body, draft_id), outlook_seen_fingerprint(compose, body))

    def _save_async(self, compose: Compose, body: str, draft_id: Any) -> str:
        """saveAsync on an open compose item updates that item while it is a draft; a new compose makes one."""
        state = self.microsoft
        if isinstance(draft_id, str) and draft_id:
            with state.lock:
                box = state.mailbox(self.email)
                try:
                    item = box.find(draft_id)
                except GraphError:
                    item = None  # sent or discarded meanwhile: this is a new item
                if item is not None and item.is_draft:
                    box.update(item, {"subject": compose.subject, "toRecipients": as_recipients(compose.to),
                                      "body": {"contentType": "html", "content": body}}, state.clock.now())
                    return item.rest_id
        return state.save_draft_as_outlook(self.email, subject=compose.subject, to=list(compose.to),
                                           html=body).rest_id

    def send(self, draft: SavedDraft, *, track_opens: bool, track_clicks: bool, idempotency_key: str) -> dict:
        return self.client.send_item(item_id=draft.id, seen=draft.seen, track_opens=track_opens,
                                     track_clicks=track_clicks, idempotency_key=idempotency_key)


def outlook_account(microsoft: MicrosoftState, address: str, name: str | None = None) -> User:
    """The Microsoft stand-in's account for an address, made if missing: a work account where one of its tenants
    has the address's domain, otherwise a personal Microsoft account (which may have any address)."""
    with microsoft.lock:
        existing = microsoft.directory.find_user(address)
        if existing is not None:
            return existing
        display_name = name or address.split("@")[0]
        tenant = microsoft.directory.find_tenant(address.rpartition("@")[2])
        if tenant is not None and not tenant.is_consumers:
            return microsoft.add_user(address, display_name, tenant=tenant.id)
        return microsoft.add_user(address, display_name, kind="personal")
