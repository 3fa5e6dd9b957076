"""The part of Gmail's search language (``q=``) that mail software relies on.

Supported: ``rfc822msgid:``, ``in:`` / ``label:`` / ``is:``, ``from:`` ``to:`` ``cc:`` ``bcc:``
``subject:``, ``has:attachment``, ``after:`` / ``before:``, bare words and ``"quoted phrases"``,
``-term`` negation, and ``OR`` between two terms (binding tighter than the implicit AND, as in Gmail).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

_TOKEN = re.compile(r'(-?)(?:([A-Za-z0-9_]+):)?("([^"]*)"|\S+)')
_IN_LABELS = {
    "inbox": "INBOX",
    "sent": "SENT",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "trash": "TRASH",
    "spam": "SPAM",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "unread": "UNREAD",
    "chats": "CHAT",
}


class Searchable(Protocol):
    label_ids: list[str]
    internal_date: int

    def header_text(self, name: str) -> str: ...

    @property
    def rfc822_message_id(self) -> str | None: ...

    @property
    def search_text(self) -> str: ...

    @property
    def has_attachment(self) -> bool: ...


Predicate = Callable[[Searchable], bool]


def _label_predicate(label: str) -> Predicate:
    wanted = _IN_LABELS.get(label.lower(), label).upper()
    if wanted == "ANYWHERE":
        return lambda message: True
    return lambda message: wanted in (existing.upper() for existing in message.label_ids)


def _date_predicate(value: str, *, after: bool) -> Predicate | None:
    if value.isdigit():
        boundary_ms = int(value) * 1000
    else:
        try:
            moment = datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        boundary_ms = int(moment.timestamp() * 1000)
    if after:
        return lambda message: message.internal_date >= boundary_ms
    return lambda message: message.internal_date < boundary_ms


def _word_predicate(word: str) -> Predicate:
    needle = word.casefold()
    return lambda message: needle in message.search_text


def _term(operator: str | None, value: str) -> Predicate:
    op = (operator or "").lower()
    if op == "rfc822msgid":
        wanted = value.strip().strip("<>")
        return lambda message: message.rfc822_message_id == wanted
    if op in ("in", "label"):
        return _label_predicate(value)
    if op == "is":
        if value.lower() == "read":
            return lambda message: "UNREAD" not in message.label_ids
        return _label_predicate(value)
    if op in ("from", "to", "cc", "bcc", "subject"):
        needle = value.casefold()
        return lambda message: needle in message.header_text(op).casefold()
    if op == "has" and value.lower() == "attachment":
        return lambda message: message.has_attachment
    if op in ("after", "before", "newer", "older"):
        predicate = _date_predicate(value, after=op in ("after", "newer"))
        if predicate is not None:
            return predicate
    # An operator Gmail does not know is searched as plain text, as Gmail does.
    return _word_predicate(f"{operator}:{value}" if operator else value)


def compile_query(query: str) -> Predicate:
    """Turn a ``q`` string into a predicate over messages."""
    clauses: list[list[Predicate]] = []
    pending_or = False
    for match in _TOKEN.finditer(query or ""):
        negate, operator, raw_value, quoted = match.groups()
        value = quoted if quoted is not None else raw_value
        if not negate and operator is None and quoted is None and value == "OR":
            pending_or = bool(clauses)
            continue
        predicate = _term(operator, value)
        if negate:
            predicate = (lambda inner: lambda message: not inner(message))(predicate)
        if pending_or:
            clauses[-1].append(predicate)
        else:
            clauses.append([predicate])
        pending_or = False

    def matches(message: Searchable) -> bool:
        return all(any(alternative(message) for alternative in clause) for clause in clauses)

    return matches


def excluded_by_default(message: Searchable) -> bool:
    """Gmail leaves spam and trash out of lists unless includeSpamTrash is set."""
    return "SPAM" in message.label_ids or "TRASH" in message.label_ids
