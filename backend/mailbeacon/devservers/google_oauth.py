"""Google's identity endpoints: OIDC discovery, consent, token, revoke, userinfo, JWKS and tokeninfo."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any
from urllib.parse import unquote_plus

from werkzeug.wrappers import Response

from . import google_scopes as scopes
from .google_errors import OAuthError, json_response
from .google_grants import IssuedTokens
from .google_http import CallContext, bearer_token, redirect, render, with_query
from .google_keys import at_hash
from .google_state import Account, OAuthClient, PendingConsent

ID_TOKEN_LIFETIME = 3600
CONSENT_LIFETIME = 600
_CHALLENGE_SHAPE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_PROMPTS = {"none", "consent", "select_account"}
NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}


def discovery(ctx: CallContext) -> Response:
    issuer = ctx.issuer
    return json_response(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/o/oauth2/v2/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/v1/userinfo",
            "revocation_endpoint": f"{issuer}/revoke",
            "jwks_uri": f"{issuer}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "sub",
            ],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }
    )


def certs(ctx: CallContext) -> Response:
    return json_response(ctx.state.keys.jwks(), headers={"Cache-Control": "public, max-age=3600"})


# -- authorization ---------------------------------------------------------------------------------


def _invalid_scopes(unknown: list[str]) -> str:
    return f"Some requested scopes were invalid. {{invalid=[{', '.join(unknown)}]}}"


def _error_page(status: int, error: str, message: str) -> Response:
    return render("error.html", status, error=error, message=message)


def authorize(ctx: CallContext) -> Response:
    """Validate the request as Google does, then auto-approve or show the consent page."""
    params = ctx.request.values
    client = ctx.state.client(params.get("client_id", ""))
    if client is None:
        return _error_page(401, "invalid_client", "The OAuth client was not found.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not client.allows_redirect(redirect_uri):
        return _error_page(
            400,
            "redirect_uri_mismatch",
            f"The redirect URI in the request, {redirect_uri or '(none)'}, does not match the ones "
            "authorized for the OAuth client.",
        )
    state = params.get("state")

    def fail(error: str, description: str) -> Response:
        extra = {"state": state} if state is not None else {}
        return redirect(with_query(redirect_uri, {"error": error, "error_description": description, **extra}))

    response_type = params.get("response_type")
    if not response_type:
        return fail("invalid_request", "Required parameter is missing: response_type")
    if response_type != "code":
        return fail("unsupported_response_type", f"Unsupported response_type: {response_type}")
    if not params.get("scope", "").strip():
        return fail("invalid_request", "Missing required parameter: scope")
    requested, unknown = scopes.normalise(params["scope"])
    if unknown:
        return fail("invalid_scope", _invalid_scopes(unknown))
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if method is not None and method not in ("S256", "plain"):
        return fail("invalid_request", f"Invalid code_challenge_method: {method}")
    if method is not None and challenge is None:
        return fail("invalid_request", "Missing code_challenge")
    if challenge is not None and not _CHALLENGE_SHAPE.match(challenge):
        return fail("invalid_request", "Invalid code_challenge")
    access_type = params.get("access_type", "online")
    if access_type not in ("online", "offline"):
        return fail("invalid_request", f"Invalid access_type: {access_type}")
    prompts = set(params.get("prompt", "").split())
    if not prompts <= _PROMPTS or ("none" in prompts and len(prompts) > 1):
        return fail("invalid_request", f"Invalid prompt: {params.get('prompt')}")

    pending = PendingConsent(
        client=client,
        redirect_uri=redirect_uri,
        state=state,
        scopes=requested,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        code_challenge_method=(method or "plain") if challenge else None,
        offline=access_type == "offline",
        force_consent="consent" in prompts,
        login_hint=params.get("login_hint"),
        include_granted_scopes=params.get("include_granted_scopes") == "true",
        created_at=ctx.state.clock(),
    )
    if ctx.state.auto_approve:
        return _approve(ctx, pending, _auto_account(ctx, pending.login_hint))
    if "none" in prompts:
        return fail("interaction_required", "The user must sign in and consent")
    return _consent_page(ctx, pending)


def _auto_account(ctx: CallContext, login_hint: str | None) -> Account:
    """Auto-approve signs in as the hinted account (created on first use) or the default one."""
    if login_hint and "@" in login_hint:
        return ctx.state.add_user(login_hint)
    return ctx.state.default_user()


def _consent_page(ctx: CallContext, pending: PendingConsent, problem: str | None = None) -> Response:
    ticket = secrets.token_urlsafe(24)
    with ctx.state.lock:
        now = ctx.state.clock()
        for old in [t for t, p in ctx.state.pending_consents.items() if p.created_at + CONSENT_LIFETIME < now]:
            del ctx.state.pending_consents[old]
        ctx.state.pending_consents[ticket] = pending
    hint = pending.login_hint or ""
    return render(
        "consent.html",
        client=pending.client,
        redirect_uri=pending.redirect_uri,
        scopes=[(scope, scopes.describe(scope)) for scope in sorted(pending.scopes)],
        accounts=ctx.state.users(),
        hinted=hint.casefold(),
        new_email=hint if hint and ctx.state.user(hint) is None else "",
        offline=pending.offline,
        ticket=ticket,
        problem=problem,
        auto_approve=ctx.state.auto_approve,
    )


def decision(ctx: CallContext) -> Response:
    """The consent page's form: allow as an account (existing or added here), or cancel."""
    form = ctx.request.form
    with ctx.state.lock:
        pending = ctx.state.pending_consents.pop(form.get("ticket", ""), None)
    if pending is None or pending.created_at + CONSENT_LIFETIME < ctx.state.clock():
        return _error_page(400, "invalid_request", "This sign-in request has expired or was already used. Start again.")
    if form.get("action") == "deny":
        extra = {"state": pending.state} if pending.state is not None else {}
        return redirect(with_query(pending.redirect_uri, {"error": "access_denied", **extra}))
    if form.get("remember") == "on":
        ctx.state.auto_approve = True
    new_email = form.get("new_email", "").strip()
    if new_email:
        try:
            account = ctx.state.add_user(new_email, form.get("new_name", "").strip() or None)
        except ValueError:
            return _consent_page(ctx, pending, problem=f"{new_email!r} is not an email address.")
    else:
        found = ctx.state.user(form.get("account", ""))
        if found is None:
            return _consent_page(ctx, pending, problem="Choose an account or add one.")
        account = found
    return _approve(ctx, pending, account)


def _approve(ctx: CallContext, pending: PendingConsent, account: Account) -> Response:
    with ctx.state.lock:
        granted = pending.scopes
        if pending.include_granted_scopes:
            granted |= ctx.state.tokens.granted_scopes(account.email, pending.client.client_id)
        code = ctx.state.tokens.issue_code(
            client_id=pending.client.client_id,
            redirect_uri=pending.redirect_uri,
            email=account.email,
            scopes=granted,
            nonce=pending.nonce,
            code_challenge=pending.code_challenge,
            code_challenge_method=pending.code_challenge_method,
            offline=pending.offline,
            force_consent=pending.force_consent,
        )
    params = {"code": code, "scope": scopes.as_string(granted), "authuser": "0", "prompt": "consent"}
    if pending.state is not None:
        params = {"state": pending.state, **params}
    return redirect(with_query(pending.redirect_uri, params))


# -- token endpoint --------------------------------------------------------------------------------


def _authenticate_client(ctx: CallContext, form: Any) -> OAuthClient:
    """client_secret_basic (RFC 6749 §2.3.1: form-encoded, then base64) or client_secret_post."""
    basic = ctx.request.authorization
    body_id = form.get("client_id")
    if basic is not None and basic.type == "basic":
        client_id = unquote_plus(basic.username or "")
        secret = unquote_plus(basic.password or "")
        if body_id and body_id != client_id:
            raise OAuthError("invalid_client", "Unauthorized", 401)
    else:
        client_id, secret = body_id or "", form.get("client_secret", "")
    if not client_id:
        raise OAuthError("invalid_request", "Could not determine client ID from request.")
    client = ctx.state.client(client_id)
    if client is None:
        raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
    if not secret or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
        raise OAuthError("invalid_client", "Unauthorized", 401)
    return client


def _id_token(ctx: CallContext, issued: IssuedTokens, *, nonce: str | None) -> str:
    account = ctx.state.user(issued.grant.email)
    assert account is not None
    now = int(ctx.state.clock())
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "azp": issued.grant.client_id,
        "aud": issued.grant.client_id,
        "sub": account.sub,
        "at_hash": at_hash(issued.access_token.value),
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
    }
    if scopes.USERINFO_EMAIL in issued.grant.scopes:
        claims.update(email=account.email, email_verified=True)
    if scopes.USERINFO_PROFILE in issued.grant.scopes:
        claims.update(name=account.name, given_name=account.given_name, family_name=account.family_name)
    if nonce is not None:
        claims["nonce"] = nonce
    return ctx.state.keys.sign_jwt(claims)


def token(ctx: CallContext) -> Response:
    form = ctx.request.form
    with ctx.state.lock:
        client = _authenticate_client(ctx, form)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            if not form.get("code"):
                raise OAuthError("invalid_request", "Missing required parameter: code")
            issued = ctx.state.tokens.redeem_code(
                form["code"],
                client_id=client.client_id,
                redirect_uri=form.get("redirect_uri"),
                verifier=form.get("code_verifier"),
            )
            nonce = issued.grant.nonce
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
            requested, unknown = scopes.normalise(form.get("scope", ""))
            if unknown:
                raise OAuthError("invalid_scope", _invalid_scopes(unknown))
            issued = ctx.state.tokens.refresh(
                form["refresh_token"], client_id=client.client_id, requested_scopes=requested
            )
            nonce = None
        else:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        body: dict[str, Any] = {
            "access_token": issued.access_token.value,
            "expires_in": max(0, int(issued.access_token.expires_at - ctx.state.clock())),
            "scope": scopes.as_string(issued.grant.scopes),
            "token_type": "Bearer",
        }
        if issued.refresh_token:
            body["refresh_token"] = issued.refresh_token
        if "openid" in issued.grant.scopes:
            body["id_token"] = _id_token(ctx, issued, nonce=nonce)
    return json_response(body, headers=NO_STORE)


def revoke(ctx: CallContext) -> Response:
    value = ctx.request.values.get("token", "")
    if not value:
        raise OAuthError("invalid_request", "Missing required parameter: token")
    with ctx.state.lock:
        if not ctx.state.tokens.revoke_token(value):
            raise OAuthError("invalid_token", "Token expired or revoked")
    return json_response({})


def _access(ctx: CallContext) -> tuple[Any, Account]:
    value = bearer_token(ctx.request)
    with ctx.state.lock:
        found = ctx.state.tokens.authenticate(value) if value else None
    if found is None:
        raise OAuthError(
            "invalid_request",
            "Invalid Credentials",
            401,
            {"WWW-Authenticate": f'Bearer realm="{ctx.issuer}/", error="invalid_token"'},
        )
    account = ctx.state.user(found[0].email)
    assert account is not None
    return found, account


def userinfo(ctx: CallContext) -> Response:
    (grant, _), account = _access(ctx)
    info: dict[str, Any] = {"sub": account.sub}
    if scopes.USERINFO_PROFILE in grant.scopes:
        info.update(name=account.name, given_name=account.given_name, family_name=account.family_name)
    if scopes.USERINFO_EMAIL in grant.scopes:
        info.update(email=account.email, email_verified=True)
    return json_response(info)


def tokeninfo(ctx: CallContext) -> Response:
    value = ctx.request.values.get("access_token")
    with ctx.state.lock:
        found = ctx.state.tokens.authenticate(value) if value else None
    if found is None:
        raise OAuthError("invalid_token", "Invalid Value")
    grant, access = found
    account = ctx.state.user(grant.email)
    assert account is not None
    info: dict[str, Any] = {
        "azp": grant.client_id,
        "aud": grant.client_id,
        "sub": account.sub,
        "scope": scopes.as_string(grant.scopes),
        "exp": str(int(access.expires_at)),
        "expires_in": str(max(0, int(access.expires_at - ctx.state.clock()))),
        "access_type": "offline" if grant.refresh_token else "online",
    }
    if scopes.USERINFO_EMAIL in grant.scopes:
        info.update(email=account.email, email_verified="true")
    return json_response(info)


HANDLERS = {
    "oidc.discovery": discovery,
    "oauth.authorize": authorize,
    "oauth.decision": decision,
    "oauth.token": token,
    "oauth.revoke": revoke,
    "oauth.userinfo": userinfo,
    "oauth.certs": certs,
    "oauth.tokeninfo": tokeninfo,
}
