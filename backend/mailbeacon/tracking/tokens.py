"""Opaque, signed hit tokens for /o/<token>, /c/<token> and /u/<token>.

A token carries only numbers — what it is for, the key id, the message's internal id and, for clicks, the
link's index — and a truncated HMAC-SHA256 over them. No address and no URL is ever in it: the destination is
looked up from the database, so a token can never be edited into a redirect to somewhere else.

Layout before base64url (no padding):
    byte 0        version (high nibble) | purpose (low nibble)
    byte 1        key id (1-255), so old mail keeps verifying after a key rotation
    varint        message id
    varint        link index (click tokens only)
    12 bytes      HMAC-SHA256(key, b"mbt" + everything above)[:12]
A click token is ~24 characters.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

VERSION = 1
# "sender" marks the sender's own browser (its id field is the user id, not a message id).
PURPOSES = {"open": 1, "click": 2, "optout": 3, "sender": 4}
# The cookie on the tracking host that carries a "sender" token: set at sign-in, read from clicks.
SENDER_COOKIE = "mb_sender"
_PURPOSE_NAMES = {v: k for k, v in PURPOSES.items()}
MAC_BYTES = 12
MAX_TOKEN_CHARS = 39
_TOKEN_RE = re.compile(r"\A[A-Za-z0-9_-]{16,39}\Z")


@dataclass(frozen=True)
class TokenClaims:
    purpose: str
    message_id: int
    link_index: int | None
    key_id: int


class Keyring:
    """Signing keys by id; the first one signs new tokens, every one of them verifies."""

    def __init__(self, keys: Sequence[tuple[int, bytes]]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self.current_kid = keys[0][0]
        self._keys: Mapping[int, bytes] = dict(keys)

    def key(self, kid: int) -> bytes | None:
        return self._keys.get(kid)


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("ids are non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(9):  # 63 bits is plenty for a row id; longer is a forgery
        if pos >= len(data):
            raise ValueError("truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and shift:
                raise ValueError("non-minimal varint")  # one value, one encoding
            return value, pos
        shift += 7
    raise ValueError("varint too long")


def _mac(key: bytes, payload: bytes) -> bytes:
    # One-shot hmac.digest: the pixel verifies a token per request, and it is several times cheaper than hmac.new.
    return hmac.digest(key, b"mbt" + payload, "sha256")[:MAC_BYTES]


def sign(purpose: str, message_id: int, link_index: int | None = None, *, keyring: Keyring) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if (purpose == "click") != (link_index is not None):
        raise ValueError("click tokens, and only click tokens, carry a link index")
    payload = bytes([(VERSION << 4) | PURPOSES[purpose], keyring.current_kid]) + _varint(message_id)
    if link_index is not None:
        payload += _varint(link_index)
    key = keyring.key(keyring.current_kid)
    assert key is not None
    token = base64.urlsafe_b64encode(payload + _mac(key, payload)).rstrip(b"=").decode("ascii")
    assert len(token) <= MAX_TOKEN_CHARS
    return token


def verify(token: str, *, keyring: Keyring, purpose: str | None = None) -> TokenClaims | None:
    """The claims of a genuine token, or None. Never raises on hostile input."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    # Unused low bits in the last character would give several spellings of one token; accept only the canonical one.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None
    if len(raw) < 3 + MAC_BYTES:
        return None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    version, purpose_code = payload[0] >> 4, payload[0] & 0x0F
    key = keyring.key(payload[1])
    if version != VERSION or key is None:
        return None
    # Compare before parsing further so the time taken does not depend on where a forgery goes wrong.
    if not hmac.compare_digest(_mac(key, payload), mac):
        return None
    name = _PURPOSE_NAMES.get(purpose_code)
    if name is None or (purpose is not None and name != purpose):
        return None
    try:
        message_id, pos = _read_varint(payload, 2)
        link_index = None
        if name == "click":
            link_index, pos = _read_varint(payload, pos)
    except ValueError:
        return None
    if pos != len(payload):
        return None
    return TokenClaims(purpose=name, message_id=message_id, link_index=link_index, key_id=payload[1])
