import base64
import hashlib
import hmac
import re

import pytest
from hypothesis import given, strategies as st

from mailbeacon.tracking import tokens
from mailbeacon.tracking.tokens import Keyring, sign, verify

KEY_A = (1, b"a" * 32)
KEY_B = (2, b"b" * 32)


def ring(*keys):
    return Keyring(list(keys))


def test_click_token_round_trips_its_message_and_link():
    token = sign("click", 4242, 7, keyring=ring(KEY_A))
    claims = verify(token, keyring=ring(KEY_A), purpose="click")
    assert (claims.purpose, claims.message_id, claims.link_index, claims.key_id) == ("click", 4242, 7, 1)


@given(message_id=st.integers(min_value=0, max_value=2**62), link=st.integers(min_value=0, max_value=10**6))
def test_tokens_are_short_url_safe_and_opaque(message_id, link):
    token = sign("click", message_id, link, keyring=ring(KEY_A))
    assert len(token) < 40
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert verify(token, keyring=ring(KEY_A)).message_id == message_id


def test_token_carries_no_personal_data():
    token = sign("open", 1, keyring=ring(KEY_A))
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # kind/version, key id, a 1-byte message id and the MAC: nothing else fits
    assert len(raw) == 2 + 1 + tokens.MAC_BYTES


@pytest.mark.parametrize("position", range(0, 26))
def test_every_single_character_change_is_rejected(position):
    token = sign("click", 123456, 3, keyring=ring(KEY_A))
    if position >= len(token):
        return
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for replacement in alphabet:
        if replacement == token[position]:
            continue
        forged = token[:position] + replacement + token[position + 1:]
        assert verify(forged, keyring=ring(KEY_A)) is None, forged


def test_truncated_and_extended_tokens_fail():
    token = sign("click", 99, 1, keyring=ring(KEY_A))
    for cut in range(1, len(token)):
        assert verify(token[:cut], keyring=ring(KEY_A)) is None
    assert verify(token + "A", keyring=ring(KEY_A)) is None
    assert verify(token + "=", keyring=ring(KEY_A)) is None


def test_token_resigned_with_another_key_fails():
    token = sign("open", 5, keyring=ring(KEY_B))
    assert verify(token, keyring=ring(KEY_A)) is None


def test_token_resigned_under_our_key_id_with_a_guessed_key_fails():
    payload = bytes([0x11, 1]) + bytes([5])
    mac = hmac.new(b"guess" * 8, b"mbt" + payload, hashlib.sha256).digest()[:12]
    forged = base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()
    assert verify(forged, keyring=ring(KEY_A)) is None


def test_rotated_keys_keep_old_mail_working():
    old = sign("click", 10, 2, keyring=ring(KEY_A))
    rotated = ring(KEY_B, KEY_A)
    assert verify(old, keyring=rotated).message_id == 10
    new = sign("click", 10, 2, keyring=rotated)
    assert verify(new, keyring=rotated).key_id == 2
    assert verify(new, keyring=ring(KEY_A)) is None


def test_an_open_token_is_not_a_click_token():
    token = sign("open", 8, keyring=ring(KEY_A))
    assert verify(token, keyring=ring(KEY_A), purpose="click") is None
    assert verify(token, keyring=ring(KEY_A), purpose="optout") is None
    assert verify(token, keyring=ring(KEY_A), purpose="open").message_id == 8


def test_click_token_for_one_message_does_not_name_another():
    a = sign("click", 1, 0, keyring=ring(KEY_A))
    b = sign("click", 2, 0, keyring=ring(KEY_A))
    assert a != b
    assert verify(a, keyring=ring(KEY_A)).message_id == 1


def test_non_canonical_base64_spelling_is_rejected():
    token = sign("open", 77, keyring=ring(KEY_A))
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    spare_bits = (6 - (len(raw) * 8) % 6) % 6
    if spare_bits:
        variant = token[:-1] + alphabet[last | 1]
        assert variant != token
        assert base64.urlsafe_b64decode(variant + "=" * (-len(variant) % 4)) == raw
        assert verify(variant, keyring=ring(KEY_A)) is None


@given(st.text(max_size=60))
def test_verify_never_raises_on_garbage(text):
    assert verify(text, keyring=ring(KEY_A)) is None


def test_verify_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(tokens.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    token = sign("open", 3, keyring=ring(KEY_A))
    assert verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), keyring=ring(KEY_A)) is None
    assert verify(token, keyring=ring(KEY_A)) is not None
    assert len(calls) >= 2


def test_sign_refuses_inconsistent_claims():
    with pytest.raises(ValueError):
        sign("click", 1, keyring=ring(KEY_A))
    with pytest.raises(ValueError):
        sign("open", 1, 3, keyring=ring(KEY_A))
    with pytest.raises(ValueError):
        sign("nope", 1, keyring=ring(KEY_A))
