import pytest

from mailbeacon.crypto import DecryptionError, SecretBox, hash_api_token


def test_secrets_round_trip_and_are_not_stored_in_the_clear():
    box = SecretBox([(1, b"k" * 32)])
    sealed = box.encrypt("1//refresh-token-value")
    assert "refresh-token-value" not in sealed
    assert box.decrypt(sealed) == "1//refresh-token-value"


def test_rotation_reencrypts_under_the_new_key_and_old_ciphertexts_still_open():
    old = SecretBox([(1, b"k" * 32)])
    sealed = old.encrypt("secret")
    rotated = SecretBox([(2, b"n" * 32), (1, b"k" * 32)])
    assert rotated.decrypt(sealed) == "secret"
    assert rotated.needs_rotation(sealed)
    fresh = rotated.rotate(sealed)
    assert fresh.startswith("v1.2.") and not rotated.needs_rotation(fresh)
    only_new = SecretBox([(2, b"n" * 32)])
    assert only_new.decrypt(fresh) == "secret"
    with pytest.raises(DecryptionError, match="rotated"):
        only_new.decrypt(sealed)


def test_tampered_ciphertext_is_refused():
    box = SecretBox([(1, b"k" * 32)])
    sealed = box.encrypt("secret")
    with pytest.raises(DecryptionError):
        box.decrypt(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"))
    with pytest.raises(DecryptionError):
        box.decrypt("plaintext")


def test_api_tokens_are_hashed():
    assert hash_api_token("abc") != "abc" and len(hash_api_token("abc")) == 64
