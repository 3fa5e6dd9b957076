"""The stand-in's ID-token signing key: an RSA key made at start, published as a JWKS, signing RS256 JWTs.

Written against ``cryptography`` directly (a JWT is three base64url segments and one PKCS#1 v1.5
signature), so the server depends on nothing that the clients under test also use: a bug in a shared
JOSE library could otherwise hide itself on both sides.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_to_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: left half of the SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class SigningKey:
    """One RS256 key pair. Google rotates its keys; one key per stand-in process is enough here."""

    def __init__(self, key_size: int = 2048) -> None:
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        numbers = self._private_key.public_key().public_numbers()
        self._n = numbers.n
        self._e = numbers.e
        # Google's kids are 40 hex characters; derive ours from the modulus so it is stable for the key.
        self.kid = hashlib.sha1(self._n.to_bytes((self._n.bit_length() + 7) // 8, "big")).hexdigest()

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _int_to_b64url(self._n),
                    "e": _int_to_b64url(self._e),
                }
            ]
        }

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
        ).encode("ascii")
        signature = self._private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode("ascii") + "." + b64url(signature)
