"""Everything the Google stand-in knows, and the switches tests and the demo use to steer it.

One :class:`GoogleState` per stand-in. Every public method takes the state's lock, so tests may call
them from their own thread while the server answers requests from its threads.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import google_mime as mime
from .google_faults import FaultPlan
from .google_grants import TokenStore
from .google_keys import SigningKey
from .google_mailbox import IdFactory, Mailbox, StoredMessage

DEFAULT_CLIENT_ID = "mailbeacon-dev.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "mailbeacon-dev-secret"
DEFAULT_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("alex.sender@example.com", "Alex Sender"),
    ("sam.recipient@example.net", "Sam Recipient"),
)
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    sub: str

    @property
    def given_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def family_name(self) -> str:
        return self.name.partition(" ")[2]


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    # None means "any loopback URI on any port", Google's rule for installed apps; the dev client uses it.
    redirect_uris: tuple[str, ...] | None = None
    name: str = ""

    def allows_redirect(self, uri: str) -> bool:
        if self.redirect_uris is not None:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in _LOOPBACK_HOSTS and not parts.fragment


@dataclass(frozen=True)
class SentMessage:
    """One message that left a stand-in mailbox, as the outside world received it."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    gmail_id: str
    thread_id: str
    rfc822_message_id: str | None
    sent_at: float
    operation: str

    def as_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "recipients": list(self.recipients),
            "raw": mime.encode_raw(self.raw),
            "id": self.gmail_id,
            "threadId": self.thread_id,
            "rfc822MessageId": self.rfc822_message_id,
            "sentAt": self.sent_at,
            "operation": self.operation,
        }


def stable_sub(email: str) -> str:
    """A 21-digit subject id like Google's, stable per address so a restarted demo keeps its users."""
    digest = int.from_bytes(hashlib.sha256(email.encode("utf-8")).digest()[:9], "big")
    return "1" + str(digest).zfill(20)[-20:]


@dataclass
class PendingConsent:
    """An authorization request that passed validation and waits for a person to decide on it."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    scopes: frozenset[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    offline: bool
    force_consent: bool
    login_hint: str | None
    include_granted_scopes: bool
    created_at: float


class GoogleState:
    def __init__(
        self,
        *,
        auto_approve: bool = False,
        access_token_lifetime: int = 3600,
        accounts: Iterable[tuple[str, str]] = DEFAULT_ACCOUNTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        # Tests may swap ``clock`` (to age codes and tokens) and ``sleep`` (to observe injected delays);
        # everything reads them through these attributes.
        self.clock = clock
        self.sleep: Callable[[float], None] = time.sleep
        self.base_url: str | None = None
        self.auto_approve = auto_approve
        self.access_token_lifetime = access_token_lifetime
        self.keys = SigningKey()
        self.faults = FaultPlan()
        self.tokens = TokenStore(self._now, lambda: self.access_token_lifetime)
        self.pending_consents: dict[str, PendingConsent] = {}
        self.uploads: dict[str, Any] = {}
        self._initial_accounts = tuple(accounts)
        self._initial_settings = (auto_approve, access_token_lifetime, clock)
        self._ids = IdFactory(self._now)
        self._seed()

    def _now(self) -> float:
        return self.clock()

    def _seed(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._mailboxes: dict[str, Mailbox] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._sent: list[SentMessage] = []
        for email, name in self._initial_accounts:
            self.add_user(email, name)
        self.register_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, name="mailbeacon (development)")

    def reset(self) -> None:
        """Back to the state at start: initial settings, accounts and client; no mail, grants or faults."""
        with self.lock:
            self.auto_approve, self.access_token_lifetime, self.clock = self._initial_settings
            self.sleep = time.sleep
            self.tokens.reset()
            self.faults.reset()
            self.pending_consents.clear()
            self.uploads.clear()
            self._seed()

    # -- accounts and clients --------------------------------------------------------------------

    def add_user(self, email: str, name: str | None = None) -> Account:
        """Add a stand-in Google account (idempotent: an existing address is returned unchanged)."""
        address = email.strip()
        if "@" not in address or " " in address:
            raise ValueError(f"not an email address: {email!r}")
        with self.lock:
            existing = self._accounts.get(address.casefold())
            if existing is not None:
                return existing
            account = Account(email=address, name=name or address.split("@")[0], sub=stable_sub(address.casefold()))
            self._accounts[address.casefold()] = account
            self._mailboxes[address.casefold()] = Mailbox(address, self._ids, self._now)
            return account

    def user(self, email: str) -> Account | None:
        with self.lock:
            return self._accounts.get(email.strip().casefold())

    def users(self) -> list[Account]:
        with self.lock:
            return list(self._accounts.values())

    def default_user(self) -> Account:
        with self.lock:
            return next(iter(self._accounts.values()))

    def register_client(
        self, client_id: str, client_secret: str, *, redirect_uris: Iterable[str] | None = None, name: str = ""
    ) -> OAuthClient:
        uris = tuple(redirect_uris) if redirect_uris is not None else None
        client = OAuthClient(client_id, client_secret, uris, name)
        with self.lock:
            self._clients[client_id] = client
        return client

    def client(self, client_id: str) -> OAuthClient | None:
        with self.lock:
            return self._clients.get(client_id)

    # -- switches --------------------------------------------------------------------------------

    def fail_next(self, operation: str, *, times: int = 1, status: int = 429, retry_after: int | None = 1) -> None:
        """The next ``times`` calls of ``operation`` fail with 429 (with Retry-After), 500 or 503."""
        self.faults.fail_next(operation, times=times, status=status, retry_after=retry_after)

    def set_delay(self, seconds: float, operation: str | None = None) -> None:
        """Answer every call (or only ``operation``) ``seconds`` late; 0 clears it."""
        self.faults.set_delay(seconds, operation)

    def lose_next_response(self, operation: str = "users.drafts.send", *, times: int = 1, mode: str = "drop") -> None:
        """Do the operation, then drop the connection (``drop``) or answer 500 (``500``)."""
        self.faults.lose_next_response(operation, times=times, mode=mode)

    def set_stale_drafts(self, reads: int) -> None:
        """After each draft update, the next ``reads`` drafts.get return the previous version; 0 clears it."""
        if reads < 0:
            raise ValueError("reads cannot be negative")
        self.faults.stale_draft_reads = reads

    def revoke_grant(self, email: str, client_id: str | None = None) -> int:
        """The user removes the app's access: its tokens stop working and refreshing gets invalid_grant."""
        with self.lock:
            return self.tokens.revoke_user(self._require(email).email, client_id)

    def expire_access_tokens(self, email: str | None = None) -> int:
        """Expire live access tokens now (all, or one user's); refresh tokens stay valid."""
        with self.lock:
            return self.tokens.expire_access_tokens(self._require(email).email if email else None)

    # -- mail ------------------------------------------------------------------------------------

    def _require(self, email: str) -> Account:
        account = self._accounts.get(email.strip().casefold())
        if account is None:
            raise KeyError(f"no stand-in account {email!r}")
        return account

    def mailbox(self, email: str) -> Mailbox:
        """The account's mailbox. Hold ``state.lock`` while touching it from outside a request."""
        with self.lock:
            return self._mailboxes[self._require(email).email.casefold()]

    def save_draft(self, email: str, raw: bytes, *, draft_id: str | None = None, thread_id: str | None = None) -> str:
        """What Gmail's own compose window does on autosave: create or replace a draft. Returns its id."""
        mime.validate_structure(raw)
        with self.lock:
            mailbox = self.mailbox(email)
            if draft_id is None:
                return mailbox.create_draft(raw, thread_id).id
            return mailbox.update_draft(draft_id, raw, thread_id, self.faults.stale_draft_reads).id

    def receive_message(self, email: str, raw: bytes) -> str:
        """Deliver a message from outside into the account's INBOX. Returns its Gmail id."""
        mime.validate_structure(raw)
        with self.lock:
            return self.mailbox(email).receive(raw).id

    def messages(self, email: str, query: str = "", label_ids: Iterable[str] = ()) -> list[StoredMessage]:
        """The account's messages matching a Gmail query, newest first."""
        with self.lock:
            return self.mailbox(email).search(query, list(label_ids), include_spam_trash=True)

    def sent_messages(self) -> list[SentMessage]:
        """Everything sent through any stand-in mailbox, oldest first."""
        with self.lock:
            return list(self._sent)

    def send_message(self, email: str, raw: bytes, thread_id: str | None) -> StoredMessage:
        with self.lock:
            mailbox = self.mailbox(email)
            sent = mailbox.add_sent(raw, thread_id)
            self._deliver(mailbox, sent, "users.messages.send")
            return sent

    def send_draft(self, email: str, draft_id: str) -> StoredMessage:
        with self.lock:
            mailbox = self.mailbox(email)
            mime.recipients(mime.parse(mailbox.draft(draft_id).message.raw), required=True)
            sent = mailbox.send_draft(draft_id)
            self._deliver(mailbox, sent, "users.drafts.send")
            return sent

    def _deliver(self, mailbox: Mailbox, sent: StoredMessage, operation: str) -> None:
        recipients = tuple(dict.fromkeys(mime.recipients(sent.parsed, required=False)))
        self._sent.append(
            SentMessage(
                sender=mailbox.owner,
                recipients=recipients,
                raw=sent.raw,
                gmail_id=sent.id,
                thread_id=sent.thread_id,
                rfc822_message_id=sent.rfc822_message_id,
                sent_at=self.clock(),
                operation=operation,
            )
        )
        # Recipients see neither the Bcc list nor each other's Delivered-To.
        public_copy = mime.remove_header(sent.raw, "Bcc")
        for address in recipients:
            account = self._accounts.get(address.casefold())
            if account is None:
                continue
            if account.email.casefold() == mailbox.owner.casefold():
                mailbox.mark_self_delivery(sent)
                continue
            delivered = mime.prepend_headers(public_copy, [("Delivered-To", account.email)])
            self._mailboxes[account.email.casefold()].receive(delivered)

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "baseUrl": self.base_url,
                "autoApprove": self.auto_approve,
                "accessTokenLifetime": self.access_token_lifetime,
                "users": [{"email": a.email, "name": a.name, "sub": a.sub} for a in self._accounts.values()],
                "clients": [
                    {"clientId": c.client_id, "name": c.name, "redirectUris": c.redirect_uris}
                    for c in self._clients.values()
                ],
                "faults": self.faults.describe(),
                "sentCount": len(self._sent),
            }
