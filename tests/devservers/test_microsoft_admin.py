"""The consent page a person clicks, Entra's own error pages, and the JSON switches under /_standin/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID, serve_microsoft_standin

WORK = "sam.seller@contoso.onmicrosoft.com"
PERSONAL = "pat.personal@outlook.com"
SCOPES = ["Mail.ReadWrite", "Mail.Send"]
HEADER_ID = "String {00020386-0000-0000-C000-000000000046} Name X-Mailbeacon-Id"


@pytest.fixture(scope="module")
def running():
    with serve_microsoft_standin() as standin:
        yield standin


@pytest.fixture
def ms(running):
    running.state.reset()
    return running


def authorize_url(ms, tenant: str = "common", **params: str) -> str:
    query = {"client_id": DEFAULT_CLIENT_ID, "response_type": "code", "redirect_uri": "http://127.0.0.1/cb",
             "scope": "openid offline_access Mail.Send", "state": "s-1", **params}
    return f"{ms.authority(tenant)}/oauth2/v2.0/authorize?{urlencode(query)}"


def admin(ms, path: str, payload: dict | None = None):
    session = ms.http_session()
    url = f"{ms.base_url}/_standin{path}"
    return session.post(url, json=payload or {}) if payload is not None else session.get(url)


def test_the_consent_page_lists_accounts_and_a_click_signs_that_account_in(ms):
    app = ms.msal_app()
    page = ms.http_session().get(authorize_url(ms)).text
    assert WORK in page and PERSONAL in page and DEFAULT_CLIENT_ID in page

    result = ms.sign_in_with_msal(app, SCOPES, account=PERSONAL)

    assert result["id_token_claims"]["preferred_username"] == PERSONAL


def test_cancel_on_the_consent_page_redirects_with_access_denied(ms):
    form = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url(ms)).query).items()}

    response = ms.http_session().post(authorize_url(ms).split("?")[0], data={**form, "decision": "cancel"},
                                      allow_redirects=False)

    redirected = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 302
    assert redirected["error"] == ["access_denied"]
    assert redirected["error_description"][0].startswith("AADSTS65004:")
    assert redirected["state"] == ["s-1"]


def test_an_unregistered_redirect_uri_gets_entras_error_page_not_a_redirect(ms):
    ms.state.directory.apps[DEFAULT_CLIENT_ID].redirect_uris = ("https://app.example/callback",)

    response = ms.http_session().get(authorize_url(ms), allow_redirects=False)

    assert response.status_code == 400
    assert "AADSTS50011" in response.text
    assert "Location" not in response.headers


def test_a_loopback_redirect_uri_matches_whatever_port_the_client_bound(ms):
    ms.state.directory.apps[DEFAULT_CLIENT_ID].redirect_uris = ("http://127.0.0.1/cb",)
    ms.state.auto_approve = True

    fields = ms.complete_authorization(authorize_url(ms, redirect_uri="http://127.0.0.1:53117/cb"))

    assert "code" in fields


def test_prompt_none_without_a_session_answers_login_required(ms):
    response = ms.http_session().get(authorize_url(ms, prompt="none"), allow_redirects=False)

    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["login_required"]


def test_an_unknown_scope_is_reported_back_to_the_client(ms):
    response = ms.http_session().get(authorize_url(ms, scope="openid Mail.Teleport"), allow_redirects=False)

    redirected = parse_qs(urlsplit(response.headers["Location"]).query)
    assert redirected["error"] == ["invalid_scope"]
    assert "AADSTS650053" in redirected["error_description"][0]


def test_a_tenant_and_user_added_over_http_can_sign_in_at_their_tenant(ms):
    tenant = admin(ms, "/tenants", {"domain": "northwind.onmicrosoft.com"}).json()
    user = admin(ms, "/users", {"upn": "nia@northwind.onmicrosoft.com", "display_name": "Nia North",
                                "tenant": "northwind.onmicrosoft.com"}).json()
    admin(ms, "/auto-approve", {"enabled": True})

    result = ms.sign_in_with_msal(ms.msal_app(tenant=tenant["domain"]), SCOPES, account=user["upn"])

    assert result["id_token_claims"]["tid"] == tenant["id"]
    assert result["id_token_claims"]["oid"] == user["oid"]


def test_a_fault_set_over_http_throttles_graph(ms):
    admin(ms, "/faults", {"operation": "graph.me", "status": 429, "retry_after": 9})
    session = ms.http_session()
    session.headers["Authorization"] = f"Bearer {ms.state.mint_access_token(WORK)}"

    first, second = session.get(f"{ms.graph_url}/me"), session.get(f"{ms.graph_url}/me")

    assert (first.status_code, first.headers["Retry-After"]) == (429, "9")
    assert second.status_code == 200


def test_native_send_over_http_is_found_by_its_header_and_listed_as_sent(ms):
    admin(ms, "/native-send", {"user": WORK, "subject": "desktop", "to": ["rita.recipient@fabrikam.onmicrosoft.com"],
                               "html": "<p>hi</p>", "headers": {"X-Mailbeacon-Id": "m-desk"}})
    session = ms.http_session()
    session.headers["Authorization"] = f"Bearer {ms.state.mint_access_token(WORK)}"
    wanted = f"singleValueExtendedProperties/Any(ep: ep/id eq '{HEADER_ID}' and ep/value eq 'm-desk')"

    found = session.get(f"{ms.graph_url}/me/mailFolders/sentitems/messages", params={"$filter": wanted}).json()
    sent = admin(ms, "/sent").json()["value"]

    assert [m["subject"] for m in found["value"]] == ["desktop"]
    assert [m["subject"] for m in sent] == ["desktop"]


def test_a_draft_saved_as_outlook_can_lag_behind_graph(ms):
    draft = admin(ms, "/drafts", {"user": WORK, "subject": "local", "to": [PERSONAL], "unsynced_requests": 1}).json()
    session = ms.http_session()
    session.headers["Authorization"] = f"Bearer {ms.state.mint_access_token(WORK)}"

    statuses = [session.get(f"{ms.graph_url}/me/messages/{draft['restId']}").status_code for _ in range(2)]

    assert statuses == [404, 200]


def test_the_clock_switch_expires_refresh_tokens(ms):
    ms.state.auto_approve = True
    ms.state.access_token_lifetime = 120
    app = ms.msal_app()
    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()

    admin(ms, "/clock", {"advance": 91 * 24 * 3600})
    result = app.acquire_token_silent_with_error(["Mail.Send"], account=account)

    assert result["error_codes"] == [700082]


def test_reset_over_http_forgets_added_users(ms):
    admin(ms, "/users", {"upn": "temp@outlook.com", "display_name": "Temp", "kind": "personal"})
    assert "temp@outlook.com" in {u["upn"] for u in admin(ms, "/").json()["users"]}

    admin(ms, "/reset", {})

    assert "temp@outlook.com" not in {u["upn"] for u in admin(ms, "/").json()["users"]}


def test_the_summary_never_reveals_client_secrets(ms):
    admin(ms, "/apps", {"client_id": "app-2", "client_secret": "s3cret-value", "display_name": "Second"})

    text = admin(ms, "/").text

    assert "app-2" in text
    assert "s3cret-value" not in text and "standin-client-secret" not in text


@pytest.mark.parametrize("path, payload", [
    ("/users", {"display_name": "No UPN"}),
    ("/faults", {"operation": "graph", "times": "twice"}),
    ("/users", {"upn": "x@nowhere.example", "display_name": "X", "tenant": "nowhere.example"}),
])
def test_bad_admin_requests_get_a_json_400(ms, path, payload):
    response = admin(ms, path, payload)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
