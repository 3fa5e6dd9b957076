"""API tokens for our clients (the extension, the add-in) and the one-time codes they are exchanged from.

Tokens are 256-bit random strings shown once and stored as SHA-256 hashes; they expire and can be revoked.
A one-time code is bound to the client's PKCE challenge and redirect URI, lives a minute, and works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..crypto import hash_api_token
from ..storage.models import ApiToken, AuthCode, User, utcnow

CODE_LIFETIME = timedelta(seconds=60)
LAST_USED_EVERY = timedelta(minutes=5)  # coarse, so every request doesn't become a write
TOKEN_PREFIX = "mbt_"  # recognisable in a leaked-secret scan, and never confused with a hit token


class AuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class IssuedToken:
    token: str
    row: ApiToken


@dataclass(frozen=True)
class Bearer:
    """Who an API call is from: no more than the call needs, read in one query."""

    user_id: int
    email: str
    token_id: int


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def issue_token(session: Session, user: User, *, client: str, name: str = "", days: int = 30) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_api_token(token), client=client, name=name[:100],
                   expires_at=utcnow() + timedelta(days=days))
    session.add(row)
    session.flush()
    return IssuedToken(token, row)


def authenticate(conn: Connection | Session, token: str) -> Bearer | None:
    """The user behind a live token: one SELECT (the token joined to its user), and an UPDATE only when the
    token's last use is more than LAST_USED_EVERY old. Runs in autocommit: the UPDATE is atomic on its own."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = conn.execute(
        select(User.id.label("user_id"), User.email, ApiToken.id.label("token_id"), ApiToken.revoked_at,
               ApiToken.expires_at, ApiToken.last_used_at)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_api_token(token))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        conn.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now))
    return Bearer(row.user_id, row.email, row.token_id)


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    result = session.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id,
                                                    ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return bool(result.rowcount)


def create_code(session: Session, user: User, *, client: str, redirect_uri: str, code_challenge: str) -> str:
    code = secrets.token_urlsafe(32)
    session.add(AuthCode(code_hash=hash_api_token(code), user_id=user.id, client=client, redirect_uri=redirect_uri,
                         code_challenge=code_challenge, expires_at=utcnow() + CODE_LIFETIME))
    session.flush()
    return code


def redeem_code(session: Session, *, code: str, code_verifier: str, redirect_uri: str) -> tuple[User, str]:
    """The user and client a genuine, unused, unexpired code was made for; AuthError otherwise."""
    if not code or not code_verifier:
        raise AuthError("invalid_request", "code and code_verifier are required")
    if not 43 <= len(code_verifier) <= 128:
        raise AuthError("invalid_request", "code_verifier must be 43 to 128 characters (RFC 7636)")
    row = session.scalar(select(AuthCode).where(AuthCode.code_hash == hash_api_token(code)).with_for_update())
    if row is None:
        raise AuthError("invalid_grant", "unknown sign-in code")
    # Mark it used before anything else can fail: a code is good for one attempt, right or wrong.
    claimed = session.execute(update(AuthCode).where(AuthCode.code_hash == row.code_hash, AuthCode.used_at.is_(None))
                              .values(used_at=utcnow())).rowcount
    if not claimed:
        raise AuthError("invalid_grant", "this sign-in code was already used")
    if row.expires_at <= utcnow():
        raise AuthError("invalid_grant", "this sign-in code has expired; sign in again")
    if not hmac.compare_digest(row.redirect_uri, redirect_uri or ""):
        raise AuthError("invalid_grant", "redirect_uri does not match the one the code was issued for")
    if not hmac.compare_digest(s256(code_verifier), row.code_challenge):
        raise AuthError("invalid_grant", "code_verifier does not match the code challenge")
    user = session.get(User, row.user_id)
    if user is None:
        raise AuthError("invalid_grant", "the account behind this code no longer exists")
    return user, row.client


def purge_expired_codes(session: Session, *, now: datetime | None = None) -> None:
    from sqlalchemy import delete

    from ..storage.models import AuthFlow

    now = now or utcnow()
    session.execute(delete(AuthCode).where(AuthCode.expires_at < now - timedelta(hours=1)))
    session.execute(delete(AuthFlow).where(AuthFlow.expires_at < now - timedelta(hours=1)))
