"""A message as Exchange keeps it, and its Graph JSON views (response, PATCH, $filter).

Custom internet headers live in one place (`x_headers`) and are seen two ways, as in Exchange: as
`internetMessageHeaders` and as named extended properties in the PS_INTERNET_HEADERS property set
(`String {00020386-0000-0000-C000-000000000046} Name X-Whatever`). That is what lets a client find a
message by a header it set, with `singleValueExtendedProperties/Any(...)` in a $filter.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from .microsoft_odata import FilterExpr, GraphError

PS_INTERNET_HEADERS = "00020386-0000-0000-c000-000000000046"
_EXT_ID = re.compile(
    r"^\s*(?P<type>\w+)\s+(?:\{(?P<guid>[0-9a-fA-F-]{36})\}\s+(?P<kind>Name|Id)\s+(?P<name>.+?)|(?P<tag>0x[0-9a-fA-F]{4}))\s*$",
    re.IGNORECASE,
)

DEFAULT_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
    "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
    "parentFolderId", "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead",
    "isDraft", "webLink", "inferenceClassification", "body", "sender", "from", "toRecipients",
    "ccRecipients", "bccRecipients", "replyTo", "flag",
)
SELECTABLE = DEFAULT_PROPERTIES + ("internetMessageHeaders", "uniqueBody")
EXPANDABLE = ("singleValueExtendedProperties", "multiValueExtendedProperties")
DRAFT_ONLY = {"subject", "body", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "from",
              "internetMessageId"}
WRITABLE = DRAFT_ONLY | {"categories", "importance", "isRead", "singleValueExtendedProperties", "flag",
                         "isDeliveryReceiptRequested", "isReadReceiptRequested"}
ORDERABLE = ("sentDateTime", "receivedDateTime", "createdDateTime", "lastModifiedDateTime", "subject")


def new_id(prefix: str) -> str:
    # Exchange ids are long base64url strings with a recognisable prefix (AAMkA.. REST, AAkALg.. immutable).
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(60)).decode()


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(int(timestamp), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_datetime(timestamp: float | None) -> dt.datetime | None:
    return None if timestamp is None else dt.datetime.fromtimestamp(int(timestamp), dt.UTC)


def normalise_extended_id(raw: str) -> tuple[str, str]:
    """Return (key for comparison, canonical display form) of an extended property id, or a 400."""
    match = _EXT_ID.match(raw or "")
    if not match:
        raise GraphError(400, "ErrorInvalidExtendedPropertyValue", f"The extended property id '{raw}' is invalid.")
    prop_type = match["type"].capitalize()
    if match["tag"]:
        tag = "0x" + match["tag"][2:].upper()
        return f"{prop_type.lower()} {tag.lower()}", f"{prop_type} {tag}"
    guid, kind, name = match["guid"].lower(), match["kind"].capitalize(), match["name"]
    # Internet header names are case-insensitive, so their named properties are too.
    key_name = name.lower() if guid == PS_INTERNET_HEADERS else name
    return f"{prop_type.lower()} {{{guid}}} {kind.lower()} {key_name}", f"{prop_type} {{{guid}}} {kind} {name}"


def header_property_id(name: str) -> str:
    return f"String {{{PS_INTERNET_HEADERS}}} Name {name}"


def _copy_recipients(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"emailAddress": dict(item["emailAddress"])} for item in items]


def _html_to_text(content: str) -> str:
    without_tags = re.sub(r"(?is)<(script|style|head)\b.*?</\1>|<[^>]+>", " ", content)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


@dataclass
class StoredMessage:
    immutable_id: str
    rest_id: str
    folder: str
    folder_id: str
    owner_address: str
    owner_name: str
    created: float
    modified: float
    conversation_id: str = field(default_factory=lambda: new_id("AAQkA"))
    internet_message_id: str = ""
    subject: str = ""
    body_type: str = "html"
    body_content: str = ""
    to: list[dict[str, Any]] = field(default_factory=list)
    cc: list[dict[str, Any]] = field(default_factory=list)
    bcc: list[dict[str, Any]] = field(default_factory=list)
    reply_to: list[dict[str, Any]] = field(default_factory=list)
    from_: dict[str, Any] | None = None
    sent: float | None = None
    received: float | None = None
    is_draft: bool = True
    is_read: bool = True
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    flag: dict[str, Any] = field(default_factory=lambda: {"flagStatus": "notFlagged"})
    x_headers: list[tuple[str, str]] = field(default_factory=list)
    # Other extended properties: comparison key -> (canonical id, value)
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)
    transport_headers: list[tuple[str, str]] = field(default_factory=list)
    change_number: int = 1
    unsynced_requests: int = 0
    hidden_from_lists: int = 0

    # --- headers, both as a list and as extended properties -------------------------------------
    def set_x_header(self, name: str, value: str) -> None:
        for index, (existing, _) in enumerate(self.x_headers):
            if existing.lower() == name.lower():
                self.x_headers[index] = (existing, value)
                return
        self.x_headers.append((name, value))

    def extended_properties(self) -> list[dict[str, str]]:
        headers = [{"id": header_property_id(n), "value": v} for n, v in self.x_headers]
        stored = [{"id": canonical, "value": value} for canonical, value in self.extended.values()]
        if self.transport_headers:
            block = "".join(f"{n}: {v}\r\n" for n, v in self.transport_headers)
            stored.append({"id": "String 0x007D", "value": block})
        return headers + stored

    def set_extended_property(self, raw_id: str, value: Any) -> None:
        key, canonical = normalise_extended_id(raw_id)
        if not isinstance(value, str):
            raise GraphError(400, "ErrorInvalidExtendedPropertyValue", "Extended property values must be strings.")
        if key.startswith(f"string {{{PS_INTERNET_HEADERS}}} name "):
            self.set_x_header(canonical.split(" Name ", 1)[1], value)
        elif key == "string 0x007d":
            raise GraphError(400, "ErrorInvalidPropertySet", "The property PR_TRANSPORT_MESSAGE_HEADERS is read-only.")
        else:
            self.extended[key] = (canonical, value)

    def internet_message_headers(self) -> list[dict[str, str]]:
        pairs = self.transport_headers or self.x_headers
        return [{"name": n, "value": v} for n, v in pairs]

    # --- Graph JSON -------------------------------------------------------------------------------
    def owner(self) -> dict[str, Any]:
        return {"emailAddress": {"name": self.owner_name, "address": self.owner_address}}

    def properties(self, *, immutable: bool, text_body: bool, web_base: str) -> dict[str, Any]:
        body_type, content = self.body_type, self.body_content
        if text_body and body_type == "html":
            body_type, content = "text", _html_to_text(content)
        preview_source = content if body_type == "text" else _html_to_text(content)
        sender = self.from_ or (None if self.is_draft else self.owner())
        message_id = self.immutable_id if immutable else self.rest_id
        return {
            "id": message_id,
            "createdDateTime": iso(self.created),
            "lastModifiedDateTime": iso(self.modified),
            "changeKey": self.change_key,
            "categories": list(self.categories),
            "receivedDateTime": iso(self.received or self.created),
            "sentDateTime": iso(self.sent),
            "hasAttachments": False,
            "internetMessageId": self.internet_message_id,
            "subject": self.subject,
            "bodyPreview": preview_source[:255],
            "importance": self.importance,
            "parentFolderId": self.folder_id,
            "conversationId": self.conversation_id,
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": self.is_read,
            "isDraft": self.is_draft,
            "webLink": f"{web_base}/owa/?ItemID={message_id}&exvsurl=1&viewmodel=ReadMessageItem",
            "inferenceClassification": "focused",
            "body": {"contentType": body_type, "content": content},
            "uniqueBody": {"contentType": body_type, "content": content},
            "sender": sender,
            "from": sender,
            "toRecipients": _copy_recipients(self.to),
            "ccRecipients": _copy_recipients(self.cc),
            "bccRecipients": _copy_recipients(self.bcc),
            "replyTo": _copy_recipients(self.reply_to),
            "flag": dict(self.flag),
            "internetMessageHeaders": self.internet_message_headers(),
        }

    @property
    def change_key(self) -> str:
        return "CQAAABYAAAD" + base64.b64encode(f"{self.immutable_id[-12:]}:{self.change_number}".encode()).decode()

    def to_graph(
        self,
        *,
        select: list[str] | None,
        expand: dict[str, FilterExpr | None],
        immutable: bool,
        text_body: bool = False,
        web_base: str = "https://outlook.office365.com",
    ) -> dict[str, Any]:
        everything = self.properties(immutable=immutable, text_body=text_body, web_base=web_base)
        names = ["id", *[n for n in select if n != "id"]] if select else list(DEFAULT_PROPERTIES)
        rendered: dict[str, Any] = {"@odata.etag": f'W/"{self.change_key}"'}
        rendered.update({name: everything[name] for name in names})
        if "singleValueExtendedProperties" in expand:
            wanted = expand["singleValueExtendedProperties"]
            props = self.extended_properties()
            rendered["singleValueExtendedProperties"] = [p for p in props if wanted is None or wanted.matches(p)]
        if "multiValueExtendedProperties" in expand:
            rendered["multiValueExtendedProperties"] = []
        return rendered

    def filter_view(self) -> dict[str, Any]:
        view = self.properties(immutable=False, text_body=False, web_base="")
        view["id"] = self.rest_id
        view["singleValueExtendedProperties"] = self.extended_properties()
        for name, stamp in (("createdDateTime", self.created), ("lastModifiedDateTime", self.modified),
                            ("sentDateTime", self.sent), ("receivedDateTime", self.received or self.created)):
            view[name] = _as_datetime(stamp)
        return view

    def touch(self, now: float) -> None:
        self.modified = now
        self.change_number += 1
