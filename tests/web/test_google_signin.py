"""Sign in with Google through the real flow against the stand-in, and the hand-off to the extension."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from mailbeacon.storage.models import ApiToken, MailAccount

from ..gmail_support import (CLIENT_REDIRECT, SENDER, callback_path, gmail_backend, gmail_env, google,  # noqa: F401
                             google_round_trip, pkce_pair, sign_in, start_sign_in)


def test_extension_signs_in_and_gets_an_api_token(gmail_backend):
    rt, app = gmail_backend
    client = app.test_client()
    token = sign_in(client)
    assert token["token_type"] == "Bearer" and token["user"]["email"] == SENDER
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.get_json()["accounts"][0]["status"] == "connected"
    with rt.db.session() as s:
        account = s.scalar(select(MailAccount).where(MailAccount.provider == "gmail"))
        # The refresh token is stored encrypted, and API tokens only as hashes.
        assert account.encrypted_secret.startswith("v1.") and "1//" not in account.encrypted_secret
        assert rt.secrets.decrypt(account.encrypted_secret)
        assert token["access_token"] not in {t.token_hash for t in s.scalars(select(ApiToken))}


def test_authorize_request_uses_pkce_offline_access_and_the_narrow_scope(gmail_backend):
    _rt, app = gmail_backend
    response, _ = start_sign_in(app.test_client())
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["access_type"] == ["offline"]
    assert set(query["scope"][0].split()) == {"openid", "email", "https://www.googleapis.com/auth/gmail.compose"}


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/cb",
    "https://abcdefghijklmnopabcdefghijklmnoq.chromiumapp.org/cb",
    "http://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/cb",
    "https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org.evil.example/cb",
    "https://user@abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/cb",
    "https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/cb?next=https://evil.example",
])
def test_a_redirect_uri_not_on_the_list_is_refused_without_redirecting(gmail_backend, redirect_uri):
    _rt, app = gmail_backend
    response, _ = start_sign_in(app.test_client(), redirect_uri=redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers
    assert b"registered clients" in response.data


def test_a_wrong_state_fails_clearly(gmail_backend):
    _rt, app = gmail_backend
    client = app.test_client()
    response, _ = start_sign_in(client)
    back = google_round_trip(response.headers["Location"])
    forged = back.replace("state=", "state=x")
    result = client.get(callback_path(forged))
    assert result.status_code == 400 and b"not valid" in result.data
    # The real state still works once, then never again.
    assert client.get(callback_path(back)).status_code == 302
    assert client.get(callback_path(back)).status_code == 400


def test_a_replayed_code_or_wrong_verifier_fails(gmail_backend):
    _rt, app = gmail_backend
    client = app.test_client()
    response, verifier = start_sign_in(client)
    handed = client.get(callback_path(google_round_trip(response.headers["Location"])))
    code = parse_qs(urlsplit(handed.headers["Location"]).query)["code"][0]
    wrong, _ = pkce_pair()
    bad = client.post("/auth/token", json={"code": code, "code_verifier": wrong, "redirect_uri": CLIENT_REDIRECT})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_grant"
    # One attempt per code: after a wrong verifier even the right one is refused.
    again = client.post("/auth/token", json={"code": code, "code_verifier": verifier,
                                             "redirect_uri": CLIENT_REDIRECT})
    assert again.status_code == 400 and "already used" in again.get_json()["error"]["message"]


def test_an_expired_code_fails(gmail_backend):
    from datetime import timedelta

    from mailbeacon.storage.models import AuthCode

    rt, app = gmail_backend
    client = app.test_client()
    response, verifier = start_sign_in(client)
    handed = client.get(callback_path(google_round_trip(response.headers["Location"])))
    code = parse_qs(urlsplit(handed.headers["Location"]).query)["code"][0]
    with rt.db.transaction() as s:
        for row in s.scalars(select(AuthCode)):
            row.expires_at = row.expires_at - timedelta(minutes=5)
    result = client.post("/auth/token", json={"code": code, "code_verifier": verifier,
                                              "redirect_uri": CLIENT_REDIRECT})
    assert result.status_code == 400 and "expired" in result.get_json()["error"]["message"]


def test_api_tokens_can_be_listed_and_revoked(gmail_backend):
    _rt, app = gmail_backend
    client = app.test_client()
    first, second = sign_in(client), sign_in(client)
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    listed = client.get("/api/v1/tokens", headers=auth).get_json()["tokens"]
    assert len(listed) == 2 and sum(t["current"] for t in listed) == 1
    assert client.delete(f"/api/v1/tokens/{second['token_id']}", headers=auth).status_code == 204
    revoked = client.get("/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "invalid_token"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer mbt_forged"}).status_code == 401


def test_a_sign_in_after_google_rotates_its_keys_still_verifies(gmail_backend, google):  # noqa: F811
    from mailbeacon.devservers.google_keys import SigningKey

    _rt, app = gmail_backend
    client = app.test_client()
    assert sign_in(client)["user"]["email"] == SENDER  # the key set is now cached
    google.state.keys = SigningKey()  # a new key, with a new kid, signs from now on
    assert sign_in(client)["user"]["email"] == SENDER
