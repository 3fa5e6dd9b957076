"""Signing in to Outlook through the real msal against the Microsoft stand-in: the add-in's dialog (auth code
with PKCE, form_post) and single sign-on (our SSO token check, then on-behalf-of), for work and personal accounts."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from mailbeacon.devservers.microsoft_directory import GRAPH_APP_ID
from mailbeacon.providers.base import GrantRevoked
from mailbeacon.services.microsoft_tokens import AccountTokens
from mailbeacon.storage.models import ApiToken, MailAccount, User

from .conftest import (ADDIN_PAGE, PERSONAL, WORK, bearer, dialog_sign_in, microsoft_answer,
                       sso_sign_in, start_dialog_sign_in)


def outlook_account(rt) -> MailAccount:
    with rt.db.session() as s:
        return s.scalar(select(MailAccount).where(MailAccount.provider == "outlook"))


@pytest.mark.parametrize("upn", [WORK, PERSONAL])
def test_the_add_in_dialog_signs_in_and_gets_an_api_token(outlook_backend, ms, upn):
    rt, app = outlook_backend
    client = app.test_client()

    token = dialog_sign_in(client, ms, upn=upn)

    assert token["token_type"] == "Bearer" and token["user"]["email"] == upn
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert [(a["provider"], a["address"], a["status"]) for a in me["accounts"]] == [("outlook", upn, "connected")]
    account = outlook_account(rt)
    user = ms.state.user(upn)
    assert (account.subject_id, account.tenant_id) == (user.oid, user.tid)
    with rt.db.session() as s:
        assert s.scalar(select(ApiToken.client)) == "addin"


def test_the_msal_cache_is_stored_encrypted_and_holds_the_refresh_token(outlook_backend, ms):
    rt, app = outlook_backend
    dialog_sign_in(app.test_client(), ms)

    account = outlook_account(rt)
    assert account.encrypted_secret.startswith("v1.")
    cache = json.loads(rt.secrets.decrypt(account.encrypted_secret))
    [refresh] = cache["RefreshToken"].values()
    assert refresh["secret"] not in account.encrypted_secret
    assert refresh["home_account_id"] == f"{account.subject_id}.{account.tenant_id}"


def test_the_authorize_request_uses_pkce_form_post_and_the_issue_scopes(outlook_backend, ms):
    _rt, app = outlook_backend
    response, _ = start_dialog_sign_in(app.test_client())

    location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{ms.base_url}/common/oauth2/v2.0/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["response_mode"] == ["form_post"]
    assert query["redirect_uri"] == ["https://t.mailbeacon.test/auth/microsoft/callback"]
    assert set(query["scope"][0].split()) == {"Mail.ReadWrite", "Mail.Send", "email", "openid", "profile",
                                              "offline_access"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/addin/signed-in.html",
    "https://t.mailbeacon.test.evil.example/addin/signed-in.html",
    "http://t.mailbeacon.test/addin/signed-in.html",
    "https://t.mailbeacon.test/addin/signed-in.html?next=https://evil.example",
    "https://t.mailbeacon.test/addin/signed-in.html#x",
    "https://t.mailbeacon.test/addin/other.html",
    "https://user@t.mailbeacon.test/addin/signed-in.html",
    "https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/cb",
])
def test_a_redirect_uri_that_is_not_the_add_in_page_is_refused_without_redirecting(outlook_backend, redirect_uri):
    _rt, app = outlook_backend
    response, _ = start_dialog_sign_in(app.test_client(), redirect_uri=redirect_uri)

    assert response.status_code == 400 and "Location" not in response.headers
    assert b"registered clients" in response.data


def test_the_add_in_page_is_not_a_redirect_google_sign_in_accepts(outlook_backend):
    from mailbeacon.services.client_redirects import EXTENSION, allowed_client_redirect

    rt, _app = outlook_backend
    assert allowed_client_redirect(rt, ADDIN_PAGE) == "addin"
    assert allowed_client_redirect(rt, ADDIN_PAGE, clients=(EXTENSION,)) is None


def test_a_state_works_once_and_a_forged_one_never(outlook_backend, ms):
    _rt, app = outlook_backend
    client = app.test_client()
    response, _ = start_dialog_sign_in(client)
    answer = microsoft_answer(ms, response.headers["Location"])

    forged = client.post("/auth/microsoft/callback", data={**answer, "state": answer["state"] + "x"})
    assert forged.status_code == 400 and b"not valid" in forged.data
    assert client.post("/auth/microsoft/callback", data=answer).status_code == 303
    assert client.post("/auth/microsoft/callback", data=answer).status_code == 400


def test_cancelling_at_microsoft_hands_the_add_in_an_error_with_its_state(outlook_backend, ms):
    _rt, app = outlook_backend
    client = app.test_client()
    ms.state.auto_approve = False
    response, _ = start_dialog_sign_in(client, state="compose-42")
    location = response.headers["Location"]
    form = {**parse_qs(urlsplit(location).query, keep_blank_values=True), "decision": ["cancel"]}
    page = ms.http_session().post(location.split("?")[0], data={k: v[0] for k, v in form.items()})
    answer = microsoft_answer_from_page(page.text)

    handed = client.post("/auth/microsoft/callback", data=answer)

    assert handed.status_code == 303
    target = urlsplit(handed.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == ADDIN_PAGE
    query = parse_qs(target.query)
    assert query["error"] == ["access_denied"] and query["state"] == ["compose-42"] and "code" not in query


def microsoft_answer_from_page(page: str) -> dict[str, str]:
    from mailbeacon.devservers.microsoft import _form_post_fields

    return _form_post_fields(page)


@pytest.mark.parametrize("upn", [WORK, PERSONAL])
def test_single_sign_on_trades_the_office_token_for_an_api_token(outlook_backend, ms, upn):
    rt, app = outlook_backend
    client = app.test_client()

    token = sso_sign_in(client, ms, upn=upn)

    assert token["user"]["email"] == upn
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    graph_token = AccountTokens(rt, outlook_account(rt))()
    claims = ms.state.tokens.verify(graph_token, now=ms.state.clock.now())
    assert claims["aud"] == GRAPH_APP_ID and claims["oid"] == ms.state.user(upn).oid
    assert {"Mail.ReadWrite", "Mail.Send"} <= set(claims["scp"].split())


def test_the_token_may_name_our_api_by_its_client_id_too(outlook_backend, ms):
    from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID

    _rt, app = outlook_backend
    response = app.test_client().post("/auth/microsoft/sso", json={
        "sso_token": ms.state.mint_sso_token(WORK, audience=DEFAULT_CLIENT_ID).token})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("variant", [
    {"forged": True},
    {"expired": True},
    {"not_yet_valid": True},
    {"audience": "api://someone-else"},
    {"audience": GRAPH_APP_ID},
    {"issuer": "https://login.microsoftonline.com/common/v2.0"},
    {"scopes": ("Mail.Read",)},
], ids=["forged", "expired", "not-yet-valid", "other-api", "graph-token", "foreign-issuer", "no-access-as-user"])
def test_a_bad_sso_token_is_refused_before_it_reaches_microsoft(outlook_backend, ms, variant):
    rt, app = outlook_backend
    ms.state.faults.fail_next("identity.token.on_behalf_of", times=100, status=500)  # proves OBO is never tried

    response = app.test_client().post("/auth/microsoft/sso",
                                      json={"sso_token": ms.state.mint_sso_token(WORK, **variant).token})

    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_token"
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJ0aWQiOiIuLi8uLi9ldmlsIn0."])
def test_a_string_that_is_no_sso_token_is_refused(outlook_backend, garbage):
    _rt, app = outlook_backend
    response = app.test_client().post("/auth/microsoft/sso", json={"sso_token": garbage})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"


def test_an_mfa_demand_tells_the_add_in_to_ask_again_with_the_claims_challenge(outlook_backend, ms):
    _rt, app = outlook_backend
    ms.state.require_interaction(WORK)

    response = app.test_client().post("/auth/microsoft/sso", json={"sso_token": ms.state.mint_sso_token(WORK).token})

    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "interaction_required" and "capolids" in error["claims"]


def test_an_identity_platform_outage_is_a_503_not_a_refusal(outlook_backend, ms):
    _rt, app = outlook_backend
    ms.state.faults.fail_next("identity.token.on_behalf_of", status=503, retry_after=1)

    response = app.test_client().post("/auth/microsoft/sso", json={"sso_token": ms.state.mint_sso_token(WORK).token})

    assert response.status_code == 503 and response.get_json()["error"]["code"] == "unavailable"


def test_dialog_and_single_sign_on_land_on_one_account(outlook_backend, ms):
    rt, app = outlook_backend
    client = app.test_client()

    first, second = dialog_sign_in(client, ms), sso_sign_in(client, ms)

    assert first["user"] == second["user"]
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(MailAccount)) == 1
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_an_address_that_already_belongs_to_another_user_is_not_taken_over(outlook_backend, ms):
    rt, app = outlook_backend
    with rt.db.transaction() as s:
        s.add(User(email=WORK))  # e.g. someone who signed up with Google under that address

    response = app.test_client().post("/auth/microsoft/sso", json={"sso_token": ms.state.mint_sso_token(WORK).token})

    assert response.status_code == 409 and response.get_json()["error"]["code"] == "account_conflict"
    assert outlook_account(rt) is None


def test_a_refresh_is_written_back_and_revoked_sessions_mean_reconnect(outlook_backend, ms):
    rt, app = outlook_backend
    ms.state.access_token_lifetime = 200  # msal counts a token this short as expired: every call refreshes
    dialog_sign_in(app.test_client(), ms)
    before = outlook_account(rt).encrypted_secret

    AccountTokens(rt, outlook_account(rt))()
    assert outlook_account(rt).encrypted_secret != before

    ms.state.revoke_sessions(WORK)
    with pytest.raises(GrantRevoked, match="sign in again"):
        AccountTokens(rt, outlook_account(rt))()


def test_without_microsoft_settings_sign_in_says_it_is_not_configured(config_env):
    from mailbeacon.config import Config
    from mailbeacon.runtime import Runtime
    from mailbeacon.web.app import build_app, pipeline_of

    rt = Runtime(Config.from_env(config_env))
    app = build_app(runtime=rt)
    try:
        client = app.test_client()
        start, _ = start_dialog_sign_in(client)
        sso = client.post("/auth/microsoft/sso", json={"sso_token": "x.y.z"})
        assert start.status_code == 400 and b"not configured" in start.data
        assert sso.status_code == 503 and sso.get_json()["error"]["code"] == "not_configured"
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_the_default_api_audience_follows_the_add_in_manifest(config_env):
    from mailbeacon.config import Config
    from mailbeacon.runtime import Runtime
    from mailbeacon.services.microsoft_tokens import api_audiences

    rt = Runtime(Config.from_env({**config_env, "MAILBEACON_MICROSOFT_CLIENT_ID": "abc"}))
    assert api_audiences(rt) == {"abc", "api://t.mailbeacon.test/abc"}


def test_the_add_in_dialog_marks_the_senders_browser_for_their_own_clicks(outlook_backend, ms):
    from http.cookies import SimpleCookie

    from mailbeacon.tracking import tokens

    rt, app = outlook_backend
    client = app.test_client()
    response, _ = start_dialog_sign_in(client, login_hint=WORK)
    handed = client.post("/auth/microsoft/callback", data=microsoft_answer(ms, response.headers["Location"]))
    assert handed.status_code == 303
    jar = SimpleCookie()
    for header in handed.headers.getlist("Set-Cookie"):
        jar.load(header)
    cookie = jar["mb_sender"]
    assert cookie["path"] == "/c/" and cookie["httponly"] and cookie["samesite"] == "Lax"
    with rt.db.session() as s:
        user_id = s.scalar(select(User.id).where(User.email == WORK))
    assert tokens.verify(cookie.value, keyring=rt.keyring, purpose="sender").message_id == user_id
