"""Signing in to the Microsoft stand-in with the real msal, over TLS, as the backend will."""

from __future__ import annotations

import warnings

import msal
import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID, serve_microsoft_standin
from mailbeacon.devservers.microsoft_directory import CONSUMERS_TENANT_ID, GRAPH_APP_ID

with warnings.catch_warnings():
    # authlib.jose warns on import that it is deprecated in favour of joserfc; it still verifies JWTs,
    # and checking with a second JOSE library is the point of these assertions.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, jwt

WORK = "sam.seller@contoso.onmicrosoft.com"
PERSONAL = "pat.personal@outlook.com"
SCOPES = ["Mail.ReadWrite", "Mail.Send", "User.Read"]


@pytest.fixture(scope="module")
def running():
    with serve_microsoft_standin() as standin:
        yield standin


@pytest.fixture
def ms(running):
    running.state.reset()
    running.state.auto_approve = True
    return running


def error_code(result: dict) -> int:
    assert "error" in result, result
    return result["error_codes"][0]


def verify_with_jwks(ms, token: str, tenant: str):
    session = ms.http_session()
    config = session.get(f"{ms.authority(tenant)}/v2.0/.well-known/openid-configuration").json()
    keys = JsonWebKey.import_key_set(session.get(config["jwks_uri"]).json())
    claims = jwt.decode(token, keys)
    claims.validate(now=None)
    return claims


def test_msal_redeems_a_pkce_code_for_access_refresh_and_id_tokens(ms):
    app = ms.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")
    assert "code_challenge_method=S256" in flow["auth_uri"]

    result = app.acquire_token_by_auth_code_flow(flow, ms.complete_authorization(flow["auth_uri"]))

    assert {"access_token", "refresh_token", "id_token", "client_info"} <= set(result), result
    assert result["token_type"] == "Bearer"
    assert result["id_token_claims"]["preferred_username"] == WORK
    assert set(result["scope"].split()) >= set(SCOPES)


def test_tokens_verify_against_the_tenant_jwks_with_entra_v2_claims(ms):
    result = ms.sign_in_with_msal(ms.msal_app(), SCOPES, account=WORK)
    user = ms.state.user(WORK)

    access = verify_with_jwks(ms, result["access_token"], user.tid)
    identity = verify_with_jwks(ms, result["id_token"], "common")

    assert access["iss"] == f"{ms.base_url}/{user.tid}/v2.0"
    assert access["aud"] == GRAPH_APP_ID
    assert access["ver"] == "2.0" and access["tid"] == user.tid and access["oid"] == user.oid
    assert {"Mail.Send", "Mail.ReadWrite", "User.Read"} <= set(access["scp"].split())
    assert access["exp"] > access["iat"] >= access["nbf"] - 0
    assert identity["aud"] == DEFAULT_CLIENT_ID
    assert identity["nonce"]
    assert identity["preferred_username"] == WORK


@pytest.mark.parametrize("upn, tenant_id", [(WORK, None), (PERSONAL, CONSUMERS_TENANT_ID)])
def test_work_and_personal_accounts_sign_in_through_the_same_code_path(ms, upn, tenant_id):
    result = ms.sign_in_with_msal(ms.msal_app(), SCOPES, account=upn)
    user = ms.state.user(upn)

    assert result["id_token_claims"]["tid"] == (tenant_id or user.tid)
    me = ms.http_session().get(f"{ms.graph_url}/me", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert me.status_code == 200
    assert me.json()["userPrincipalName"] == upn


def test_consumers_authority_offers_personal_accounts_only(ms):
    ms.state.auto_approve = False
    app = ms.msal_app(tenant="consumers")
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")

    page = ms.http_session().get(flow["auth_uri"]).text

    assert PERSONAL in page
    assert WORK not in page


def test_organizations_authority_refuses_a_personal_login_hint(ms):
    app = ms.msal_app(tenant="organizations")
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri="http://127.0.0.1/cb", login_hint=PERSONAL, response_mode="form_post"
    )

    with pytest.raises(RuntimeError, match="did not redirect"):
        ms.complete_authorization(flow["auth_uri"])


def test_a_code_redeemed_twice_is_refused_with_AADSTS54005(ms):
    app = ms.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")
    response = ms.complete_authorization(flow["auth_uri"])
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), response)

    replay = app.acquire_token_by_auth_code_flow(dict(flow), response)

    assert replay["error"] == "invalid_grant"
    assert error_code(replay) == 54005
    assert replay["error_description"].startswith("AADSTS54005: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(replay)


def test_a_wrong_pkce_verifier_is_refused_with_AADSTS50148(ms):
    app = ms.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")
    response = ms.complete_authorization(flow["auth_uri"])
    flow["code_verifier"] = "x" * 43

    assert error_code(app.acquire_token_by_auth_code_flow(flow, response)) == 50148


def test_a_code_older_than_ten_minutes_is_refused_with_AADSTS70008(ms):
    app = ms.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")
    response = ms.complete_authorization(flow["auth_uri"])
    ms.state.clock.advance(601)

    assert error_code(app.acquire_token_by_auth_code_flow(flow, response)) == 70008


def test_the_redirect_uri_must_match_the_one_the_code_was_issued_for(ms):
    app = ms.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")
    response = ms.complete_authorization(flow["auth_uri"])
    flow["redirect_uri"] = "http://127.0.0.1/elsewhere"

    result = app.acquire_token_by_auth_code_flow(flow, response)

    assert error_code(result) == 70000
    assert "redirect_uri" in result["error_description"]


def test_a_wrong_client_secret_is_invalid_client(ms):
    app = ms.msal_app(client_credential="not-the-secret")
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://127.0.0.1/cb", response_mode="form_post")

    result = app.acquire_token_by_auth_code_flow(flow, ms.complete_authorization(flow["auth_uri"]))

    assert result["error"] == "invalid_client"
    assert error_code(result) == 7000215


def test_acquire_token_silent_refreshes_an_access_token_msal_considers_expired(ms):
    # msal treats a token with under five minutes left as expired, so a two-minute lifetime forces a refresh.
    ms.state.access_token_lifetime = 120
    app = ms.msal_app()
    first = ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()

    refreshed = app.acquire_token_silent(["Mail.Send"], account=account)

    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    me = ms.http_session().get(f"{ms.graph_url}/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert me.status_code == 200


def test_a_fresh_access_token_comes_from_msal_cache_without_a_request(ms):
    app = ms.msal_app()
    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()
    ms.state.faults.fail_next("identity.token", times=5, status=503)

    cached = app.acquire_token_silent(["Mail.Send"], account=account)

    assert cached["token_source"] == "cache"


@pytest.mark.parametrize(
    "switch, expected_code",
    [("expire_refresh_tokens", 700082), ("revoke_sessions", 50173)],
)
def test_a_dead_refresh_token_fails_silent_acquisition_with_entra_codes(ms, switch, expected_code):
    ms.state.access_token_lifetime = 120
    app = ms.msal_app()
    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()
    getattr(ms.state, switch)(WORK)

    result = app.acquire_token_silent_with_error(["Mail.Send"], account=account)

    assert result["error"] == "invalid_grant"
    assert error_code(result) == expected_code


def test_demanded_mfa_makes_refresh_answer_interaction_required_with_claims(ms):
    ms.state.access_token_lifetime = 120
    app = ms.msal_app()
    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()
    ms.state.require_interaction(WORK)

    result = app.acquire_token_silent_with_error(["Mail.Send"], account=account)

    assert result["error"] == "interaction_required"
    assert error_code(result) == 50076
    assert "capolids" in result["claims"]


def test_signing_in_again_interactively_clears_the_mfa_demand(ms):
    ms.state.access_token_lifetime = 120
    app = ms.msal_app()
    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    ms.state.require_interaction(WORK)

    ms.sign_in_with_msal(app, SCOPES, account=WORK)
    (account,) = app.get_accounts()

    assert "access_token" in app.acquire_token_silent_with_error(["Mail.Send"], account=account)


def test_serialised_token_cache_signs_the_user_in_again_after_a_restart(ms):
    ms.state.access_token_lifetime = 120
    first_cache = msal.SerializableTokenCache()
    ms.sign_in_with_msal(ms.msal_app(token_cache=first_cache), SCOPES, account=PERSONAL)
    assert first_cache.has_state_changed
    stored = first_cache.serialize()

    second_cache = msal.SerializableTokenCache()
    second_cache.deserialize(stored)
    restarted = ms.msal_app(token_cache=second_cache)
    (account,) = restarted.get_accounts()
    result = restarted.acquire_token_silent(["Mail.Send"], account=account)

    assert account["username"] == PERSONAL
    assert account["home_account_id"] == f"{ms.state.user(PERSONAL).oid}.{CONSUMERS_TENANT_ID}"
    assert result["token_source"] == "identity_provider"
    assert second_cache.has_state_changed


def test_oidc_authority_and_instance_discovery_are_both_served(ms):
    tenant = ms.state.user(WORK).tid
    session = ms.http_session()
    by_oidc = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID, client_credential="standin-client-secret",
        oidc_authority=f"{ms.base_url}/{tenant}/v2.0", http_client=session,
    )
    by_discovery = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID, client_credential="standin-client-secret",
        authority=ms.authority(tenant), instance_discovery=ms.instance_discovery_url, http_client=session,
    )

    for app in (by_oidc, by_discovery):
        assert "access_token" in ms.sign_in_with_msal(app, SCOPES, account=WORK)


def test_discovery_of_an_unknown_tenant_fails_like_entra(ms):
    authority = ms.authority("no-such-tenant.onmicrosoft.com")
    raw = ms.http_session().get(f"{authority}/v2.0/.well-known/openid-configuration")

    assert raw.status_code == 400
    assert raw.json()["error_codes"] == [90002]
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        ms.msal_app(tenant="no-such-tenant.onmicrosoft.com")


def test_a_throttled_token_endpoint_answers_429_with_retry_after(ms):
    ms.state.faults.fail_next("identity.token", status=429, retry_after=7)

    response = ms.http_session().post(
        f"{ms.authority()}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": DEFAULT_CLIENT_ID},
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error_codes"] == [90033]


def test_plain_requests_trusts_the_standin_with_verify_ca_bundle(ms):
    response = requests.get(f"{ms.authority()}/v2.0/.well-known/openid-configuration", verify=ms.ca_bundle)

    assert response.json()["token_endpoint"] == f"{ms.base_url}/common/oauth2/v2.0/token"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{ms.authority()}/v2.0/.well-known/openid-configuration", verify=True)


def test_msal_verify_parameter_trusts_the_ca_bundle_when_the_environment_does_not_override_it(ms, monkeypatch):
    # requests lets these variables win over a Session's verify, which is what msal's verify= sets.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID, client_credential="standin-client-secret", authority=ms.authority(),
        instance_discovery=False, verify=ms.ca_bundle,
    )

    assert "access_token" in ms.sign_in_with_msal(app, SCOPES, account=WORK)
