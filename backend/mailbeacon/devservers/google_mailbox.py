"""One stand-in account's Gmail mailbox: messages, drafts, threads and history ids.

Not thread-safe on its own; :class:`~.google_state.GoogleState` holds its lock around every call.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from . import google_mime as mime
from .google_errors import invalid_argument, not_found
from .google_query import compile_query, excluded_by_default

MESSAGE_FORMATS = ("minimal", "full", "raw", "metadata")
_MESSAGE_ID_SHAPE = re.compile(r"^[0-9a-f]{1,16}$")
_DRAFT_ID_SHAPE = re.compile(r"^r-?\d{1,20}$")


class IdFactory:
    """Gmail-shaped ids: message ids are 16 hex digits that grow with time; draft ids are ``r`` + int64."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = 0

    def message_id(self) -> str:
        value = max(int(self._clock() * 1000) << 20 | secrets.randbits(12), self._last + 1)
        self._last = value
        return f"{value:016x}"

    @staticmethod
    def draft_id() -> str:
        return f"r{secrets.randbits(64) - 2**63}"


def check_message_id(value: str) -> None:
    if not _MESSAGE_ID_SHAPE.match(value):
        raise invalid_argument("Invalid id value")


def check_draft_id(value: str) -> None:
    if not _DRAFT_ID_SHAPE.match(value):
        raise invalid_argument("Invalid draft id value")


@dataclass(eq=False)
class StoredMessage:
    id: str
    thread_id: str
    raw: bytes
    label_ids: list[str]
    internal_date: int
    history_id: int
    parsed: EmailMessage = field(init=False, repr=False)
    snippet: str = field(init=False, repr=False)
    rfc822_message_id: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.parsed = mime.parse(self.raw)
        self.snippet = mime.snippet(self.parsed)
        self.rfc822_message_id = mime.message_id(self.parsed)

    @property
    def size_estimate(self) -> int:
        return len(self.raw)

    def header_text(self, name: str) -> str:
        return " ".join(str(value) for value in self.parsed.get_all(name, []))

    @property
    def search_text(self) -> str:
        fields = [self.header_text(name) for name in ("Subject", "From", "To", "Cc")]
        return " ".join([*fields, self.snippet]).casefold()

    @property
    def has_attachment(self) -> bool:
        return any(part.get_content_disposition() == "attachment" for part in self.parsed.walk())

    def resource(self, fmt: str = "full", metadata_headers: list[str] | None = None) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": list(self.label_ids),
            "snippet": self.snippet,
            "sizeEstimate": self.size_estimate,
            "historyId": str(self.history_id),
            "internalDate": str(self.internal_date),
        }
        if fmt == "raw":
            resource["raw"] = mime.encode_raw(self.raw)
        elif fmt == "metadata":
            resource["payload"] = mime.metadata_payload(self.parsed, metadata_headers or [])
        elif fmt == "full":
            resource["payload"] = mime.full_payload(self.parsed, self.id)
        return resource

    def reference(self) -> dict[str, Any]:
        return {"id": self.id, "threadId": self.thread_id}


@dataclass(eq=False)
class Draft:
    id: str
    message: StoredMessage
    # Gmail's server copy can lag the compose window: for a few reads after an update it still
    # serves the previous version. ``stale_message`` is that version, ``stale_reads_left`` the count.
    stale_message: StoredMessage | None = None
    stale_reads_left: int = 0


class Mailbox:
    def __init__(self, owner: str, ids: IdFactory, clock: Callable[[], float]) -> None:
        self.owner = owner
        self._ids = ids
        self._clock = clock
        self.messages: dict[str, StoredMessage] = {}
        self.drafts: dict[str, Draft] = {}
        # Real history ids are large and unrelated across mailboxes; start somewhere plausible.
        self.history_id = 1_000 + secrets.randbelow(900_000)

    # -- helpers ---------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _next_history(self) -> int:
        self.history_id += 1
        return self.history_id

    def _thread_messages(self, thread_id: str) -> list[StoredMessage]:
        return sorted(
            (message for message in self.messages.values() if message.thread_id == thread_id),
            key=lambda message: (message.internal_date, message.id),
        )

    def _resolve_thread(self, thread_id: str | None, raw: bytes, message_id: str) -> str:
        """Gmail keeps a message in the requested thread only when the subjects agree."""
        if not thread_id:
            return message_id
        thread = self._thread_messages(thread_id)
        if not thread:
            raise invalid_argument("Invalid thread_id value")
        subject = mime.base_subject(mime.header(mime.parse(raw), "Subject"))
        if mime.base_subject(mime.header(thread[0].parsed, "Subject")) != subject:
            return message_id
        return thread_id

    def _store(self, raw: bytes, thread_id: str | None, labels: list[str]) -> StoredMessage:
        new_id = self._ids.message_id()
        message = StoredMessage(
            id=new_id,
            thread_id=self._resolve_thread(thread_id, raw, new_id),
            raw=raw,
            label_ids=labels,
            internal_date=self._now_ms(),
            history_id=self._next_history(),
        )
        self.messages[message.id] = message
        return message

    def finalise_outgoing(self, raw: bytes) -> bytes:
        """Add what Gmail adds to a message that lacks it (From, Date, Message-ID); touch nothing else."""
        parsed = mime.parse(raw)
        missing: list[tuple[str, str]] = []
        if parsed.get("From") is None:
            missing.append(("From", self.owner))
        if parsed.get("Date") is None:
            missing.append(("Date", format_datetime(datetime.fromtimestamp(self._clock(), timezone.utc))))
        if parsed.get("Message-ID") is None:
            missing.append(("Message-ID", f"<CAMB{secrets.token_urlsafe(30)}@mail.gmail.com>"))
        return mime.prepend_headers(raw, missing) if missing else raw

    # -- drafts ----------------------------------------------------------------------------------

    def create_draft(self, raw: bytes, thread_id: str | None) -> Draft:
        draft = Draft(id=self._ids.draft_id(), message=self._store(raw, thread_id, ["DRAFT"]))
        self.drafts[draft.id] = draft
        return draft

    def draft(self, draft_id: str) -> Draft:
        check_draft_id(draft_id)
        draft = self.drafts.get(draft_id)
        if draft is None:
            raise not_found()
        return draft

    def update_draft(self, draft_id: str, raw: bytes, thread_id: str | None, stale_reads: int) -> Draft:
        draft = self.draft(draft_id)
        previous = self.messages.pop(draft.message.id, draft.message)
        # Each saved version of a Gmail draft is a new message with a new id. A draft that was its
        # thread's only message keeps that thread id when the update names it.
        alone = thread_id == previous.thread_id and not self._thread_messages(previous.thread_id)
        draft.message = self._store(raw, None if alone else thread_id, ["DRAFT"])
        if alone:
            draft.message.thread_id = previous.thread_id
        if stale_reads > 0:
            draft.stale_message = previous
            draft.stale_reads_left = stale_reads
        else:
            draft.stale_message, draft.stale_reads_left = None, 0
        return draft

    def read_draft(self, draft_id: str) -> StoredMessage:
        draft = self.draft(draft_id)
        if draft.stale_reads_left > 0 and draft.stale_message is not None:
            draft.stale_reads_left -= 1
            return draft.stale_message
        return draft.message

    def delete_draft(self, draft_id: str) -> None:
        draft = self.draft(draft_id)
        del self.drafts[draft_id]
        self.messages.pop(draft.message.id, None)
        self._next_history()

    def send_draft(self, draft_id: str) -> StoredMessage:
        """The draft's message becomes the sent message (same id, same thread) and the draft is gone."""
        draft = self.draft(draft_id)
        del self.drafts[draft_id]
        old = self.messages.pop(draft.message.id)
        sent = StoredMessage(
            id=old.id,
            thread_id=old.thread_id,
            raw=self.finalise_outgoing(old.raw),
            label_ids=["SENT"],
            internal_date=self._now_ms(),
            history_id=self._next_history(),
        )
        self.messages[sent.id] = sent
        return sent

    def drafts_newest_first(self) -> list[Draft]:
        return sorted(self.drafts.values(), key=lambda draft: (draft.message.internal_date, draft.id), reverse=True)

    # -- messages --------------------------------------------------------------------------------

    def add_sent(self, raw: bytes, thread_id: str | None) -> StoredMessage:
        return self._store(self.finalise_outgoing(raw), thread_id, ["SENT"])

    def receive(self, raw: bytes) -> StoredMessage:
        """Deliver into INBOX, threading on In-Reply-To/References like Gmail does for received mail."""
        parsed = mime.parse(raw)
        referenced = set(mime.referenced_ids(parsed))
        thread_id = None
        for message in self.messages.values():
            if message.rfc822_message_id in referenced:
                thread_id = message.thread_id
                break
        return self._store(raw, thread_id, ["INBOX", "UNREAD", "CATEGORY_PERSONAL"])

    def mark_self_delivery(self, message: StoredMessage) -> None:
        """A message sent to oneself is one message carrying both SENT and INBOX, as in Gmail."""
        for label in ("INBOX", "UNREAD"):
            if label not in message.label_ids:
                message.label_ids.append(label)
        message.history_id = self._next_history()

    def message(self, message_id: str) -> StoredMessage:
        check_message_id(message_id)
        message = self.messages.get(message_id)
        if message is None:
            raise not_found()
        return message

    def search(self, query: str, label_ids: list[str], include_spam_trash: bool) -> list[StoredMessage]:
        predicate = compile_query(query)
        include_all = include_spam_trash or bool(re.search(r"\bin:(anywhere|spam|trash)\b", query or "", re.I))
        found = [
            message
            for message in self.messages.values()
            if (include_all or not excluded_by_default(message))
            and all(label in message.label_ids for label in label_ids)
            and predicate(message)
        ]
        return sorted(found, key=lambda message: (message.internal_date, message.id), reverse=True)

    def thread(self, thread_id: str) -> list[StoredMessage]:
        check_message_id(thread_id)
        messages = self._thread_messages(thread_id)
        if not messages:
            raise not_found()
        return messages

    def thread_resource(self, thread_id: str, fmt: str, metadata_headers: list[str]) -> dict[str, Any]:
        messages = self.thread(thread_id)
        return {
            "id": thread_id,
            "historyId": str(max(message.history_id for message in messages)),
            "messages": [message.resource(fmt, metadata_headers) for message in messages],
        }

    def thread_summaries(self, matching: list[StoredMessage]) -> list[dict[str, str]]:
        summaries: dict[str, dict[str, str]] = {}
        for message in matching:  # newest first, so the first seen is the thread's latest match
            if message.thread_id not in summaries:
                latest = self._thread_messages(message.thread_id)[-1]
                summaries[message.thread_id] = {
                    "id": message.thread_id,
                    "snippet": latest.snippet,
                    "historyId": str(max(m.history_id for m in self._thread_messages(message.thread_id))),
                }
        return list(summaries.values())

    def profile(self) -> dict[str, Any]:
        return {
            "emailAddress": self.owner,
            "messagesTotal": len(self.messages),
            "threadsTotal": len({message.thread_id for message in self.messages.values()}),
            "historyId": str(self.history_id),
        }
