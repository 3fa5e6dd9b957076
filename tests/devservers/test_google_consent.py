"""The consent page a person clicks, and the userinfo and tokeninfo endpoints."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from mailbeacon.devservers.google import DEFAULT_CLIENT_ID, RunningStandin

from .test_google_signin import (  # noqa: F401  (fixtures)
    GMAIL_MODIFY,
    FakeClock,
    discovery,
    finish_sign_in,
    follow_authorization,
    google,
    running_google,
    sign_in,
    start_sign_in,
)

# -- the consent page ------------------------------------------------------------------------------


def consent_form(html: str) -> str:
    ticket = re.search(r'name="ticket" value="([^"]+)"', html)
    assert ticket, html
    return ticket.group(1)


def test_consent_page_shows_client_scopes_and_accounts(google: RunningStandin) -> None:
    google.state.auto_approve = False
    pending = start_sign_in(google, access_type="offline")

    page = requests.get(pending.url, timeout=10)

    assert page.status_code == 200
    assert DEFAULT_CLIENT_ID in page.text
    assert GMAIL_MODIFY in page.text
    assert "Read, compose, and send emails" in page.text
    for account in google.state.users():
        assert account.email in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_choosing_an_account_on_the_consent_page_returns_a_code_for_it(google: RunningStandin) -> None:
    google.state.auto_approve = False
    pending = start_sign_in(google, access_type="offline")
    ticket = consent_form(requests.get(pending.url, timeout=10).text)

    decision = requests.post(
        f"{google.base_url}/o/oauth2/v2/decision",
        data={"ticket": ticket, "action": "allow", "account": "sam.recipient@example.net"},
        allow_redirects=False,
        timeout=10,
    )
    token = finish_sign_in(google, pending, decision.headers["Location"])
    userinfo = requests.get(
        discovery(google)["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )

    assert userinfo.json()["email"] == "sam.recipient@example.net"


def test_adding_an_account_on_the_consent_page_creates_it(google: RunningStandin) -> None:
    google.state.auto_approve = False
    pending = start_sign_in(google)
    ticket = consent_form(requests.get(pending.url, timeout=10).text)

    decision = requests.post(
        f"{google.base_url}/o/oauth2/v2/decision",
        data={"ticket": ticket, "action": "allow", "new_email": "fresh@example.org", "new_name": "Fresh Face"},
        allow_redirects=False,
        timeout=10,
    )

    assert decision.status_code == 302
    assert google.state.user("fresh@example.org").name == "Fresh Face"


def test_cancelling_consent_redirects_with_access_denied_and_the_ticket_is_spent(google: RunningStandin) -> None:
    google.state.auto_approve = False
    pending = start_sign_in(google)
    ticket = consent_form(requests.get(pending.url, timeout=10).text)
    decide = f"{google.base_url}/o/oauth2/v2/decision"

    denied = requests.post(decide, data={"ticket": ticket, "action": "deny"}, allow_redirects=False, timeout=10)
    reused = requests.post(
        decide, data={"ticket": ticket, "action": "allow", "account": "alex.sender@example.com"}, timeout=10
    )

    denial = parse_qs(urlsplit(denied.headers["Location"]).query)
    assert denial == {"error": ["access_denied"], "state": [pending.state]}
    assert reused.status_code == 400


def test_prompt_none_without_auto_approve_needs_interaction(google: RunningStandin) -> None:
    google.state.auto_approve = False

    location = follow_authorization(google, start_sign_in(google, prompt="none"))

    assert parse_qs(urlsplit(location).query)["error"] == ["interaction_required"]


# -- userinfo and tokeninfo ------------------------------------------------------------------------


def test_userinfo_answers_claims_for_the_granted_scopes(google: RunningStandin) -> None:
    token = sign_in(google, scope="openid email profile", login_hint="alex.sender@example.com")

    info = requests.get(
        f"{google.base_url}/v1/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    ).json()

    assert info["email"] == "alex.sender@example.com"
    assert info["email_verified"] is True
    assert info["name"] == "Alex Sender"
    assert info["sub"] == google.state.user("alex.sender@example.com").sub


def test_userinfo_with_a_bad_token_is_401_invalid_credentials(google: RunningStandin) -> None:
    bogus = {"Authorization": "Bearer ya29.bogus"}
    response = requests.get(f"{google.base_url}/v1/userinfo", headers=bogus, timeout=10)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_request", "error_description": "Invalid Credentials"}
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_tokeninfo_reports_audience_scopes_and_offline_access(google: RunningStandin) -> None:
    token = sign_in(google)

    params = {"access_token": token["access_token"]}
    info = requests.get(f"{google.base_url}/tokeninfo", params=params, timeout=10).json()

    assert info["aud"] == DEFAULT_CLIENT_ID
    assert GMAIL_MODIFY in info["scope"].split()
    assert info["access_type"] == "offline"
    assert 0 < int(info["expires_in"]) <= 3600


def test_access_tokens_expire_after_the_configured_lifetime(google: RunningStandin) -> None:
    clock = FakeClock(1_800_000_000.0)
    google.state.clock = clock
    google.state.access_token_lifetime = 30
    token = sign_in(google)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    fresh = requests.get(f"{google.base_url}/v1/userinfo", headers=bearer, timeout=10)
    clock.now += 31
    stale = requests.get(f"{google.base_url}/v1/userinfo", headers=bearer, timeout=10)

    assert token["expires_in"] == 30
    assert fresh.status_code == 200
    assert stale.status_code == 401
