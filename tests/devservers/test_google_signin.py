"""Signing in to the Google stand-in with authlib, the way the backend will: discovery, PKCE S256, id_token.

The helpers here are shared by the other test_google_* modules.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.http import build_http
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from mailbeacon.devservers.google import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    RunningStandin,
    serve_google_standin,
)

GMAIL_MODIFY = "https://www.googleapis.com/auth/gmail.modify"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
# A loopback address nobody listens on: the tests read the Location header and never follow it.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


class FakeClock:
    """Stands in for ``time.time`` on the stand-in's state, so tests can age codes and tokens."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verify_for(google: RunningStandin) -> str | bool:
    # Passed per request: requests ignores Session.verify when REQUESTS_CA_BUNDLE is set.
    return str(google.ca_path) if google.ca_path else True


def discovery(google: RunningStandin) -> dict[str, Any]:
    url = f"{google.base_url}/.well-known/openid-configuration"
    response = requests.get(url, verify=verify_for(google), timeout=10)
    response.raise_for_status()
    return response.json()


@dataclass
class PendingSignIn:
    session: OAuth2Session
    metadata: dict[str, Any]
    verifier: str
    url: str
    state: str
    nonce: str


def start_sign_in(
    google: RunningStandin,
    *,
    scope: str = f"openid email {GMAIL_MODIFY}",
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    auth_method: str = "client_secret_basic",
    redirect_uri: str = REDIRECT_URI,
    **params: str,
) -> PendingSignIn:
    metadata = discovery(google)
    session = OAuth2Session(
        client_id,
        client_secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )
    verifier = generate_token(64)
    nonce = generate_token(16)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
    )
    return PendingSignIn(session, metadata, verifier, url, state, nonce)


def follow_authorization(google: RunningStandin, pending: PendingSignIn) -> str:
    """GET the authorization URL and return where the stand-in redirects the browser."""
    response = requests.get(pending.url, allow_redirects=False, verify=verify_for(google), timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def finish_sign_in(google: RunningStandin, pending: PendingSignIn, location: str, **kwargs: Any) -> dict[str, Any]:
    return dict(
        pending.session.fetch_token(
            pending.metadata["token_endpoint"],
            authorization_response=location,
            code_verifier=kwargs.pop("code_verifier", pending.verifier),
            verify=verify_for(google),
            **kwargs,
        )
    )


def sign_in(google: RunningStandin, **options: str) -> dict[str, Any]:
    """The full authorization-code flow; offline access with consent unless told otherwise."""
    options.setdefault("access_type", "offline")
    options.setdefault("prompt", "consent")
    pending = start_sign_in(google, **options)
    return finish_sign_in(google, pending, follow_authorization(google, pending))


def credentials_for(google: RunningStandin, token: dict[str, Any]) -> Credentials:
    return Credentials(
        token["access_token"],
        refresh_token=token.get("refresh_token"),
        token_uri=f"{google.base_url}/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )


def gmail_for(google: RunningStandin, credentials: Credentials) -> Any:
    """The Gmail client as production code builds it, pointed at the stand-in."""
    options = {"api_endpoint": google.base_url}
    if google.ca_path is None:
        return build("gmail", "v1", credentials=credentials, static_discovery=True, client_options=options)
    http = build_http()  # keeps googleapiclient's own settings (308 is not a redirect for uploads)
    http.ca_certs = str(google.ca_path)
    authorized = AuthorizedHttp(credentials, http=http)
    return build("gmail", "v1", http=authorized, static_discovery=True, client_options=options)


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@pytest.fixture(scope="module")
def running_google() -> Iterator[RunningStandin]:
    with serve_google_standin(auto_approve=True) as google:
        yield google


@pytest.fixture
def google(running_google: RunningStandin) -> RunningStandin:
    running_google.state.reset()
    return running_google


# -- the tests -------------------------------------------------------------------------------------


def test_discovery_document_names_the_stand_in_itself_as_issuer(google: RunningStandin) -> None:
    metadata = discovery(google)

    assert metadata["issuer"] == google.base_url
    assert metadata["token_endpoint"] == f"{google.base_url}/token"
    assert metadata["code_challenge_methods_supported"] == ["plain", "S256"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    for endpoint in ("authorization_endpoint", "userinfo_endpoint", "revocation_endpoint", "jwks_uri"):
        assert metadata[endpoint].startswith(google.base_url + "/")


def test_authlib_code_flow_with_pkce_yields_access_refresh_and_id_tokens(google: RunningStandin) -> None:
    token = sign_in(google)

    assert token["token_type"] == "Bearer"
    assert token["access_token"].startswith("ya29.")
    assert token["refresh_token"].startswith("1//")
    assert 3590 <= token["expires_in"] <= 3600
    assert set(token["scope"].split()) == {"openid", USERINFO_EMAIL, GMAIL_MODIFY}


def test_id_token_verifies_against_the_published_jwks_with_google_claims(google: RunningStandin) -> None:
    pending = start_sign_in(google, access_type="offline", login_hint="sam.recipient@example.net")
    token = finish_sign_in(google, pending, follow_authorization(google, pending))
    jwks = requests.get(pending.metadata["jwks_uri"], timeout=10).json()

    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    claims = decoded.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": google.base_url},
        aud={"essential": True, "value": DEFAULT_CLIENT_ID},
        nonce={"essential": True, "value": pending.nonce},
    ).validate(claims)

    assert decoded.header["alg"] == "RS256"
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]
    assert claims["email"] == "sam.recipient@example.net"
    assert claims["email_verified"] is True
    assert claims["sub"] == google.state.user("sam.recipient@example.net").sub
    assert claims["exp"] > claims["iat"]


def test_id_token_signed_by_another_key_does_not_verify(google: RunningStandin) -> None:
    token = sign_in(google)
    own_kid = requests.get(discovery(google)["jwks_uri"], timeout=10).json()["keys"][0]["kid"]
    with serve_google_standin() as other:
        foreign_jwks = requests.get(f"{other.base_url}/oauth2/v3/certs", timeout=10).json()
    foreign_jwks["keys"][0]["kid"] = own_kid  # same key id, different key

    with pytest.raises(BadSignatureError):
        jwt.decode(token["id_token"], KeySet.import_key_set(foreign_jwks), algorithms=["RS256"])


def test_authorization_redirect_carries_state_and_a_slash_bearing_code(google: RunningStandin) -> None:
    pending = start_sign_in(google)
    location = follow_authorization(google, pending)

    assert location.startswith(REDIRECT_URI + "?")
    assert f"state={pending.state}" in location
    # Google's codes contain "/", so clients that forget to URL-decode them fail here as they would there.
    assert "code=4%2F0A" in location


def test_auto_approve_signs_in_as_the_login_hint_and_creates_that_account(google: RunningStandin) -> None:
    token = sign_in(google, login_hint="newcomer@example.org")

    profile = gmail_for(google, credentials_for(google, token)).users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == "newcomer@example.org"
    assert google.state.user("newcomer@example.org") is not None


def test_without_login_hint_auto_approve_uses_the_default_account(google: RunningStandin) -> None:
    token = sign_in(google)

    profile = gmail_for(google, credentials_for(google, token)).users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == google.state.default_user().email
