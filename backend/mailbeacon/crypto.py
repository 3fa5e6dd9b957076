"""Secrets at rest: OAuth refresh tokens and token caches are encrypted with a key ring.

Each ciphertext names the key that made it (`v1.<kid>.<fernet token>`), so keys can be rotated: add a new key
at the front of MAILBEACON_ENCRYPTION_KEYS, keep the old one behind it until `mailbeacon keys rotate` has
re-encrypted everything, then drop it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken


class DecryptionError(ValueError):
    """The ciphertext was made with a key we no longer have, or was tampered with."""


def derive_key(secret: str, purpose: bytes) -> bytes:
    """A 32-byte subkey per purpose, so one leaked subkey doesn't expose the others (HKDF-like, HMAC-SHA256)."""
    return hmac.new(secret.encode("utf-8"), b"mailbeacon/" + purpose, hashlib.sha256).digest()


class SecretBox:
    def __init__(self, keys: Sequence[tuple[int, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._current_kid = keys[0][0]
        self._fernets = {
            kid: Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest())) for kid, secret in keys
        }

    @property
    def current_kid(self) -> int:
        return self._current_kid

    def encrypt(self, plaintext: str) -> str:
        token = self._fernets[self._current_kid].encrypt(plaintext.encode("utf-8")).decode("ascii")
        return f"v1.{self._current_kid}.{token}"

    def decrypt(self, ciphertext: str) -> str:
        try:
            version, kid_text, token = ciphertext.split(".", 2)
            kid = int(kid_text)
        except ValueError:
            raise DecryptionError("not a mailbeacon ciphertext") from None
        if version != "v1" or kid not in self._fernets:
            raise DecryptionError(f"no key {kid_text} to decrypt this secret; was it rotated away?")
        try:
            return self._fernets[kid].decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise DecryptionError("secret failed its integrity check") from None

    def needs_rotation(self, ciphertext: str) -> bool:
        return not ciphertext.startswith(f"v1.{self._current_kid}.")

    def rotate(self, ciphertext: str) -> str:
        return ciphertext if not self.needs_rotation(ciphertext) else self.encrypt(self.decrypt(ciphertext))


def hash_api_token(token: str) -> str:
    """API tokens are random (>= 256 bits), so a plain SHA-256 is enough to store them non-reversibly."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
