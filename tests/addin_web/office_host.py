"""Outlook, as the Office.js stand-in (office-standin.js) sees it: the item on screen and the mailbox behind it.

An Outlook client keeps the draft being composed, its internet headers and session data, shows notification
messages on items, signs the user in for single sign-on and, when the send handler allows it, sends. The pages
reach all of that through one Playwright binding, `__officeHost(op, args)`, answered by `OfficeHost.binding`.

The mailbox is the Microsoft stand-in's: saveAsync writes the draft where Graph sees it (as Outlook on the web
does), a native send files the message in Sent Items with its headers (as classic Outlook's sync would), and
single sign-on asks the stand-in's control API for a token (`POST /_standin/sso-token`).
"""

from __future__ import annotations

import base64
import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from mailbeacon.devservers.microsoft_mailbox import as_recipients
from mailbeacon.devservers.microsoft_messages import StoredMessage, iso
from mailbeacon.tracking.fingerprint import html_text

# Hosts whose saveAsync writes straight to Exchange (the send handler takes the Graph path there).
SERVER_SAVING_HOSTS = ("OutlookWebApp", "newOutlookWindows")
# A 1x1 PNG for inline images (what a pasted logo would be).
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhQHhXqRvBQAAAABJRU5ErkJggg==")
_CID_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"']cid:[^>]*>", re.IGNORECASE)


class OfficeFailure(Exception):
    """An AsyncResult with status "failed": Office's numeric code, its name and message."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


def ews_id(rest_id: str) -> str:
    """What Office calls the item's id: the EWS form, which convertToRestId turns back into Graph's."""
    return rest_id.replace("-", "/").replace("_", "+")


@dataclass
class Attachment:
    id: str
    name: str
    content_type: str
    size: int
    is_inline: bool = False
    content_id: str | None = None
    content: bytes = b""

    def office_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "contentType": self.content_type, "size": self.size,
                "isInline": self.is_inline, "attachmentType": "file"}


@dataclass
class ComposeItem:
    subject: str
    to: list[str]
    body: str
    body_type: str = "html"
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    session: dict[str, str] = field(default_factory=dict)
    notifications: dict[str, dict] = field(default_factory=dict)
    stored: StoredMessage | None = None  # the server copy, once saved
    sent: StoredMessage | None = None  # what a native send filed in Sent Items
    body_sets: int = 0


class OfficeHost:
    def __init__(self, ms, *, user: str, language: str = "en-US", host_name: str = "OutlookWebApp",
                 platform: str = "OfficeOnline", mailbox_version: str = "1.14") -> None:
        self.ms = ms
        self.user = user
        self.language = language
        self.host_name = host_name
        self.platform = platform
        self.mailbox_version = mailbox_version
        self.compose: ComposeItem | None = None
        self.read: StoredMessage | None = None
        self.read_notifications: dict[str, dict] = {}
        self.completions: list[dict] = []
        self.sso_error: int | None = None  # e.g. 13012: single sign-on isn't allowed here
        self.faults: set[str] = set()  # "drop_inline_images_once": the setAsync bug from PITFALLS.md
        self.log: list[str] = []

    # --- the binding ----------------------------------------------------------------------------------------------
    def binding(self, source: dict, op: str, args: dict) -> dict:
        self.log.append(op)
        handler = getattr(self, "op_" + op.replace(".", "_"), None)
        try:
            if handler is None:
                raise OfficeFailure(5001, "InternalError", f"the Office stand-in has no {op}")
            return {"ok": handler(args or {}, source)}
        except OfficeFailure as failure:
            return {"error": {"code": failure.code, "name": failure.name, "message": failure.message}}

    def _surface(self, source: dict) -> str:
        url = getattr(source.get("frame"), "url", "") or ""
        return "runtime" if "/addin/commands/" in url else "pane"

    def _item_for(self, source: dict):
        if self._surface(source) == "runtime" or self.read is None:
            return self.compose
        return self.read

    def _compose(self) -> ComposeItem:
        if self.compose is None:
            raise OfficeFailure(9030, "InvalidItem", "no item is being composed")
        return self.compose

    # --- what each surface sees -------------------------------------------------------------------------------------
    def op_init(self, args: dict, source: dict) -> dict:
        return {"displayLanguage": self.language,
                "diagnostics": {"hostName": self.host_name, "hostVersion": "16.0.18000.10000",
                                "platform": self.platform},
                "mailboxVersion": self.mailbox_version,
                "userProfile": {"emailAddress": self.user, "displayName": self.user.split("@")[0]},
                "item": self.snapshot(self._item_for(source))}

    def snapshot(self, item) -> dict | None:
        if item is None:
            return None
        if isinstance(item, ComposeItem):
            stored = item.stored
            return {"mode": "compose", "itemType": "message",
                    "itemId": ews_id(stored.rest_id) if stored else None,
                    "conversationId": stored.conversation_id if stored else None}
        people = [{"emailAddress": r["emailAddress"]["address"], "displayName": r["emailAddress"].get("name", "")}
                  for r in item.to]
        return {"mode": "read", "itemType": "message", "itemId": ews_id(item.rest_id),
                "conversationId": item.conversation_id, "subject": item.subject,
                "internetMessageId": item.internet_message_id, "dateTimeCreated": iso(item.created),
                "to": people, "from": {"emailAddress": item.owner_address, "displayName": item.owner_name}}

    # --- the draft ----------------------------------------------------------------------------------------------
    def op_body_getType(self, args: dict, source: dict) -> str:
        return self._compose().body_type

    def op_body_get(self, args: dict, source: dict) -> str:
        item = self._compose()
        if args.get("coercionType") == "text" and item.body_type == "html":
            return " ".join(html_text(item.body).split())
        return item.body

    def op_body_set(self, args: dict, source: dict) -> None:
        item = self._compose()
        data = args.get("data")
        if not isinstance(data, str):
            raise OfficeFailure(9000, "InvalidArgument", "data must be a string")
        if "drop_inline_images_once" in self.faults:
            self.faults.discard("drop_inline_images_once")
            data = _CID_IMAGE.sub("", data)
        item.body = data
        item.body_sets += 1

    def op_subject_get(self, args: dict, source: dict) -> str:
        return self._compose().subject

    def op_recipients_get(self, args: dict, source: dict) -> list[dict]:
        addresses = getattr(self._compose(), args["field"])
        return [{"emailAddress": a, "displayName": a.split("@")[0], "recipientType": "externalUser"}
                for a in addresses]

    def op_attachments_get(self, args: dict, source: dict) -> list[dict]:
        return [a.office_json() for a in self._compose().attachments]

    def op_headers_set(self, args: dict, source: dict) -> None:
        self._compose().headers.update({str(k): str(v) for k, v in (args.get("headers") or {}).items()})

    def op_headers_get(self, args: dict, source: dict) -> dict:
        headers = {k.lower(): (k, v) for k, v in self._compose().headers.items()}
        return {name: headers[name.lower()][1] for name in args.get("names") or [] if name.lower() in headers}

    def op_headers_remove(self, args: dict, source: dict) -> None:
        item = self._compose()
        gone = {name.lower() for name in args.get("names") or []}
        item.headers = {k: v for k, v in item.headers.items() if k.lower() not in gone}

    def op_headers_all(self, args: dict, source: dict) -> str:
        if self.read is None:
            raise OfficeFailure(9030, "InvalidItem", "getAllInternetHeadersAsync is for read mode")
        return "".join(f"{h['name']}: {h['value']}\r\n" for h in self.read.internet_message_headers())

    def op_session_get(self, args: dict, source: dict) -> str:
        session = self._compose().session
        if args.get("name") not in session:
            raise OfficeFailure(9057, "KeyNotFound", "The key wasn't found in the session data.")
        return session[args["name"]]

    def op_session_set(self, args: dict, source: dict) -> None:
        self._compose().session[str(args["name"])] = str(args["value"])

    def op_session_remove(self, args: dict, source: dict) -> None:
        self._compose().session.pop(args.get("name"), None)

    def op_session_all(self, args: dict, source: dict) -> dict:
        return dict(self._compose().session)

    def op_session_clear(self, args: dict, source: dict) -> None:
        self._compose().session.clear()

    def _notifications(self, source: dict) -> dict:
        item = self._item_for(source)
        return item.notifications if isinstance(item, ComposeItem) else self.read_notifications

    def op_notifications_add(self, args: dict, source: dict) -> None:
        bar = self._notifications(source)
        if args["key"] in bar:
            raise OfficeFailure(3000, "DuplicateNotificationKey", "A notification with this key exists.")
        bar[args["key"]] = args["message"]

    def op_notifications_replace(self, args: dict, source: dict) -> None:
        self._notifications(source)[args["key"]] = args["message"]

    def op_notifications_remove(self, args: dict, source: dict) -> None:
        self._notifications(source).pop(args["key"], None)

    def op_notifications_all(self, args: dict, source: dict) -> list[dict]:
        return [{"key": k, **v} for k, v in self._notifications(source).items()]

    def op_save(self, args: dict, source: dict) -> str:
        """saveAsync: the draft as it is on screen, now on the server (created on first save)."""
        item = self._compose()
        state = self.ms.state
        with state.lock:
            if item.stored is None:
                body = {"html": item.body} if item.body_type == "html" else {"text": item.body}
                item.stored = state.save_draft_as_outlook(self.user, subject=item.subject, to=item.to, cc=item.cc,
                                                          bcc=item.bcc, headers=dict(item.headers), **body)
            else:
                state.mailbox(self.user).update(item.stored, {
                    "subject": item.subject, "toRecipients": as_recipients(item.to),
                    "ccRecipients": as_recipients(item.cc), "bccRecipients": as_recipients(item.bcc),
                    "body": {"contentType": item.body_type, "content": item.body}}, state.clock.now())
                item.stored.x_headers = list(item.headers.items())
        return ews_id(item.stored.rest_id)

    # --- sign-in ------------------------------------------------------------------------------------------------
    def op_auth_token(self, args: dict, source: dict) -> str:
        if self.sso_error is not None:
            raise OfficeFailure(self.sso_error, "SsoNotAllowed", "Single sign-on isn't available for this add-in.")
        with requests.Session() as session:
            session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace our CA
            answer = session.post(f"{self.ms.base_url}/_standin/sso-token", json={"user": self.user},
                                  verify=self.ms.ca_bundle, timeout=10)
        answer.raise_for_status()
        return answer.json()["access_token"]

    # --- the end of a send event ----------------------------------------------------------------------------------
    def op_event_completed(self, args: dict, source: dict) -> None:
        options = args.get("options") or {}
        self.completions.append(options)
        if options.get("allowEvent"):
            self.native_send()

    def native_send(self) -> StoredMessage:
        """Outlook sends the message itself: Exchange sends the saved draft, or classic Outlook's copy lands in
        Sent Items once its local store syncs — with the headers the add-in set, as Outlook would send them."""
        item = self._compose()
        state = self.ms.state
        with state.lock:
            if self.host_name in SERVER_SAVING_HOSTS:
                self.op_save({}, {})
                state.deliver(item.stored)
                item.sent = item.stored
            else:
                body = {"html": item.body} if item.body_type == "html" else {"text": item.body}
                item.sent = state.simulate_native_send(self.user, subject=item.subject, to=item.to, cc=item.cc,
                                                       bcc=item.bcc, headers=dict(item.headers), **body)
        return item.sent

    # --- what the test's Outlook window shows -------------------------------------------------------------------
    def shell_state(self) -> dict:
        """The compose form or the message read, for tests/addin_web/shell.html to draw."""
        last = self.completions[-1] if self.completions else None
        alert = None
        if last is not None and not last.get("allowEvent"):
            alert = {"message": last.get("errorMessage") or "", "action": last.get("cancelLabel")}
        inline = self.compose.attachments if self.compose else []
        if self.read is not None:
            message = self.read
            body = message.body_content if message.body_type == "html" else html_lib.escape(message.body_content)
            return {"mode": "read", "subject": message.subject, "from": message.owner_address,
                    "to": ", ".join(r["emailAddress"]["address"] for r in message.to), "body": _inline(body, inline),
                    "notifications": [v.get("message", "") for v in self.read_notifications.values()], "alert": None}
        item = self._compose()
        body = _inline(item.body if item.body_type == "html" else html_lib.escape(item.body), inline)
        return {"mode": "compose", "subject": item.subject, "from": self.user, "to": ", ".join(item.to),
                "body": body, "attachments": [a.name for a in item.attachments if not a.is_inline],
                "notifications": [v.get("message", "") for v in item.notifications.values()], "alert": alert}


def _inline(body: str, attachments: list[Attachment]) -> str:
    """The body with its cid: images pointing at the attachments' bytes, as Outlook draws inline images."""
    for attachment in attachments:
        if attachment.content_id:
            data = "data:" + attachment.content_type + ";base64," + base64.b64encode(attachment.content).decode()
            body = body.replace(f"cid:{attachment.content_id}", data)
    return body
