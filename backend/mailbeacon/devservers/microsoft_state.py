"""Everything the Microsoft stand-in knows, and the switches tests and the demo pull.

The state is shared by the identity and Graph blueprints and the JSON admin API, and mutated from
the server's request threads and from the test's thread, so every change happens under `lock`.
Operation names are dotted (`graph.messages.send`, `identity.token.refresh_token`); a switch set on
a prefix (`graph.messages`, `identity.token`) or on `*` applies to everything beneath it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .microsoft_directory import DEFAULT_CLIENT_ID, GRAPH_APP_ID, OFFICE_CLIENT_ID, Directory, Tenant, User
from .microsoft_grants import Grants
from .microsoft_mailbox import Mailbox, as_recipients
from .microsoft_messages import StoredMessage
from .microsoft_tokens import MintedToken, TokenService

DEFAULT_ACCESS_TOKEN_LIFETIME = 3599


class Clock:
    """Wall-clock time plus an offset tests can advance, so expiry needs no sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: int | None


def _candidates(operation: str) -> list[str]:
    parts = operation.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)] + ["*"]


class FaultPlan:
    """Failures and delays waiting for the next calls of an operation.

    It has its own lock because tests arm it directly from their thread while requests consume it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}

    def fail_next(self, operation: str, times: int = 1, *, status: int = 429, retry_after: int | None = None) -> None:
        """Answer the next `times` calls of `operation` with `status` (429/503 get a Retry-After)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if retry_after is None and status in (429, 503):
            retry_after = 1
        with self._lock:
            self._failures.setdefault(operation, []).append(Fault(status, times, retry_after))

    def slow(self, operation: str, seconds: float) -> None:
        """Delay every call of `operation` by `seconds` until set to 0."""
        with self._lock:
            if seconds <= 0:
                self._delays.pop(operation, None)
            else:
                self._delays[operation] = seconds

    def take(self, operation: str) -> Fault | None:
        """The failure to answer this call with, if one is pending; consumes one occurrence."""
        with self._lock:
            for name in _candidates(operation):
                queue = self._failures.get(name)
                if queue:
                    fault = queue[0]
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        queue.pop(0)
                    return Fault(fault.status, 1, fault.retry_after)
        return None

    def delay_for(self, operation: str) -> float:
        with self._lock:
            return next((self._delays[n] for n in _candidates(operation) if n in self._delays), 0.0)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._delays.clear()


class MicrosoftState:
    """Directory, grants, mailboxes, clock and faults of one stand-in, with the switches as methods.

    Plain attributes are switches too: `auto_approve`, `access_token_lifetime` (seconds; msal treats
    under 300 as already expired, which forces a refresh), `draft_sync_lag`, `normalise_html`.
    """

    def __init__(self, *, auto_approve: bool = False, access_token_lifetime: int = DEFAULT_ACCESS_TOKEN_LIFETIME,
                 base_url: str = "https://127.0.0.1") -> None:
        self.lock = threading.RLock()
        self.tokens = TokenService(base_url)  # survives reset(): clients keep the JWKS they fetched
        self.clock = Clock()
        self.faults = FaultPlan()
        self._initial = (auto_approve, access_token_lifetime)
        self.reset()

    def reset(self) -> None:
        """Back to the default directory with empty mailboxes; the signing key and CA are kept."""
        with self.lock:
            self.auto_approve, self.access_token_lifetime = self._initial
            self.directory = Directory.with_defaults()
            self.grants = Grants()
            self.mailboxes: dict[str, Mailbox] = {}
            self.faults.clear()
            self.clock.offset = 0.0
            self.draft_sync_lag = 0
            self.normalise_html = True
            self.sent_log: list[tuple[str, str]] = []  # (owner oid, immutable id) in send order

    @property
    def base_url(self) -> str:
        return self.tokens.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.tokens.base_url = value.rstrip("/")

    def before_call(self, operation: str) -> Fault | None:
        """Apply the slow-down set for an operation, then return the failure it must answer with, if any."""
        delay = self.faults.delay_for(operation)
        if delay:
            time.sleep(delay)  # outside `lock`: a slow call must not stall the others
        return self.faults.take(operation)

    # --- directory --------------------------------------------------------------------------------
    def user(self, upn_or_oid: str) -> User:
        with self.lock:
            return self.directory.user(upn_or_oid)

    def add_user(self, upn: str, display_name: str, *, kind: str = "work", tenant: str | None = None) -> User:
        with self.lock:
            return self.directory.add_user(upn, display_name, kind=kind, tenant=tenant)  # type: ignore[arg-type]

    def add_tenant(self, domain: str, display_name: str | None = None, tenant_id: str | None = None) -> Tenant:
        with self.lock:
            return self.directory.create_tenant(domain, display_name, tenant_id)

    def mailbox(self, user: User | str) -> Mailbox:
        with self.lock:
            owner = user if isinstance(user, User) else self.directory.user(user)
            if owner.oid not in self.mailboxes:
                self.mailboxes[owner.oid] = Mailbox(owner)
            box = self.mailboxes[owner.oid]
            box.normalise_html = self.normalise_html  # the switch may be flipped after the mailbox exists
            return box

    # --- identity switches ------------------------------------------------------------------------
    def require_interaction(self, user: str, reason: str = "mfa") -> None:
        """Silent token requests (refresh, OBO) for the user get `interaction_required` (MFA, AADSTS50076)
        until the user signs in interactively again."""
        with self.lock:
            self.grants.interaction_required[self.directory.user(user).oid] = reason

    def revoke_sessions(self, user: str) -> int:
        with self.lock:
            return self.grants.revoke_user(self.directory.user(user).oid)

    def expire_refresh_tokens(self, user: str | None = None) -> int:
        with self.lock:
            oid = self.directory.user(user).oid if user else None
            return self.grants.expire_refresh_tokens(oid)

    def mint_access_token(
        self,
        user: str,
        *,
        scopes: Iterable[str] = ("User.Read", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite"),
        audience: str = GRAPH_APP_ID,
        azp: str = DEFAULT_CLIENT_ID,
        lifetime: int | None = None,
    ) -> str:
        """A Graph access token for a user without the sign-in dance, for tests of Graph callers."""
        with self.lock:
            return self.tokens.access_token(
                self.directory.user(user), audience=audience, scopes=scopes, azp=azp, now=self.clock.now(),
                lifetime=lifetime or self.access_token_lifetime,
            ).token

    def mint_sso_token(
        self,
        user: str,
        *,
        audience: str | None = None,
        scopes: Iterable[str] = ("access_as_user",),
        azp: str = OFFICE_CLIENT_ID,
        lifetime: int = 3600,
        expired: bool = False,
        not_yet_valid: bool = False,
        forged: bool = False,
        issuer: str | None = None,
    ) -> MintedToken:
        """The token Office.auth.getAccessToken() hands an add-in, for the add-in's own API.

        `audience` defaults to the default app's application id URI. `expired`, `not_yet_valid`,
        `forged` (right kid, wrong key) and `issuer` make the variants a verifier must reject; a
        wrong audience is just another `audience`.
        """
        with self.lock:
            subject = self.directory.user(user)
            default_app = self.directory.apps.get(DEFAULT_CLIENT_ID)
            target = audience or (default_app.app_id_uri if default_app else None)
            if not target:
                raise ValueError("no audience given and no default app registered")
            now = self.clock.now()
            if expired:
                now -= lifetime + 3600
            elif not_yet_valid:
                now += 3600
            return self.tokens.access_token(
                subject, audience=target, scopes=scopes, azp=azp, now=now, lifetime=lifetime,
                issuer=issuer, forged=forged,
            )

    # --- mail switches ----------------------------------------------------------------------------
    def set_draft_sync_lag(self, requests: int) -> None:
        """Drafts created from now on answer 404 to the next `requests` requests for them."""
        with self.lock:
            self.draft_sync_lag = max(0, requests)

    def save_draft_as_outlook(self, user: str, *, unsynced_requests: int = 0, **message: Any) -> StoredMessage:
        """What Outlook's saveAsync does: a draft appears in the mailbox (later, if unsynced)."""
        headers = message.pop("headers", None) or {}
        with self.lock:
            payload = _graph_payload(**message)
            draft = self.mailbox(user).create_draft(payload, self.clock.now(), unsynced_requests=unsynced_requests)
            # Outlook itself may set any header; only Graph insists on the x- prefix.
            for name, value in headers.items():
                draft.set_x_header(name, value)
            return draft

    def simulate_native_send(self, user: str, *, visible_after_lists: int = 0, **message: Any) -> StoredMessage:
        """Classic Outlook sent the message itself: it lands straight in Sent Items with its headers.

        Accepts subject, to, cc, bcc, html or text, headers ({name: value}) and internet_message_id.
        `visible_after_lists` keeps it out of the next N list requests, as a sync delay would.
        """
        with self.lock:
            draft = self.save_draft_as_outlook(user, **message)
            self.deliver(draft)
            draft.hidden_from_lists = visible_after_lists
            return draft

    def deliver(self, message: StoredMessage) -> None:
        """Send a draft: move it to Sent Items and file copies in stand-in recipients' inboxes."""
        with self.lock:
            sender = self.mailbox(message.owner_address)
            now = self.clock.now()
            sender.send(message, now)
            self.sent_log.append((sender.user.oid, message.immutable_id))
            for recipient in message.to + message.cc + message.bcc:
                target = self.directory.find_user(recipient["emailAddress"]["address"])
                if target is not None:
                    self.mailbox(target).receive(message, now)

    def sent_messages(self, user: str | None = None) -> list[dict[str, Any]]:
        """Every message sent through the stand-in (Graph or native), oldest first, as Graph JSON."""
        with self.lock:
            owner = self.directory.user(user).oid if user else None
            result = []
            for oid, immutable_id in self.sent_log:
                if owner not in (None, oid):
                    continue
                stored = self.mailboxes[oid].messages.get(immutable_id)
                if stored is None:
                    continue
                rendered = stored.to_graph(select=None, expand={"singleValueExtendedProperties": None}, immutable=True)
                rendered["internetMessageHeaders"] = stored.internet_message_headers()
                rendered["owner"] = stored.owner_address
                result.append(rendered)
            return result


def _graph_payload(
    *,
    subject: str = "",
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    bcc: Iterable[str] = (),
    html: str | None = None,
    text: str | None = None,
    internet_message_id: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject": subject,
        "toRecipients": as_recipients(to),
        "ccRecipients": as_recipients(cc),
        "bccRecipients": as_recipients(bcc),
        "body": {"contentType": "html", "content": html} if html is not None
        else {"contentType": "text", "content": text or ""},
    }
    if internet_message_id:
        payload["internetMessageId"] = internet_message_id
    return payload
