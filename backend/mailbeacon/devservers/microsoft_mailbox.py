"""One user's Exchange mailbox: folders, messages, master categories, and what sending does to them.

Two Exchange behaviours matter to the code under test and are reproduced on purpose:
- a message's REST id encodes its folder, so moving it (sending moves Drafts -> Sent Items) gives it a
  new id, while its immutable id (asked for with `Prefer: IdType="ImmutableId"`) stays the same;
- HTML bodies are stored normalised (wrapped in `<html><head><meta ...></head><body>`), so what a client
  reads back is not byte-for-byte what it wrote.
"""

from __future__ import annotations

import email.utils
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .microsoft_directory import User
from .microsoft_messages import DEFAULT_PROPERTIES, DRAFT_ONLY, WRITABLE, StoredMessage, new_id
from .microsoft_odata import GraphError

WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "outbox": "Outbox",
    "archive": "Archive",
}
CATEGORY_COLORS = tuple(f"preset{n}" for n in range(25))
_ID_SHAPE = re.compile(r"^AA[A-Za-z0-9_\-+/=]{20,}$")
_HTML_WRAPPER = (
    '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    "</head><body>{}</body></html>"
)


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _body_read_error(detail: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", detail)


def recipients(value: Any, field_name: str) -> list[dict[str, Any]]:
    """Validate Graph recipients: `[{"emailAddress": {"address": "...", "name": "..."}}]`."""
    if not isinstance(value, list):
        raise _body_read_error(
            f"Cannot read a value of type 'Collection(microsoft.graph.recipient)' for '{field_name}'."
        )
    parsed = []
    for item in value:
        address = item.get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(address, dict) or not isinstance(address.get("address"), str):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        entry = {"address": address["address"]}
        entry["name"] = address.get("name") if isinstance(address.get("name"), str) else address["address"]
        parsed.append({"emailAddress": entry})
    return parsed


def as_recipients(addresses: Iterable[str | dict[str, Any]]) -> list[dict[str, Any]]:
    items = [a if isinstance(a, dict) else {"emailAddress": {"address": a}} for a in addresses]
    return recipients(items, "recipients")


@dataclass(frozen=True)
class Folder:
    id: str
    well_known_name: str
    display_name: str

    def to_graph(self, total: int, unread: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "parentFolderId": None,
            "childFolderCount": 0,
            "unreadItemCount": unread,
            "totalItemCount": total,
            "isHidden": False,
        }


class Mailbox:
    def __init__(self, user: User, *, normalise_html: bool = True) -> None:
        self.user = user
        self.normalise_html = normalise_html
        self.folders = {key: Folder(new_id("AAMkAGFold"), key, name) for key, name in WELL_KNOWN_FOLDERS.items()}
        self.messages: dict[str, StoredMessage] = {}
        self._by_rest_id: dict[str, str] = {}
        self.categories: list[dict[str, str]] = []

    # --- lookup -----------------------------------------------------------------------------------
    def folder(self, id_or_name: str) -> Folder:
        key = id_or_name.lower()
        if key in self.folders:
            return self.folders[key]
        for folder in self.folders.values():
            if folder.id == id_or_name:
                return folder
        if not _ID_SHAPE.match(id_or_name):
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        raise not_found()

    def find(self, message_id: str) -> StoredMessage:
        """Look a message up by REST or immutable id, as Graph accepts either."""
        if not _ID_SHAPE.match(message_id):
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        found = self.messages.get(message_id) or self.messages.get(self._by_rest_id.get(message_id, ""))
        if found is None:
            raise not_found()
        if found.unsynced_requests > 0:
            # Classic Outlook saved it locally; the server copy does not exist yet.
            found.unsynced_requests -= 1
            raise not_found()
        return found

    def listing(self, folder_key: str | None) -> list[StoredMessage]:
        """Messages visible to a list request, newest first; hidden ones count down towards appearing."""
        visible = []
        for message in self.messages.values():
            if folder_key is not None and message.folder != folder_key:
                continue
            if message.unsynced_requests > 0:
                continue
            if message.hidden_from_lists > 0:
                message.hidden_from_lists -= 1
                continue
            visible.append(message)
        return sorted(visible, key=lambda m: (m.received or m.created, m.created), reverse=True)

    # --- changes ----------------------------------------------------------------------------------
    def _new_message(self, folder_key: str, now: float) -> StoredMessage:
        folder = self.folders[folder_key]
        message = StoredMessage(
            immutable_id=new_id("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A"),
            rest_id=new_id("AAMkAGI2"),
            folder=folder_key,
            folder_id=folder.id,
            owner_address=self.user.upn,
            owner_name=self.user.display_name,
            created=now,
            modified=now,
            internet_message_id=f"<{secrets.token_hex(16).upper()}@standin.prod.outlook.com>",
        )
        self.messages[message.immutable_id] = message
        self._by_rest_id[message.rest_id] = message.immutable_id
        return message

    def move(self, message: StoredMessage, folder_key: str) -> None:
        """Move to another folder; the REST id changes with the folder, the immutable id does not."""
        del self._by_rest_id[message.rest_id]
        message.folder = folder_key
        message.folder_id = self.folders[folder_key].id
        message.rest_id = new_id("AAMkAGI2")
        self._by_rest_id[message.rest_id] = message.immutable_id

    def create_draft(self, payload: dict[str, Any], now: float, *, unsynced_requests: int = 0) -> StoredMessage:
        if not isinstance(payload, dict):
            raise _body_read_error("The request body must be a JSON object.")
        headers = payload.get("internetMessageHeaders")
        rest = {k: v for k, v in payload.items() if k != "internetMessageHeaders"}
        self._validate(rest, draft=True)
        message = self._new_message("drafts", now)
        try:
            self._apply(message, rest)
            for name, value in _custom_headers(headers):
                message.set_x_header(name, value)
        except GraphError:
            self._forget(message)
            raise
        message.unsynced_requests = unsynced_requests
        return message

    def update(self, message: StoredMessage, payload: dict[str, Any], now: float) -> None:
        if not isinstance(payload, dict):
            raise _body_read_error("The request body must be a JSON object.")
        if "internetMessageHeaders" in payload:
            raise GraphError(
                400, "ErrorInvalidPropertySet",
                "internetMessageHeaders can only be set when the message is created; "
                "use singleValueExtendedProperties to add a header to an existing draft.",
            )
        self._validate(payload, draft=message.is_draft)
        self._apply(message, payload)
        message.touch(now)

    def send(self, message: StoredMessage, now: float) -> None:
        if not message.is_draft:
            raise GraphError(400, "ErrorInvalidOperation", "Only a draft can be sent.")
        if not (message.to or message.cc or message.bcc):
            raise GraphError(
                400, "ErrorInvalidRecipients",
                "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
            )
        message.is_draft = False
        message.sent = message.received = now
        message.from_ = message.from_ or message.owner()
        message.transport_headers = self._transport_headers(message, now)
        message.touch(now)
        self.move(message, "sentitems")

    def receive(self, original: StoredMessage, now: float) -> StoredMessage:
        """File a copy of a message someone sent to this mailbox's owner in their Inbox."""
        copy = self._new_message("inbox", now)
        for name in ("internet_message_id", "subject", "body_type", "body_content", "to", "cc", "from_",
                     "x_headers", "transport_headers", "sent", "importance"):
            value = getattr(original, name)
            setattr(copy, name, list(value) if isinstance(value, list) else value)
        copy.is_draft, copy.is_read, copy.received = False, False, now
        return copy

    def _forget(self, message: StoredMessage) -> None:
        self.messages.pop(message.immutable_id, None)
        self._by_rest_id.pop(message.rest_id, None)

    def _validate(self, payload: dict[str, Any], *, draft: bool) -> None:
        for name in payload:
            if name.startswith("@odata."):
                continue
            if name not in WRITABLE and name not in DEFAULT_PROPERTIES:
                raise _body_read_error(
                    f"The property '{name}' does not exist on type 'microsoft.graph.message'. Make sure to only "
                    "use property names that are defined by the type or mark the type as open type."
                )
            if not draft and name in DRAFT_ONLY:
                raise GraphError(
                    400, "ErrorInvalidPropertyUpdateSentMessage",
                    f"The property '{name}' can't be updated once the message has been sent.",
                )

    def _apply(self, message: StoredMessage, payload: dict[str, Any]) -> None:
        for name, value in payload.items():
            if name not in WRITABLE:
                continue  # read-only properties a client echoes back are ignored, as Graph does
            if name == "subject":
                message.subject = _string(value, name)
            elif name == "body":
                message.body_type, message.body_content = self._body(value)
            elif name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
                attr = {"toRecipients": "to", "ccRecipients": "cc", "bccRecipients": "bcc", "replyTo": "reply_to"}
                setattr(message, attr[name], recipients(value, name))
            elif name == "from":
                message.from_ = recipients([value], name)[0] if value is not None else None
            elif name == "categories":
                if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                    raise _body_read_error("categories must be a collection of strings.")
                message.categories = list(dict.fromkeys(value))
            elif name == "singleValueExtendedProperties":
                if not isinstance(value, list):
                    raise _body_read_error("singleValueExtendedProperties must be a collection.")
                for item in value:
                    if not isinstance(item, dict):
                        raise _body_read_error("Each extended property must be an object with id and value.")
                    message.set_extended_property(item.get("id", ""), item.get("value"))
            elif name == "importance":
                if value not in ("low", "normal", "high"):
                    raise _body_read_error(f"The value '{value}' is not valid for 'importance'.")
                message.importance = value
            elif name == "isRead":
                message.is_read = bool(value)
            elif name == "internetMessageId":
                message.internet_message_id = _string(value, name)
            elif name == "flag" and isinstance(value, dict):
                message.flag = dict(value)

    def _body(self, value: Any) -> tuple[str, str]:
        if not isinstance(value, dict):
            raise _body_read_error("body must be an object with contentType and content.")
        kind = str(value.get("contentType", "text")).lower()
        if kind not in ("text", "html"):
            raise _body_read_error(f"The value '{value.get('contentType')}' is not valid for 'contentType'.")
        content = _string(value.get("content", ""), "content")
        if kind == "html" and self.normalise_html and not re.match(r"(?is)\s*(<!doctype[^>]*>\s*)?<html\b", content):
            content = _HTML_WRAPPER.format(content)
        return kind, content

    def _transport_headers(self, message: StoredMessage, now: float) -> list[tuple[str, str]]:
        def addresses(items: list[dict[str, Any]]) -> str:
            return ", ".join(
                email.utils.formataddr((r["emailAddress"].get("name", ""), r["emailAddress"]["address"]))
                for r in items
            )

        sender = message.from_ or message.owner()
        headers = [("From", addresses([sender])), ("To", addresses(message.to))]
        if message.cc:
            headers.append(("CC", addresses(message.cc)))
        content_type = 'text/html; charset="utf-8"' if message.body_type == "html" else 'text/plain; charset="utf-8"'
        headers += [
            ("Subject", message.subject),
            ("Thread-Topic", message.subject),
            ("Date", email.utils.formatdate(now, usegmt=False)),
            ("Message-ID", message.internet_message_id),
            ("Content-Language", "en-US"),
            ("X-MS-Has-Attach", ""),
            ("MIME-Version", "1.0"),
            ("Content-Type", content_type),
        ]
        return headers + list(message.x_headers)

    # --- master categories ------------------------------------------------------------------------
    def add_category(self, payload: Any) -> dict[str, str]:
        if not isinstance(payload, dict) or not isinstance(payload.get("displayName"), str):
            raise _body_read_error("An outlookCategory needs a displayName.")
        name = payload["displayName"].strip()
        if not name:
            raise GraphError(400, "ErrorInvalidArgument", "The category name can't be empty.")
        if any(c["displayName"].lower() == name.lower() for c in self.categories):
            raise GraphError(409, "ErrorDuplicateName", f"A category named '{name}' already exists.")
        color = payload.get("color", "preset0")
        if color not in CATEGORY_COLORS and color != "none":
            raise _body_read_error(f"The value '{color}' is not valid for 'color'.")
        category = {"id": _guid(), "displayName": name, "color": color}
        self.categories.append(category)
        return dict(category)


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _body_read_error(f"Cannot convert the value of '{name}' to a string.")
    return value


def _custom_headers(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _body_read_error("internetMessageHeaders must be a collection.")
    parsed = []
    for item in raw:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("name", "value")):
            raise _body_read_error("Each internet message header needs a string name and value.")
        if not item["name"].lower().startswith("x-"):
            raise GraphError(
                400, "InvalidInternetMessageHeader",
                f"The internet message header name '{item['name']}' should start with 'x-' or 'X-'.",
            )
        parsed.append((item["name"], item["value"]))
    return parsed


def _guid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
