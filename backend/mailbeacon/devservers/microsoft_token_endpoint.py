"""`POST /{tenant}/oauth2/v2.0/token`: the authorization_code, refresh_token and on-behalf-of grants.

Each grant checks what Entra checks, in roughly the order Entra checks it, and fails with Entra's
AADSTS code so client code can be tested against the failures it will meet in production.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus

from .microsoft_aad import (
    AADError,
    TokenTarget,
    consent_required,
    covers,
    graph_preconsent,
    mfa_required,
    missing_parameter,
    qualified,
    resolve_target,
)
from .microsoft_directory import AppRegistration, Tenant, User, parse_scopes
from .microsoft_grants import AuthorizationCode
from .microsoft_state import MicrosoftState
from .microsoft_tokens import TokenRejected, b64url

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OPERATIONS = {
    GRANT_AUTHORIZATION_CODE: "identity.token.authorization_code",
    GRANT_REFRESH_TOKEN: "identity.token.refresh_token",
    GRANT_JWT_BEARER: "identity.token.on_behalf_of",
}


def resolve_authority(state: MicrosoftState, tenant_path: str) -> Tenant | None:
    """The tenant an authority path names; None for the multi-tenant `common`/`organizations`/`consumers`."""
    if tenant_path.lower() in ("common", "organizations", "consumers"):
        return None
    tenant = state.directory.find_tenant(tenant_path)
    if tenant is None:
        raise AADError(
            "invalid_request", 90002,
            f"Tenant '{tenant_path}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there are "
            "no active subscriptions for the tenant.",
        )
    return tenant


def operation_for(form: Mapping[str, str]) -> str:
    return OPERATIONS.get(form.get("grant_type", ""), "identity.token")


def handle_token_request(
    state: MicrosoftState, tenant_path: str, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    """Answer a token request with Entra's success JSON, or raise AADError. Call under `state.lock`."""
    resolve_authority(state, tenant_path)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    app = _authenticate_client(state, tenant_path, form, authorization)
    if grant_type == GRANT_AUTHORIZATION_CODE:
        return _redeem_code(state, tenant_path, app, form)
    if grant_type == GRANT_REFRESH_TOKEN:
        return _refresh(state, tenant_path, app, form)
    if grant_type == GRANT_JWT_BEARER:
        return _on_behalf_of(state, tenant_path, app, form)
    raise AADError(
        "unsupported_grant_type", 70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def _authenticate_client(
    state: MicrosoftState, tenant_path: str, form: Mapping[str, str], authorization: str | None
) -> AppRegistration:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AADError("invalid_client", 7000216, "Malformed Basic authorization header.", status=401) from exc
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)
    if not client_id:
        raise missing_parameter("client_id")
    app = state.directory.apps.get(client_id)
    if app is None:
        raise AADError(
            "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant_path}'. This can "
            "happen if the application has not been installed by the administrator of the tenant or consented "
            "to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    if form.get("client_assertion"):
        raise AADError(
            "invalid_client", 700027,
            "Client assertion failed signature validation: the stand-in accepts client secrets only.", status=401,
        )
    if app.is_public_client:
        return app
    if not secret:
        raise AADError(
            "invalid_client", 7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    if not any(hmac.compare_digest(secret.encode(), known.encode()) for known in app.client_secrets):
        raise AADError(
            "invalid_client", 7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            status=401,
        )
    return app


def _check_authority_admits(state: MicrosoftState, tenant_path: str, user: User, app: AppRegistration) -> None:
    if not state.directory.may_sign_in(user, tenant_path, app):
        raise AADError(
            "invalid_grant", 50020,
            f"User account '{user.upn}' from identity provider does not exist in tenant '{tenant_path}' and "
            "cannot access the application in that tenant.",
        )


def _pkce_matches(code: AuthorizationCode, verifier: str | None) -> bool:
    if not code.code_challenge:
        return True
    if not verifier:
        return False
    if (code.code_challenge_method or "plain").upper() == "S256":
        derived = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    else:
        derived = verifier
    return hmac.compare_digest(derived, code.code_challenge)


def _redeem_code(state: MicrosoftState, tenant_path: str, app: AppRegistration, form: Mapping[str, str]) -> dict:
    raw_code = form.get("code")
    if not raw_code:
        raise missing_parameter("code")
    code = state.grants.codes.get(raw_code)
    now = state.clock.now()
    if code is None or code.client_id != app.client_id:
        raise AADError("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
    if code.redeemed:
        raise AADError(
            "invalid_grant", 54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
            "existing refresh token.",
        )
    if code.expired(now):
        raise AADError(
            "invalid_grant", 70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new "
            "interactive authorization request for this user and resource.",
        )
    if form.get("redirect_uri") != code.redirect_uri:
        raise AADError(
            "invalid_grant", 70000,
            "The provided value for the 'redirect_uri' is not valid. The value must exactly match the redirect "
            "URI used to obtain the authorization code.",
        )
    if not _pkce_matches(code, form.get("code_verifier")):
        raise AADError(
            "invalid_grant", 50148,
            "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
        )
    user = state.directory.users[code.user_oid]
    _check_authority_admits(state, tenant_path, user, app)
    scopes = parse_scopes(form.get("scope") or " ".join(code.scopes))
    target = _target(state, app, user, scopes, tenant_path)
    code.redeemed = True
    return _issue(state, app, user, target, form, nonce=code.nonce)


def _refresh(state: MicrosoftState, tenant_path: str, app: AppRegistration, form: Mapping[str, str]) -> dict:
    raw = form.get("refresh_token")
    if not raw:
        raise missing_parameter("refresh_token")
    grant = state.grants.refresh_tokens.get(raw)
    now = state.clock.now()
    if grant is None or grant.client_id != app.client_id:
        raise AADError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    issued = _entra_date(grant.issued_at)
    if grant.revoked:
        raise AADError(
            "invalid_grant", 50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
            f"might have changed or reset their password. The grant was issued on '{issued}'.",
        )
    if grant.expired(now, state.grants.refresh_token_lifetime):
        days = state.grants.refresh_token_lifetime // 86400
        raise AADError(
            "invalid_grant", 700082,
            f"The refresh token has expired due to inactivity. The token was issued on {issued} and was "
            f"inactive for {days}.00:00:00.",
        )
    user = state.directory.users[grant.user_oid]
    _check_authority_admits(state, tenant_path, user, app)
    scopes = parse_scopes(form.get("scope", ""))
    target = _target(state, app, user, scopes, tenant_path)
    if user.oid in state.grants.interaction_required:
        raise mfa_required(target.audience)
    grant.last_used = now
    return _issue(state, app, user, target, form, nonce=None)


def _on_behalf_of(state: MicrosoftState, tenant_path: str, app: AppRegistration, form: Mapping[str, str]) -> dict:
    if form.get("requested_token_use") != "on_behalf_of":
        raise missing_parameter("requested_token_use")
    assertion = form.get("assertion")
    if not assertion:
        raise missing_parameter("assertion")
    if app.is_public_client:
        raise AADError(
            "invalid_client", 7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    try:
        claims = state.tokens.verify(assertion, now=state.clock.now())
    except TokenRejected as rejected:
        raise _assertion_error(rejected) from rejected
    if claims.get("aud") not in app.audiences():
        raise AADError(
            "invalid_grant", 500131,
            f"Assertion audience does not match the Client app presenting the assertion. The audience in the "
            f"assertion was '{claims.get('aud')}' and the expected audience is '{app.client_id}' or one of the "
            f"Application Uris of this application with App ID '{app.client_id}'({app.display_name}). The "
            "downstream client must request a token for the expected audience (the application that made the "
            "OBO request) and this application should use that token as the assertion.",
        )
    user = state.directory.users.get(str(claims.get("oid")))
    if user is None or user.tid != claims.get("tid") or not claims.get("scp"):
        raise AADError("invalid_grant", 50034, "The user account does not exist in the directory.")
    _check_authority_admits(state, tenant_path, user, app)
    target = _target(state, app, user, parse_scopes(form.get("scope", "")), tenant_path)
    if user.oid in state.grants.interaction_required:
        raise mfa_required(target.audience)
    return _issue(state, app, user, target, form, nonce=None)


def _assertion_error(rejected: TokenRejected) -> AADError:
    if rejected.reason == "malformed":
        return AADError("invalid_request", 50027, "JWT token is invalid or malformed.")
    if rejected.reason in ("expired", "not_yet_valid"):
        return AADError(
            "invalid_grant", 500133,
            "Assertion is not within its valid time range. Ensure that the access token is not expired before "
            f"using it for user assertion, or request a new token. {rejected.detail}",
        )
    return AADError("invalid_grant", 50013, f"Assertion failed signature validation. [Reason - {rejected.detail}]")


def _target(state: MicrosoftState, app: AppRegistration, user: User, scopes, tenant_path: str) -> TokenTarget:
    granted = state.grants.consented(app.client_id, user.oid) | graph_preconsent(app)
    target = resolve_target(scopes, state.directory, tenant_label=tenant_path, granted=granted)
    own_api = target.audience == app.client_id  # an app may always ask for a token to itself
    if not own_api and not covers(granted, target.permissions):
        raise consent_required(app)
    # Entra puts every permission already granted on the resource into the token, not just those asked for.
    have = {p.lower() for p in target.permissions}
    prefix = target.resource.lower() + "/"
    extra = tuple(sorted(p for p in granted if p.lower().startswith(prefix) and p.lower() not in have))
    return replace(target, permissions=target.permissions + extra, echoed_scopes=target.echoed_scopes + extra)


def _issue(
    state: MicrosoftState,
    app: AppRegistration,
    user: User,
    target: TokenTarget,
    form: Mapping[str, str],
    *,
    nonce: str | None,
) -> dict[str, Any]:
    now, lifetime = state.clock.now(), state.access_token_lifetime
    access = state.tokens.access_token(
        user, audience=target.audience, scopes=target.scp.split(), azp=app.client_id, now=now, lifetime=lifetime
    )
    response: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": target.scope_field,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access.token,
    }
    if "offline_access" in target.oidc:
        response["refresh_token"] = state.grants.issue_refresh_token(app.client_id, user.oid, now).token
    if "openid" in target.oidc:
        response["id_token"] = state.tokens.id_token(
            user, client_id=app.client_id, now=now, lifetime=3600, nonce=nonce, with_email="email" in target.oidc
        )
    if form.get("client_info") == "1":
        response["client_info"] = state.tokens.client_info(user)
    return response


def record_consent(state: MicrosoftState, app: AppRegistration, user: User, scope: str) -> None:
    """What clicking "Accept" grants: every requested permission of every resource."""
    requested = parse_scopes(scope)
    permissions = {qualified(resource, s.rpartition("/")[2]) for resource, items in requested.by_resource.items()
                   for s in items if not s.endswith("/.default")}
    state.grants.consent(app.client_id, user.oid, permissions)
    state.grants.interaction_required.pop(user.oid, None)


def _entra_date(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
