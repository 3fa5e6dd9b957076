"""Authorization codes, grants, access and refresh tokens, with Google's rules and error words.

Rules kept from Google because client code must cope with them:
- a refresh token is issued only with ``access_type=offline``, and again for the same account and
  client only with ``prompt=consent`` (otherwise the second sign-in silently gets none);
- a code is single-use; presenting it twice revokes what it was exchanged for (RFC 6749 §4.1.2);
- revoking either token of a grant revokes the grant: its refresh token and all its access tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .google_errors import OAuthError
from .google_keys import b64url

AUTHORIZATION_CODE_LIFETIME = 600
_VERIFIER_SHAPE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(eq=False)
class Grant:
    id: str
    email: str
    client_id: str
    scopes: frozenset[str]
    created_at: float
    nonce: str | None = None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass(eq=False)
class AuthorizationCode:
    value: str
    client_id: str
    redirect_uri: str
    email: str
    scopes: frozenset[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    offline: bool
    force_consent: bool
    expires_at: float
    redeemed_grant_id: str | None = None


@dataclass(eq=False)
class AccessToken:
    value: str
    grant_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class IssuedTokens:
    grant: Grant
    access_token: AccessToken
    refresh_token: str | None = None


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    if (method or "plain") == "S256":
        expected = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    else:
        expected = verifier
    return hmac.compare_digest(expected.encode("ascii"), challenge.encode("ascii"))


class TokenStore:
    def __init__(self, clock: Callable[[], float], access_token_lifetime: Callable[[], int]) -> None:
        self._clock = clock
        self._lifetime = access_token_lifetime
        self.reset()

    def reset(self) -> None:
        self._codes: dict[str, AuthorizationCode] = {}
        self._grants: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._access: dict[str, AccessToken] = {}

    # -- issuing ---------------------------------------------------------------------------------

    def issue_code(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        email: str,
        scopes: frozenset[str],
        nonce: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
        offline: bool,
        force_consent: bool,
    ) -> str:
        # Google's codes start with "4/0A" and contain "/": clients must URL-decode them correctly.
        value = "4/0A" + secrets.token_urlsafe(48).replace("-", "/", 2)
        self._codes[value] = AuthorizationCode(
            value=value,
            client_id=client_id,
            redirect_uri=redirect_uri,
            email=email,
            scopes=scopes,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            offline=offline,
            force_consent=force_consent,
            expires_at=self._clock() + AUTHORIZATION_CODE_LIFETIME,
        )
        return value

    def _new_access_token(self, grant: Grant) -> AccessToken:
        token = AccessToken(
            value="ya29.a0" + secrets.token_urlsafe(96), grant_id=grant.id, expires_at=self._clock() + self._lifetime()
        )
        self._access[token.value] = token
        return token

    def _has_live_refresh_token(self, email: str, client_id: str) -> bool:
        return any(
            grant.refresh_token and not grant.revoked and grant.email == email and grant.client_id == client_id
            for grant in self._grants.values()
        )

    def redeem_code(self, code: str, *, client_id: str, redirect_uri: str | None, verifier: str | None) -> IssuedTokens:
        record = self._codes.get(code)
        if record is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if record.redeemed_grant_id is not None:
            self._revoke_grant(self._grants[record.redeemed_grant_id])
            raise OAuthError("invalid_grant", "Bad Request")
        if record.client_id != client_id or record.expires_at <= self._clock():
            raise OAuthError("invalid_grant", "Bad Request")
        if redirect_uri is None:
            raise OAuthError("invalid_request", "Missing parameter: redirect_uri")
        if redirect_uri != record.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if record.code_challenge is None:
            if verifier:
                raise OAuthError("invalid_grant", "code_verifier or verifier is not needed.")
        elif not verifier:
            raise OAuthError("invalid_grant", "Missing code verifier.")
        elif not _VERIFIER_SHAPE.match(verifier) or not _pkce_matches(
            record.code_challenge, record.code_challenge_method, verifier
        ):
            raise OAuthError("invalid_grant", "Invalid code verifier.")

        grant = Grant(
            id=secrets.token_hex(8),
            email=record.email,
            client_id=client_id,
            scopes=record.scopes,
            created_at=self._clock(),
            nonce=record.nonce,
        )
        if record.offline and (record.force_consent or not self._has_live_refresh_token(record.email, client_id)):
            grant.refresh_token = "1//0" + secrets.token_urlsafe(72)
            self._refresh[grant.refresh_token] = grant
        self._grants[grant.id] = grant
        record.redeemed_grant_id = grant.id
        return IssuedTokens(grant, self._new_access_token(grant), grant.refresh_token)

    def refresh(self, refresh_token: str, *, client_id: str, requested_scopes: frozenset[str] | None) -> IssuedTokens:
        grant = self._refresh.get(refresh_token)
        if grant is None or grant.revoked:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if grant.client_id != client_id:
            raise OAuthError("unauthorized_client", "Unauthorized")
        if requested_scopes and not requested_scopes <= grant.scopes:
            raise OAuthError("invalid_scope", "Some requested scopes were not granted by the user.")
        return IssuedTokens(grant, self._new_access_token(grant))

    # -- checking --------------------------------------------------------------------------------

    def authenticate(self, access_token: str) -> tuple[Grant, AccessToken] | None:
        token = self._access.get(access_token)
        if token is None or token.revoked or token.expires_at <= self._clock():
            return None
        grant = self._grants[token.grant_id]
        if grant.revoked:
            return None
        return grant, token

    def grant_for_refresh_token(self, refresh_token: str) -> Grant | None:
        return self._refresh.get(refresh_token)

    # -- revoking --------------------------------------------------------------------------------

    def _revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for token in self._access.values():
            if token.grant_id == grant.id:
                token.revoked = True

    def revoke_token(self, value: str) -> bool:
        grant = self._refresh.get(value)
        if grant is None and value in self._access:
            grant = self._grants[self._access[value].grant_id]
        if grant is None or grant.revoked:
            return False
        self._revoke_grant(grant)
        return True

    def revoke_user(self, email: str, client_id: str | None = None) -> int:
        revoked = 0
        for grant in self._grants.values():
            if grant.email == email and not grant.revoked and client_id in (None, grant.client_id):
                self._revoke_grant(grant)
                revoked += 1
        return revoked

    def expire_access_tokens(self, email: str | None = None) -> int:
        now = self._clock()
        expired = 0
        for token in self._access.values():
            if token.expires_at > now and (email is None or self._grants[token.grant_id].email == email):
                token.expires_at = now
                expired += 1
        return expired

    def granted_scopes(self, email: str, client_id: str) -> frozenset[str]:
        """Everything this account granted this client and has not revoked (include_granted_scopes)."""
        scopes: set[str] = set()
        for grant in self._grants.values():
            if grant.email == email and grant.client_id == client_id and not grant.revoked:
                scopes |= grant.scopes
        return frozenset(scopes)
