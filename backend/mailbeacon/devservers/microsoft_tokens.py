"""Signing and checking the stand-in's JWTs, shaped like Microsoft identity platform v2.0 tokens.

One RSA key, made at start, signs every token of every tenant and is published at every tenant's JWKS
address — Entra does the same: its signing keys are shared across tenants and the `iss` claim carries
the tenant. The key comes with a self-signed certificate so the JWKS carries `x5c`/`x5t` like the real one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import RSAKey

from .microsoft_directory import User

_ALGORITHM = "RS256"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _peek_header(token: str) -> dict[str, Any]:
    try:
        encoded = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, IndexError) as exc:
        raise TokenRejected("malformed", "JWT is not well formed.") from exc
    if not isinstance(header, dict) or token.count(".") != 2:
        raise TokenRejected("malformed", "JWT is not well formed.")
    return header


class SigningKey:
    """An RSA key with a certificate, identified the way Entra identifies keys (kid == x5t)."""

    def __init__(self, common_name: str = "accounts.standin.invalid") -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(private, hashes.SHA256())
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        self.kid = b64url(hashlib.sha1(der).digest())  # Entra's x5t is a SHA-1 thumbprint, so is its kid.
        self._x5c = base64.b64encode(der).decode("ascii")
        self.jwk = RSAKey.import_key(private, parameters={"kid": self.kid, "use": "sig"})

    def public_jwk(self, issuer: str) -> dict[str, Any]:
        public = self.jwk.as_dict(private=False)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": public["n"],
            "e": public["e"],
            "x5c": [self._x5c],
            "issuer": issuer,
        }

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        header = {"typ": "JWT", "alg": _ALGORITHM, "kid": kid or self.kid, "x5t": kid or self.kid}
        return jwt.encode(header, claims, self.jwk)


class TokenRejected(Exception):
    """Why a presented JWT is not acceptable; `reason` picks the AADSTS code or Graph error."""

    def __init__(self, reason: str, detail: str = "", claims: dict[str, Any] | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason  # malformed | signature | issuer | expired | not_yet_valid
        self.detail = detail
        self.claims = claims or {}


@dataclass(frozen=True)
class MintedToken:
    token: str
    claims: dict[str, Any]


class TokenService:
    """Mints access, id and SSO tokens for stand-in users, and checks tokens handed back to it."""

    def __init__(self, base_url: str = "https://127.0.0.1") -> None:
        self.base_url = base_url.rstrip("/")
        self.key = SigningKey()
        self._forger: SigningKey | None = None
        self._forger_lock = threading.Lock()

    def issuer(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}/v2.0"

    def jwks(self, issuer: str) -> dict[str, Any]:
        return {"keys": [self.key.public_jwk(issuer)]}

    def access_token(
        self,
        user: User,
        *,
        audience: str,
        scopes: Iterable[str],
        azp: str,
        now: float,
        lifetime: int,
        issuer: str | None = None,
        forged: bool = False,
    ) -> MintedToken:
        iat = int(now)
        claims = {
            "aud": audience,
            "iss": issuer or self.issuer(user.tid),
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "aio": b64url(secrets.token_bytes(24)),
            "azp": azp,
            "azpacr": "1",
            "name": user.display_name,
            "oid": user.oid,
            "preferred_username": user.upn,
            "rh": "0.A" + b64url(secrets.token_bytes(18)) + ".",
            "scp": " ".join(scopes),
            "sub": self.pairwise_subject(user, audience),
            "tid": user.tid,
            "uti": b64url(secrets.token_bytes(16)),
            "ver": "2.0",
        }
        signer = self._forging_key() if forged else self.key
        # A forgery reuses the genuine kid, so only the signature gives it away.
        return MintedToken(signer.sign(claims, kid=self.key.kid), claims)

    def id_token(
        self,
        user: User,
        *,
        client_id: str,
        now: float,
        lifetime: int,
        nonce: str | None,
        with_email: bool,
    ) -> str:
        iat = int(now)
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": self.issuer(user.tid),
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "name": user.display_name,
            "oid": user.oid,
            "preferred_username": user.upn,
            "rh": "0.A" + b64url(secrets.token_bytes(18)) + ".",
            "sub": self.pairwise_subject(user, client_id),
            "tid": user.tid,
            "uti": b64url(secrets.token_bytes(16)),
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        if with_email:
            claims["email"] = user.upn
        return self.key.sign(claims)

    @staticmethod
    def client_info(user: User) -> str:
        """What msal reads to build the account's home_account_id (`uid.utid`)."""
        return b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())

    @staticmethod
    def pairwise_subject(user: User, client_id: str) -> str:
        # Entra's `sub` differs per application for the same person; `oid` is the stable one.
        return b64url(hashlib.sha256(f"{user.oid}|{client_id}".encode()).digest())[:43]

    def verify(self, token: str, *, now: float, expected_issuer_for: Any = None) -> dict[str, Any]:
        """Check signature, issuer and validity window; return the claims.

        `expected_issuer_for(tid)` gives the issuer a token of that tenant must carry (default: ours).
        Audience is the caller's business: Graph and the OBO grant expect different ones.
        """
        if _peek_header(token).get("kid") != self.key.kid:
            raise TokenRejected("signature", "The key was not found.")
        try:
            decoded = jwt.decode(token, self.key.jwk, algorithms=[_ALGORITHM])
        except BadSignatureError as exc:
            raise TokenRejected("signature", "Signature validation failed.") from exc
        except (JoseError, ValueError) as exc:
            raise TokenRejected("malformed", "JWT is not well formed.") from exc
        claims = dict(decoded.claims)
        tid = str(claims.get("tid", ""))
        expected = (expected_issuer_for or self.issuer)(tid)
        if claims.get("iss") != expected:
            raise TokenRejected("issuer", f"Issuer '{claims.get('iss')}' is not valid.", claims)
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or not isinstance(nbf, int):
            raise TokenRejected("malformed", "exp and nbf must be integers.", claims)
        if now >= exp:
            raise TokenRejected("expired", f"Current time: {int(now)}, expiry time of assertion {exp}.", claims)
        if now < nbf:
            raise TokenRejected("not_yet_valid", f"Current time: {int(now)}, nbf {nbf}.", claims)
        return claims

    def _forging_key(self) -> SigningKey:
        with self._forger_lock:
            if self._forger is None:
                self._forger = SigningKey(common_name="forger.invalid")
            return self._forger
