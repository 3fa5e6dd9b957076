"""The stand-in's OAuth rules and error shapes, seen through authlib, google-auth and plain HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleAuthRequest

from mailbeacon.devservers.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, RunningStandin

from .test_google_signin import (  # noqa: F401  (fixtures)
    GMAIL_MODIFY,
    FakeClock,
    REDIRECT_URI,
    USERINFO_EMAIL,
    credentials_for,
    finish_sign_in,
    follow_authorization,
    google,
    running_google,
    sign_in,
    start_sign_in,
)

USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"


def token_request(google: RunningStandin, **form: str) -> requests.Response:
    form.setdefault("client_id", DEFAULT_CLIENT_ID)
    form.setdefault("client_secret", DEFAULT_CLIENT_SECRET)
    return requests.post(f"{google.base_url}/token", data=form, timeout=10)


def code_from(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


# -- the token endpoint ----------------------------------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant(google: RunningStandin) -> None:
    pending = start_sign_in(google)
    location = follow_authorization(google, pending)

    with pytest.raises(AuthlibOAuthError) as failure:
        finish_sign_in(google, pending, location, code_verifier="x" * 64)

    assert failure.value.error == "invalid_grant"
    assert failure.value.description == "Invalid code verifier."


def test_missing_code_verifier_is_invalid_grant(google: RunningStandin) -> None:
    location = follow_authorization(google, start_sign_in(google))

    response = token_request(
        google, grant_type="authorization_code", code=code_from(location), redirect_uri=REDIRECT_URI
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Missing code verifier."}


def test_replayed_code_is_invalid_grant_and_revokes_what_it_bought(google: RunningStandin) -> None:
    pending = start_sign_in(google, access_type="offline")
    location = follow_authorization(google, pending)
    first = finish_sign_in(google, pending, location)

    with pytest.raises(AuthlibOAuthError) as failure:
        finish_sign_in(google, pending, location)
    refresh = token_request(google, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert failure.value.error == "invalid_grant"
    assert refresh.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_unknown_code_is_malformed_auth_code(google: RunningStandin) -> None:
    response = token_request(google, grant_type="authorization_code", code="4/0Anot-a-code", redirect_uri=REDIRECT_URI)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Malformed auth code."}


def test_code_expires_after_ten_minutes(google: RunningStandin) -> None:
    clock = FakeClock(1_800_000_000.0)
    google.state.clock = clock
    pending = start_sign_in(google)
    location = follow_authorization(google, pending)
    clock.now += 601

    with pytest.raises(AuthlibOAuthError) as failure:
        finish_sign_in(google, pending, location)

    assert failure.value.error == "invalid_grant"


def test_redirect_uri_must_be_the_one_used_to_authorize(google: RunningStandin) -> None:
    pending = start_sign_in(google)
    code = code_from(follow_authorization(google, pending))

    response = token_request(
        google,
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://127.0.0.1:9/elsewhere",
        code_verifier=pending.verifier,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "redirect_uri_mismatch"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_both_client_authentication_methods_are_accepted(google: RunningStandin, auth_method: str) -> None:
    token = sign_in(google, auth_method=auth_method)

    assert token["access_token"]


def test_wrong_client_secret_is_invalid_client_401(google: RunningStandin) -> None:
    pending = start_sign_in(google, client_secret="not-the-secret")
    location = follow_authorization(google, pending)

    response = token_request(
        google,
        client_secret="not-the-secret",
        grant_type="authorization_code",
        code=code_from(location),
        redirect_uri=REDIRECT_URI,
        code_verifier=pending.verifier,
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Unauthorized"}


def test_unknown_grant_type_is_unsupported(google: RunningStandin) -> None:
    response = token_request(google, grant_type="password")

    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: password"}


def test_token_responses_are_never_cached(google: RunningStandin) -> None:
    response = token_request(google, grant_type="refresh_token", refresh_token=sign_in(google)["refresh_token"])

    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Content-Type"].startswith("application/json")


# -- refresh tokens --------------------------------------------------------------------------------


def test_google_auth_refreshes_with_the_refresh_token(google: RunningStandin) -> None:
    token = sign_in(google)
    credentials = credentials_for(google, token)

    credentials.refresh(GoogleAuthRequest())

    assert credentials.token != token["access_token"]
    assert credentials.valid
    assert credentials.id_token  # openid was granted, so a fresh id_token comes with the new access token


def test_revoked_refresh_token_then_refresh_is_invalid_grant(google: RunningStandin) -> None:
    pending = start_sign_in(google, access_type="offline", prompt="consent")
    token = finish_sign_in(google, pending, follow_authorization(google, pending))

    revocation = pending.session.revoke_token(pending.metadata["revocation_endpoint"], token=token["refresh_token"])
    with pytest.raises(RefreshError, match="invalid_grant: Token has been expired or revoked."):
        credentials_for(google, token).refresh(GoogleAuthRequest())

    assert revocation.status_code == 200


def test_revoking_the_access_token_also_revokes_its_refresh_token(google: RunningStandin) -> None:
    token = sign_in(google)

    requests.post(f"{google.base_url}/revoke", data={"token": token["access_token"]}, timeout=10).raise_for_status()
    again = requests.post(f"{google.base_url}/revoke", data={"token": token["refresh_token"]}, timeout=10)

    assert again.status_code == 400
    assert again.json() == {"error": "invalid_token", "error_description": "Token expired or revoked"}


def test_user_removing_access_makes_refresh_fail(google: RunningStandin) -> None:
    token = sign_in(google, login_hint="alex.sender@example.com")

    assert google.state.revoke_grant("alex.sender@example.com") == 1
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials_for(google, token).refresh(GoogleAuthRequest())


def test_second_sign_in_without_prompt_consent_gets_no_refresh_token(google: RunningStandin) -> None:
    first = sign_in(google, access_type="offline", prompt="")
    second = sign_in(google, access_type="offline", prompt="")
    forced = sign_in(google, access_type="offline", prompt="consent")

    assert "refresh_token" in first
    assert "refresh_token" not in second
    assert forced["refresh_token"] != first["refresh_token"]


def test_online_access_gets_no_refresh_token(google: RunningStandin) -> None:
    token = sign_in(google, access_type="online")

    assert "refresh_token" not in token


def test_refresh_may_narrow_scopes_but_not_widen_them(google: RunningStandin) -> None:
    refresh_token = sign_in(google)["refresh_token"]

    narrowed = token_request(google, grant_type="refresh_token", refresh_token=refresh_token, scope=GMAIL_MODIFY)
    widened = token_request(
        google, grant_type="refresh_token", refresh_token=refresh_token, scope="https://mail.google.com/"
    )

    assert narrowed.status_code == 200
    assert widened.status_code == 400
    assert widened.json()["error"] == "invalid_scope"


def test_email_and_profile_are_granted_under_their_long_names(google: RunningStandin) -> None:
    token = sign_in(google, scope="openid email profile")

    assert set(token["scope"].split()) == {"openid", USERINFO_EMAIL, USERINFO_PROFILE}


def test_include_granted_scopes_adds_what_was_granted_before(google: RunningStandin) -> None:
    sign_in(google, scope=f"openid {GMAIL_MODIFY}")
    token = sign_in(google, scope="openid email", include_granted_scopes="true")

    assert GMAIL_MODIFY in token["scope"].split()


# -- the authorization endpoint --------------------------------------------------------------------


def test_unknown_client_gets_an_error_page_not_a_redirect(google: RunningStandin) -> None:
    pending = start_sign_in(google, client_id="nobody.apps.googleusercontent.com")

    response = requests.get(pending.url, allow_redirects=False, timeout=10)

    assert response.status_code == 401
    assert "invalid_client" in response.text
    assert "Location" not in response.headers


def test_unregistered_redirect_uri_gets_an_error_page(google: RunningStandin) -> None:
    google.state.register_client("web.apps.googleusercontent.com", "s3cret", redirect_uris=["https://app.example/cb"])
    pending = start_sign_in(
        google,
        client_id="web.apps.googleusercontent.com",
        client_secret="s3cret",
        redirect_uri="https://evil.example/cb",
    )

    response = requests.get(pending.url, allow_redirects=False, timeout=10)

    assert response.status_code == 400
    assert "redirect_uri_mismatch" in response.text
    assert "Location" not in response.headers


def test_unknown_scope_redirects_back_with_invalid_scope(google: RunningStandin) -> None:
    location = follow_authorization(google, start_sign_in(google, scope="openid https://www.googleapis.com/auth/nope"))

    query = parse_qs(urlsplit(location).query)

    assert query["error"] == ["invalid_scope"]
    assert "nope" in query["error_description"][0]


def test_unknown_code_challenge_method_is_invalid_request(google: RunningStandin) -> None:
    pending = start_sign_in(google)
    url = pending.url.replace("code_challenge_method=S256", "code_challenge_method=S512")

    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]

    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]
