"""What users have granted: authorization codes, refresh tokens, consents and pending MFA demands.

Lifetimes follow Entra: a code is good for ten minutes and once, a refresh token for 90 days of
inactivity, and refreshing does not invalidate the refresh token that was used (Entra lets old ones
live on until they expire or are revoked).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

CODE_LIFETIME = 600
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600


def _opaque(prefix: str, size: int) -> str:
    # Entra's codes and refresh tokens are opaque base64url strings starting "0.A"; be as opaque.
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(size)).rstrip(b"=").decode()


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    user_oid: str
    redirect_uri: str
    scopes: tuple[str, ...]
    issued_at: float
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    authority_tenant: str
    redeemed: bool = False

    def expired(self, now: float) -> bool:
        return now >= self.issued_at + CODE_LIFETIME


@dataclass
class RefreshGrant:
    token: str
    client_id: str
    user_oid: str
    issued_at: float
    last_used: float
    revoked: bool = False
    expired_by_switch: bool = False

    def expired(self, now: float, lifetime: int) -> bool:
        return self.expired_by_switch or now >= self.last_used + lifetime


@dataclass
class Grants:
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    # (client_id, user_oid) -> qualified permissions such as "https://graph.microsoft.com/Mail.Send"
    consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # user_oid -> the reason Entra will demand interaction on the next silent request
    interaction_required: dict[str, str] = field(default_factory=dict)
    refresh_token_lifetime: int = REFRESH_TOKEN_LIFETIME

    def issue_code(self, **fields: object) -> AuthorizationCode:
        code = AuthorizationCode(code=_opaque("0.A", 96), **fields)  # type: ignore[arg-type]
        self.codes[code.code] = code
        return code

    def issue_refresh_token(self, client_id: str, user_oid: str, now: float) -> RefreshGrant:
        grant = RefreshGrant(_opaque("0.A", 192), client_id, user_oid, issued_at=now, last_used=now)
        self.refresh_tokens[grant.token] = grant
        return grant

    def consent(self, client_id: str, user_oid: str, permissions: set[str]) -> None:
        self.consents.setdefault((client_id, user_oid), set()).update(permissions)

    def consented(self, client_id: str, user_oid: str) -> set[str]:
        return set(self.consents.get((client_id, user_oid), set()))

    def revoke_user(self, user_oid: str) -> int:
        """Like "revoke sessions" in the Entra portal: every refresh token of the user stops working."""
        count = 0
        for grant in self.refresh_tokens.values():
            if grant.user_oid == user_oid and not grant.revoked:
                grant.revoked = True
                count += 1
        return count

    def expire_refresh_tokens(self, user_oid: str | None = None) -> int:
        count = 0
        for grant in self.refresh_tokens.values():
            if user_oid in (None, grant.user_oid):
                grant.expired_by_switch = True
                count += 1
        return count
