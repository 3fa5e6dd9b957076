"""The Outlook add-in's single sign-on token and the on-behalf-of exchange, through the real msal."""

from __future__ import annotations

import warnings

import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID, serve_microsoft_standin
from mailbeacon.devservers.microsoft_directory import GRAPH_APP_ID, OFFICE_CLIENT_ID, AppRegistration

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)  # authlib.jose still verifies; it just warns
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import BadSignatureError, ExpiredTokenError

WORK = "sam.seller@contoso.onmicrosoft.com"
PERSONAL = "pat.personal@outlook.com"
API_URI = f"api://{DEFAULT_CLIENT_ID}"


@pytest.fixture(scope="module")
def running():
    with serve_microsoft_standin() as standin:
        yield standin


@pytest.fixture
def ms(running):
    running.state.reset()
    return running


def tenant_keys(ms, tid: str):
    session = ms.http_session()
    config = session.get(f"{ms.authority(tid)}/v2.0/.well-known/openid-configuration").json()
    return config["issuer"], JsonWebKey.import_key_set(session.get(config["jwks_uri"]).json())


def test_a_minted_sso_token_is_what_office_hands_the_add_in(ms):
    user = ms.state.user(WORK)
    minted = ms.state.mint_sso_token(WORK)
    issuer, keys = tenant_keys(ms, user.tid)

    claims = jwt.decode(minted.token, keys)
    claims.validate()

    assert claims["iss"] == issuer == f"{ms.base_url}/{user.tid}/v2.0"
    assert claims["aud"] == API_URI
    assert claims["scp"] == "access_as_user"
    assert claims["azp"] == OFFICE_CLIENT_ID
    assert claims["oid"] == user.oid and claims["preferred_username"] == WORK


def test_forged_and_expired_sso_tokens_fail_independent_verification(ms):
    _, keys = tenant_keys(ms, ms.state.user(WORK).tid)

    with pytest.raises(BadSignatureError):
        jwt.decode(ms.state.mint_sso_token(WORK, forged=True).token, keys)
    with pytest.raises(ExpiredTokenError):
        jwt.decode(ms.state.mint_sso_token(WORK, expired=True).token, keys).validate()


@pytest.mark.parametrize("audience", [API_URI, DEFAULT_CLIENT_ID])
@pytest.mark.parametrize("upn", [WORK, PERSONAL])
def test_on_behalf_of_exchanges_the_sso_token_for_a_graph_token(ms, audience, upn):
    app = ms.msal_app()
    sso = ms.state.mint_sso_token(upn, audience=audience)

    result = app.acquire_token_on_behalf_of(sso.token, ["Mail.Send", "Mail.ReadWrite"])

    assert "access_token" in result, result
    graph_claims = ms.state.tokens.verify(result["access_token"], now=ms.state.clock.now())
    assert graph_claims["aud"] == GRAPH_APP_ID
    assert graph_claims["azp"] == DEFAULT_CLIENT_ID
    assert graph_claims["oid"] == ms.state.user(upn).oid
    assert {"Mail.Send", "Mail.ReadWrite"} <= set(graph_claims["scp"].split())
    assert result["refresh_token"] and result["id_token_claims"]["preferred_username"] == upn
    me = ms.http_session().get(f"{ms.graph_url}/me", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert me.json()["userPrincipalName"] == upn


@pytest.mark.parametrize(
    "variant, expected_error, expected_code",
    [
        ({"forged": True}, "invalid_grant", 50013),
        ({"expired": True}, "invalid_grant", 500133),
        ({"not_yet_valid": True}, "invalid_grant", 500133),
        ({"audience": "api://someone-else"}, "invalid_grant", 500131),
        ({"audience": GRAPH_APP_ID}, "invalid_grant", 500131),
        ({"issuer": "https://login.microsoftonline.com/common/v2.0"}, "invalid_grant", 50013),
    ],
    ids=["forged", "expired", "not-yet-valid", "other-api", "graph-token", "foreign-issuer"],
)
def test_on_behalf_of_rejects_assertions_a_verifier_must_reject(ms, variant, expected_error, expected_code):
    assertion = ms.state.mint_sso_token(WORK, **variant).token

    result = ms.msal_app().acquire_token_on_behalf_of(assertion, ["Mail.Send"])

    assert result["error"] == expected_error
    assert result["error_codes"] == [expected_code]
    assert result["error_description"].startswith(f"AADSTS{expected_code}: ")


def test_on_behalf_of_rejects_a_string_that_is_not_a_jwt(ms):
    result = ms.msal_app().acquire_token_on_behalf_of("not-a-jwt", ["Mail.Send"])

    assert result["error"] == "invalid_request"
    assert result["error_codes"] == [50027]


def test_on_behalf_of_needs_consent_for_permissions_nobody_granted(ms):
    sso = ms.state.mint_sso_token(WORK)

    result = ms.msal_app().acquire_token_on_behalf_of(sso.token, ["Calendars.Read"])

    assert result["error"] == "invalid_grant"
    assert result["suberror"] == "consent_required"
    assert result["error_codes"] == [65001]


def test_on_behalf_of_passes_an_mfa_demand_up_as_interaction_required(ms):
    ms.state.require_interaction(WORK)

    result = ms.msal_app().acquire_token_on_behalf_of(ms.state.mint_sso_token(WORK).token, ["Mail.Send"])

    assert result["error"] == "interaction_required"
    assert "claims" in result


def test_on_behalf_of_from_a_public_client_is_refused(ms):
    public_id = "11111111-2222-3333-4444-555555555555"
    ms.state.directory.register_app(AppRegistration(client_id=public_id, display_name="public",
                                                    app_id_uri="api://public"))
    sso = ms.state.mint_sso_token(WORK, audience="api://public")

    response = ms.http_session().post(f"{ms.authority()}/oauth2/v2.0/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": public_id,
        "assertion": sso.token, "requested_token_use": "on_behalf_of", "scope": "Mail.Send",
    })

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_sso_token_can_be_fetched_over_the_admin_api_for_a_browser_stand_in(ms):
    response = ms.http_session().post(f"{ms.base_url}/_standin/sso-token", json={"user": WORK})

    assert response.status_code == 200
    token = response.json()["access_token"]
    assert "access_token" in ms.msal_app().acquire_token_on_behalf_of(token, ["Mail.Send"])
