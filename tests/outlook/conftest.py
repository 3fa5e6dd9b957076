"""The Microsoft stand-in wired to a backend: sign a user in through the real msal flows and give them a mailbox.

One stand-in (a TLS server) per test module, reset before every test; one backend per test, on the session's
database, configured only through MAILBEACON_* variables as in production.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from mailbeacon.config import Config
from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, serve_microsoft_standin
from mailbeacon.runtime import Runtime
from mailbeacon.web.app import build_app, pipeline_of

WORK = "sam.seller@contoso.onmicrosoft.com"
PERSONAL = "pat.personal@outlook.com"
RECIPIENT = "rita.recipient@fabrikam.onmicrosoft.com"
PUBLIC_URL = "https://t.mailbeacon.test"
ADDIN_PAGE = f"{PUBLIC_URL}/addin/signed-in.html"
CALLBACK = f"{PUBLIC_URL}/auth/microsoft/callback"
API_APP_ID_URI = f"api://{DEFAULT_CLIENT_ID}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture(scope="module")
def running_standin():
    with serve_microsoft_standin(auto_approve=True) as standin:
        yield standin


@pytest.fixture
def ms(running_standin):
    running_standin.state.reset()
    # Our callback is not a loopback URL, so the registration must list it, as the real one would.
    running_standin.state.directory.apps[DEFAULT_CLIENT_ID].redirect_uris = (CALLBACK,)
    return running_standin


@pytest.fixture
def outlook_env(config_env, ms) -> dict[str, str]:
    return {**config_env,
            "MAILBEACON_MICROSOFT_CLIENT_ID": DEFAULT_CLIENT_ID,
            "MAILBEACON_MICROSOFT_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "MAILBEACON_MICROSOFT_AUTHORITY": ms.base_url,
            "MAILBEACON_MICROSOFT_GRAPH_URL": ms.graph_url,
            "MAILBEACON_MICROSOFT_CA_BUNDLE": ms.ca_bundle,
            "MAILBEACON_MICROSOFT_API_APP_ID_URI": API_APP_ID_URI}


@pytest.fixture
def outlook_backend(outlook_env):
    from mailbeacon.jobs import context

    rt = Runtime(Config.from_env(outlook_env))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    yield rt, app
    pipeline_of(app).stop()
    rt.close()


def start_dialog_sign_in(client, *, state="addin-state-1", redirect_uri=ADDIN_PAGE, login_hint=None, **extra):
    verifier, challenge = pkce_pair()
    query = {"redirect_uri": redirect_uri, "state": state, "code_challenge": challenge,
             "code_challenge_method": "S256", **extra}
    if login_hint:
        query["login_hint"] = login_hint
    return client.get("/auth/microsoft/start", query_string=query), verifier


def microsoft_answer(ms, authorize_url: str, *, account: str | None = None) -> dict[str, str]:
    """What Microsoft form-posts back to our callback after the person signs in (the stand-in auto-approves)."""
    return ms.complete_authorization(authorize_url, account=account)


def dialog_sign_in(client, ms, *, upn: str = WORK) -> dict:
    """The whole add-in dialog hand-off: start, Microsoft, callback, /auth/token. Returns the token response."""
    response, verifier = start_dialog_sign_in(client, login_hint=upn)
    assert response.status_code == 302, response.data
    handed = client.post("/auth/microsoft/callback", data=microsoft_answer(ms, response.headers["Location"]))
    assert handed.status_code == 303, handed.data
    query = parse_qs(urlsplit(handed.headers["Location"]).query)
    assert "code" in query, query
    token = client.post("/auth/token", json={"code": query["code"][0], "code_verifier": verifier,
                                             "redirect_uri": ADDIN_PAGE})
    assert token.status_code == 200, token.get_json()
    return token.get_json()


def sso_sign_in(client, ms, *, upn: str = WORK) -> dict:
    response = client.post("/auth/microsoft/sso", json={"sso_token": ms.state.mint_sso_token(upn).token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token_response: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_response['access_token']}"}


# --- a signed-in Outlook sender with drafts ----------------------------------------------------------------------

HTML = ('<div dir="ltr">Hi Rita, the new <a href="https://example.com/pricing?plan=pro&amp;seats=5">prices</a>.'
        '</div>')
SUBJECT = "Pricing for next quarter"


@pytest.fixture
def signed_in(outlook_backend, ms):
    """(rt, app, client, auth headers) for WORK, signed in through single sign-on."""
    rt, app = outlook_backend
    client = app.test_client()
    return rt, app, client, bearer(sso_sign_in(client, ms))


def seen_for(html: str = HTML, *, to=(RECIPIENT,), subject: str = SUBJECT, text: str | None = None) -> dict:
    """What the add-in reports it saw on screen (the text digest contract of tracking/fingerprint.py)."""
    from mailbeacon.tracking.fingerprint import html_text, text_digest

    return {"to": list(to), "cc": [], "bcc": [], "subject": subject,
            "text_sha256": text_digest(text if text is not None else html_text(html))}


def save_draft(ms, *, html: str | None = HTML, text: str | None = None, to=(RECIPIENT,), subject: str = SUBJECT,
               unsynced_requests: int = 0, upn: str = WORK):
    """What Office's saveAsync does; returns the stand-in's stored draft (rest_id, immutable_id)."""
    body = {"html": html} if text is None else {"text": text}
    return ms.state.save_draft_as_outlook(upn, subject=subject, to=list(to), unsynced_requests=unsynced_requests,
                                          **body)


class Sleeps:
    """A sleep that records what it was asked to wait and returns at once (optionally doing something first)."""

    def __init__(self, on_sleep=None) -> None:
        self.calls: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.calls))
