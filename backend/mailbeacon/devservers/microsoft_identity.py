"""Microsoft identity platform v2.0 endpoints: discovery, JWKS, authorize (with a consent page), token.

msal finds everything from `/{tenant}/v2.0/.well-known/openid-configuration`; with
`instance_discovery=False` that is the only call it makes at start-up. `/common/discovery/instance` is
served too, for a client that passes its URL as msal's `instance_discovery`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, request

from .microsoft_aad import AADError, resolve_target
from .microsoft_consent_page import render_consent_page, render_error_page, render_form_post
from .microsoft_directory import CONSUMERS_TENANT_ID, AppRegistration, ScopeRequest, User, parse_scopes
from .microsoft_state import Fault, MicrosoftState
from .microsoft_token_endpoint import handle_token_request, operation_for, record_consent, resolve_authority

_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


class _PageError(Exception):
    """A failure Entra shows on its own page because it cannot trust the redirect URI."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _aad_response(state: MicrosoftState, error: AADError) -> Response:
    body = error.body(base_url=state.base_url, now=state.clock.now(),
                      correlation_id=request.headers.get("client-request-id"))
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update({**_NO_STORE, **error.headers})
    return response


def _fault_error(fault: Fault) -> AADError:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    return AADError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.",
                    status=fault.status, headers=headers)


def _append(uri: str, params: Mapping[str, str], *, fragment: bool = False) -> str:
    parts = urlsplit(uri)
    encoded = urlencode(params)
    if fragment:
        return urlunsplit(parts._replace(fragment=encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


def _respond_to_client(params: Mapping[str, str], fields: dict[str, str]) -> Response:
    if params.get("state"):
        fields["state"] = params["state"]
    mode = params.get("response_mode", "query")
    if mode == "form_post":
        return Response(render_form_post(params["redirect_uri"], fields), mimetype="text/html")
    location = _append(params["redirect_uri"], fields, fragment=mode == "fragment")
    return Response(status=302, headers={"Location": location, **_NO_STORE})


def _redirect_error(state: MicrosoftState, params: Mapping[str, str], error: AADError) -> Response:
    body = error.body(base_url=state.base_url, now=state.clock.now(), correlation_id=None)
    fields = {"error": error.error, "error_description": body["error_description"], "error_uri": body["error_uri"]}
    return _respond_to_client(params, fields)


def build_identity_blueprint(state: MicrosoftState) -> Blueprint:
    bp = Blueprint("microsoft_identity", __name__)

    def openid_configuration(tenant_path: str) -> dict[str, Any]:
        tenant = resolve_authority(state, tenant_path)
        # Entra names a tenant by its GUID in endpoints even when asked by domain name.
        path = tenant.id if tenant else tenant_path.lower()
        issuer_tid = tenant.id if tenant else (CONSUMERS_TENANT_ID if path == "consumers" else "{tenantid}")
        base = state.base_url
        return {
            "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{path}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{base}/{path}/oauth2/v2.0/logout",
            "code_challenge_methods_supported": ["S256", "plain"],
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "tenant_region_scope": None if tenant is None else "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": urlsplit(base).netloc,
            "rbac_url": "https://pas.windows.net",
        }

    def guarded(operation: str, handler):  # noqa: ANN001 - a view function
        fault = state.before_call(operation)
        if fault is not None:
            return _aad_response(state, _fault_error(fault))
        try:
            with state.lock:
                return handler()
        except AADError as error:
            return _aad_response(state, error)

    @bp.get("/<tenant_path>/v2.0/.well-known/openid-configuration")
    def discovery(tenant_path: str):
        return guarded("identity.discovery", lambda: jsonify(openid_configuration(tenant_path)))

    @bp.get("/<tenant_path>/discovery/v2.0/keys")
    @bp.get("/<tenant_path>/discovery/keys")
    def keys(tenant_path: str):
        def answer() -> Response:
            tenant = resolve_authority(state, tenant_path)
            issuer = f"{state.base_url}/{tenant.id if tenant else '{tenantid}'}/v2.0"
            return jsonify(state.tokens.jwks(issuer))

        return guarded("identity.keys", answer)

    @bp.get("/common/discovery/instance")
    def instance_discovery():
        endpoint = request.args.get("authorization_endpoint", "")
        parts = urlsplit(endpoint)
        # msal sends the authority's host without its port, so compare host names only.
        if parts.hostname is None or parts.hostname != urlsplit(state.base_url).hostname:
            return jsonify({"error": "invalid_instance",
                            "error_description": "AADSTS50049: Unknown or invalid instance."}), 400
        tenant_path = parts.path.strip("/").split("/")[0] or "common"
        return jsonify({
            "tenant_discovery_endpoint": f"{state.base_url}/{tenant_path}/v2.0/.well-known/openid-configuration",
            "api-version": request.args.get("api-version", "1.1"),
            "metadata": [{"preferred_network": parts.hostname, "preferred_cache": parts.hostname,
                          "aliases": [parts.hostname]}],
        })

    @bp.post("/<tenant_path>/oauth2/v2.0/token")
    def token(tenant_path: str):
        form = request.form.to_dict()

        def answer() -> Response:
            response = jsonify(handle_token_request(state, tenant_path, form, request.headers.get("Authorization")))
            response.headers.update(_NO_STORE)
            return response

        return guarded(operation_for(form), answer)

    @bp.route("/<tenant_path>/oauth2/v2.0/authorize", methods=["GET", "POST"])
    def authorize(tenant_path: str):
        params = (request.form if request.method == "POST" else request.args).to_dict()
        fault = state.before_call("identity.authorize")
        if fault is not None:
            return Response(render_error_page(90033, "A transient error has occurred."), status=fault.status,
                            mimetype="text/html")
        try:
            with state.lock:
                return _authorize(state, tenant_path, params, request.method == "POST", request.base_url)
        except _PageError as error:
            return Response(render_error_page(error.code, error.message), status=error.status, mimetype="text/html")

    @bp.get("/<tenant_path>/oauth2/v2.0/logout")
    def logout(tenant_path: str):
        target = request.args.get("post_logout_redirect_uri")
        if target:
            return Response(status=302, headers={"Location": target})
        return Response("<!doctype html><p>You signed out of your account.</p>", mimetype="text/html")

    return bp


def _check_request(state: MicrosoftState, tenant_path: str, params: Mapping[str, str]) -> AppRegistration:
    """The checks that fail on Entra's own page, before any redirect can be trusted."""
    try:
        resolve_authority(state, tenant_path)
    except AADError as error:
        raise _PageError(400, error.code, error.description) from error
    client_id = params.get("client_id")
    if not client_id:
        raise _PageError(400, 900144, "The request body must contain the following parameter: 'client_id'.")
    app = state.directory.apps.get(client_id)
    if app is None:
        raise _PageError(400, 700016, f"Application with identifier '{client_id}' was not found in the directory.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise _PageError(400, 900144, "The request body must contain the following parameter: 'redirect_uri'.")
    if not app.accepts_redirect_uri(redirect_uri):
        raise _PageError(
            400, 50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{client_id}'. Make sure the redirect URI sent in the request "
            "matches one added to your application in the Azure portal.",
        )
    return app


def _validate_scopes(state: MicrosoftState, tenant_path: str, params: Mapping[str, str]) -> None:
    if params.get("response_type") != "code":
        raise AADError("unsupported_response_type", 700054,
                       f"response_type '{params.get('response_type')}' is not enabled for the application.")
    method = params.get("code_challenge_method")
    if method and method.upper() not in ("S256", "PLAIN"):
        raise AADError("invalid_request", 90014, f"The code_challenge_method '{method}' is not supported.")
    if method and not params.get("code_challenge"):
        raise AADError("invalid_request", 900144, "The request body must contain the following parameter: "
                       "'code_challenge'.")
    if not params.get("scope"):
        raise AADError("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    scopes = parse_scopes(params["scope"])
    for resource, items in scopes.by_resource.items():  # authorize may consent to several resources at once
        resolve_target(ScopeRequest(scopes.oidc, {resource: items}), state.directory, tenant_label=tenant_path,
                       granted=set())


def _choose_account(candidates: list[User], params: Mapping[str, str]) -> User | None:
    hint = (params.get("login_hint") or "").lower()
    if hint:
        return next((u for u in candidates if u.upn.lower() == hint), None)
    domain = (params.get("domain_hint") or "").lower()
    if domain in ("consumers", "organizations"):
        wanted = "personal" if domain == "consumers" else "work"
        candidates = [u for u in candidates if u.kind == wanted]
    return candidates[0] if candidates else None


def _authorize(
    state: MicrosoftState, tenant_path: str, params: dict[str, str], submitted: bool, action: str
) -> Response:
    app = _check_request(state, tenant_path, params)
    try:
        _validate_scopes(state, tenant_path, params)
    except AADError as error:
        return _redirect_error(state, params, error)
    # Work accounts first, then in the order they were added: the default account is the first one.
    candidates = sorted(state.directory.eligible_users(tenant_path, app), key=lambda u: u.kind != "work")
    chosen: User | None = None
    notice = None
    if submitted:
        if params.get("decision") == "cancel":
            return _redirect_error(state, params, AADError("access_denied", 65004,
                                                           "User declined to consent to access the app."))
        chosen = next((u for u in candidates if u.oid == params.get("account")), None)
        notice = None if chosen else "Choose one of the accounts listed."
    elif state.auto_approve:
        chosen = _choose_account(candidates, params)
        notice = None if chosen else f"No stand-in account matches '{params.get('login_hint')}'."
    elif params.get("prompt") == "none":
        return _redirect_error(state, params, AADError(
            "login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
    if chosen is None:
        page = render_consent_page(action=action, params=params, app=app, accounts=candidates,
                                   scopes=params["scope"].split(), notice=notice)
        return Response(page, status=400 if submitted else 200, mimetype="text/html")
    record_consent(state, app, chosen, params["scope"])
    code = state.grants.issue_code(
        client_id=app.client_id, user_oid=chosen.oid, redirect_uri=params["redirect_uri"],
        scopes=tuple(params["scope"].split()), issued_at=state.clock.now(),
        code_challenge=params.get("code_challenge"), code_challenge_method=params.get("code_challenge_method"),
        nonce=params.get("nonce"), authority_tenant=tenant_path,
    )
    fields = {"code": code.code}
    if params.get("client_info") == "1":
        fields["client_info"] = state.tokens.client_info(chosen)
    fields["session_state"] = str(uuid.uuid4())
    return _respond_to_client(params, fields)
