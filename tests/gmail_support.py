"""The Google stand-in wired to a backend: sign a user in through the real flow and create drafts for them."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mailbeacon.devservers.google import serve_google_standin
from mailbeacon.runtime import Runtime
from mailbeacon.web.app import build_app, pipeline_of

EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
CLIENT_REDIRECT = f"https://{EXTENSION_ID}.chromiumapp.org/signed-in"
CLIENT_ID = "mailbeacon-test.apps.googleusercontent.com"
CLIENT_SECRET = "mailbeacon-test-secret"
SENDER = "alex.sender@example.com"
RECIPIENT = "sam.recipient@example.net"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture
def google():
    with serve_google_standin(auto_approve=True) as standin:
        yield standin


@pytest.fixture
def gmail_env(config_env, google):
    google.state.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[
        "https://t.mailbeacon.test/auth/google/callback"], name="mailbeacon tests")
    return {**config_env, "MAILBEACON_GOOGLE_CLIENT_ID": CLIENT_ID,
            "MAILBEACON_GOOGLE_CLIENT_SECRET": CLIENT_SECRET, "MAILBEACON_GOOGLE_ISSUER": google.base_url,
            "MAILBEACON_GMAIL_API_URL": google.base_url + "/", "MAILBEACON_EXTENSION_IDS": EXTENSION_ID}


@pytest.fixture
def gmail_backend(gmail_env):
    from mailbeacon.config import Config
    from mailbeacon.jobs import context

    rt = Runtime(Config.from_env(gmail_env))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    yield rt, app
    pipeline_of(app).stop()
    rt.close()


def start_sign_in(client, *, state="ext-state-1", challenge=None, redirect_uri=CLIENT_REDIRECT):
    verifier, made = pkce_pair()
    response = client.get("/auth/google/start", query_string={
        "redirect_uri": redirect_uri, "state": state, "code_challenge": challenge or made,
        "code_challenge_method": "S256"})
    return response, verifier


def google_round_trip(authorize_url: str, login_hint: str | None = None) -> str:
    """Follow the authorize URL on the stand-in (auto-approve) and return our callback URL it redirects to."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:500]
    return response.headers["Location"]


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in(client) -> dict:
    """The whole extension hand-off: start, Google, callback, code exchange. Returns the token response."""
    response, verifier = start_sign_in(client)
    assert response.status_code == 302, response.data
    back = google_round_trip(response.headers["Location"])
    handed = client.get(callback_path(back))
    assert handed.status_code == 302, handed.data
    query = parse_qs(urlsplit(handed.headers["Location"]).query)
    token = client.post("/auth/token", json={"code": query["code"][0], "code_verifier": verifier,
                                             "redirect_uri": CLIENT_REDIRECT})
    assert token.status_code == 200, token.get_json()
    return token.get_json()


DRAFT = (
    "From: Alex Sender <alex.sender@example.com>\r\n"
    "To: Sam Recipient <sam.recipient@example.net>\r\n"
    "Subject: Pricing for next quarter\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"000000000000b1\"\r\n"
    "\r\n"
    "--000000000000b1\r\n"
    "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
    "\r\n"
    "Hi Sam, the new prices: https://example.com/pricing?plan=pro&seats=5\r\n"
    "\r\n"
    "--000000000000b1\r\n"
    "Content-Type: text/html; charset=\"UTF-8\"\r\n"
    "\r\n"
    "<div dir=\"ltr\">Hi Sam, the new <a href=\"https://example.com/pricing?plan=pro&amp;seats=5\">prices</a>."
    "</div>\r\n"
    "\r\n"
    "--000000000000b1--\r\n"
).encode()


def seen_for(raw: bytes, to=(RECIPIENT,), subject="Pricing for next quarter") -> dict:
    from mailbeacon.tracking.fingerprint import draft_text_digest

    return {"to": list(to), "cc": [], "bcc": [], "subject": subject, "text_sha256": draft_text_digest(raw)}
