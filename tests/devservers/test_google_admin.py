"""The ``/_standin/`` control API over HTTP, the demo's mail viewer, and what the server logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError
from werkzeug.test import Client

from mailbeacon.devservers.google import RunningStandin, create_google_standin

from .test_google_gmail import RECIPIENT, SENDER, message
from .test_google_signin import (  # noqa: F401  (fixtures)
    credentials_for,
    decode,
    encode,
    gmail_for,
    google,
    running_google,
    sign_in,
)


def admin(google: RunningStandin, path: str, payload: dict[str, Any] | None = None) -> requests.Response:
    url = f"{google.base_url}/_standin/{path}"
    if payload is None:
        return requests.get(url, timeout=10)
    return requests.post(url, json=payload, timeout=10)


@pytest.fixture
def gmail(google: RunningStandin) -> Any:
    return gmail_for(google, credentials_for(google, sign_in(google, login_hint=SENDER))).users()


def test_describe_lists_accounts_clients_and_settings(google: RunningStandin) -> None:
    described = admin(google, "").json()

    assert described["baseUrl"] == google.base_url
    assert {user["email"] for user in described["users"]} == {SENDER, RECIPIENT}
    assert described["clients"][0]["clientId"] == "mailbeacon-dev.apps.googleusercontent.com"


def test_users_added_over_http_can_sign_in(google: RunningStandin) -> None:
    created = admin(google, "users", {"email": "casey@example.org", "name": "Casey Jones"})
    google.state.auto_approve = False

    consent = requests.get(
        f"{google.base_url}/o/oauth2/v2/auth",
        params={
            "client_id": "mailbeacon-dev.apps.googleusercontent.com",
            "redirect_uri": "http://127.0.0.1:9/cb",
            "response_type": "code",
            "scope": "openid email",
        },
        timeout=10,
    )

    assert created.status_code == 201
    assert "Casey Jones" in consent.text


def test_faults_injected_over_http_reach_the_client(gmail: Any, google: RunningStandin) -> None:
    injected = admin(google, "faults", {"operation": "users.getProfile", "status": 503})

    with pytest.raises(HttpError) as failure:
        gmail.getProfile(userId="me").execute()

    assert injected.json()["faults"]["failures"]["users.getProfile"][0]["status"] == 503
    assert failure.value.status_code == 503


def test_a_draft_saved_as_gmails_compose_window_is_readable_through_the_api(gmail: Any, google: RunningStandin) -> None:
    saved = admin(google, "drafts", {"email": SENDER, "raw": encode(message())}).json()

    fetched = gmail.drafts().get(userId="me", id=saved["draftId"], format="raw").execute()

    assert decode(fetched["message"]["raw"]) == message()


def test_sent_mail_is_readable_over_http(gmail: Any, google: RunningStandin) -> None:
    gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()

    sent = admin(google, "sent").json()["messages"]
    inbox = admin(google, f"mailboxes/{RECIPIENT}").json()["messages"]

    assert [decode(m["raw"]) for m in sent] == [message()]
    assert sent[0]["recipients"] == [RECIPIENT]
    assert inbox[0]["labelIds"] == ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]


def test_revocation_and_token_expiry_over_http(gmail: Any, google: RunningStandin) -> None:
    expired = admin(google, "expire-tokens", {"email": SENDER}).json()
    still_works = gmail.getProfile(userId="me").execute()  # google-auth refreshes
    revoked = admin(google, "revoke", {"email": SENDER}).json()

    assert expired == {"expiredAccessTokens": 1}
    assert still_works["emailAddress"] == SENDER
    assert revoked == {"revokedGrants": 1}


def test_settings_switch_auto_approve_and_token_lifetime(google: RunningStandin) -> None:
    described = admin(google, "settings", {"autoApprove": False, "accessTokenLifetime": 5}).json()

    assert described["autoApprove"] is False
    assert google.state.access_token_lifetime == 5


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("faults", {"operation": "users.nothing"}),
        ("faults", {"operation": "users.getProfile", "status": 418}),
        ("users", {"email": "not an address"}),
        ("stale-drafts", {"reads": "three"}),
        ("drafts", {"email": SENDER, "raw": "***"}),
    ],
)
def test_bad_control_requests_get_a_json_error(google: RunningStandin, path: str, payload: dict[str, Any]) -> None:
    response = admin(google, path, payload)

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}


def test_reset_over_http_forgets_added_users(google: RunningStandin) -> None:
    admin(google, "users", {"email": "temp@example.org"})

    admin(google, "reset", {})

    assert google.state.user("temp@example.org") is None


# -- the mail viewer -------------------------------------------------------------------------------


def test_viewer_shows_html_mail_in_a_sandboxed_frame_and_marks_it_read(gmail: Any, google: RunningStandin) -> None:
    html = (
        f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: Tracked\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>Hello <img src="http://127.0.0.1:9/o/token" alt=""><script>alert(1)</script></p>\r\n'
    ).encode()
    gmail.messages().send(userId="me", body={"raw": encode(html)}).execute()
    delivered = google.state.messages(RECIPIENT)[0]

    listing = requests.get(f"{google.base_url}/_standin/mail/{RECIPIENT}", timeout=10)
    page = requests.get(f"{google.base_url}/_standin/mail/{RECIPIENT}/{delivered.id}", timeout=10)

    assert "Tracked" in listing.text
    assert '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="' in page.text
    assert "&lt;img src=&#34;http://127.0.0.1:9/o/token&#34;" in page.text  # escaped into srcdoc, loaded by the frame
    assert "<script>" not in page.text
    assert "img-src *" in page.headers["Content-Security-Policy"]
    assert "UNREAD" not in google.state.messages(RECIPIENT)[0].label_ids


def test_viewer_index_lists_every_mailbox(google: RunningStandin) -> None:
    page = requests.get(f"{google.base_url}/_standin/mail", timeout=10)

    assert SENDER in page.text and RECIPIENT in page.text


# -- logging ---------------------------------------------------------------------------------------


def test_request_log_never_contains_query_strings_or_tokens(google: RunningStandin, caplog: Any) -> None:
    token = sign_in(google)
    caplog.set_level(logging.DEBUG, logger="mailbeacon.devservers.google")

    requests.get(f"{google.base_url}/revoke", params={"token": token["access_token"]}, timeout=10)

    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "GET /revoke" in logged
    assert token["access_token"] not in logged
    assert "?" not in logged


# -- the WSGI app on its own -----------------------------------------------------------------------


def test_the_wsgi_app_serves_in_process_with_the_request_host_as_issuer() -> None:
    app = create_google_standin(auto_approve=True, access_token_lifetime=60)
    client = Client(app)

    metadata = client.get("/.well-known/openid-configuration", base_url="http://google.test").json

    assert metadata["issuer"] == "http://google.test"
    assert app.state.auto_approve is True
    assert app.state.access_token_lifetime == 60


def test_in_process_lost_response_falls_back_to_a_500() -> None:
    app = create_google_standin()
    app.state.lose_next_response("oauth.certs", mode="drop")
    client = Client(app)

    lost = client.get("/oauth2/v3/certs")
    then = client.get("/oauth2/v3/certs")

    assert lost.status_code == 500
    assert then.status_code == 200


def test_unknown_gmail_paths_get_googles_html_404() -> None:
    response = Client(create_google_standin()).get("/gmail/v1/users/me/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
