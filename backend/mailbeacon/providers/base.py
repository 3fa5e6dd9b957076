"""MailProvider: one small interface for "fetch the draft, replace its body, send it", whatever the provider.

Adapters raise these errors and nothing provider-specific, so the send service decides retries in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    """Base class; `message` is safe to show the user."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientProviderError(ProviderError):
    """429, 5xx, timeouts: retry later with back-off. `retry_after` in seconds when the provider said."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """The request itself is wrong (400, 403…): retrying won't help."""


class NotFound(PermanentProviderError):
    """The draft or message is not there (any more)."""


class GrantRevoked(ProviderError):
    """The user's OAuth grant is gone (invalid_grant): the account must be reconnected."""


@dataclass(frozen=True)
class Draft:
    draft_id: str
    raw: bytes
    message_id: str | None
    thread_id: str | None


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    thread_id: str | None
    internal_date_ms: int | None = None


class MailProvider(Protocol):
    def fetch_draft(self, *, draft_id: str) -> Draft: ...

    def replace_draft(self, *, draft_id: str, raw: bytes, thread_id: str | None) -> Draft: ...

    def send_draft(self, *, draft_id: str) -> SentMessage: ...
