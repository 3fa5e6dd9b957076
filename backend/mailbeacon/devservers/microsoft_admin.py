"""The JSON control API under `/_standin/`: the same switches as the state's Python methods.

It exists for callers outside the test's process — the demo, a browser test's Office.js stand-in
fetching an SSO token — so every switch a test can pull in Python can be pulled over HTTP too.
Client secrets are accepted here but never echoed back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .microsoft_directory import AppRegistration, Tenant, User
from .microsoft_state import MicrosoftState


class _BadRequest(Exception):
    pass


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.id, "domain": tenant.domain, "display_name": tenant.display_name}


def _user_json(user: User) -> dict[str, Any]:
    return {"oid": user.oid, "tid": user.tid, "upn": user.upn, "display_name": user.display_name, "kind": user.kind}


def _app_json(app: AppRegistration) -> dict[str, Any]:
    return {
        "client_id": app.client_id, "display_name": app.display_name, "public_client": app.is_public_client,
        "redirect_uris": list(app.redirect_uris), "app_id_uri": app.app_id_uri,
        "exposed_scopes": list(app.exposed_scopes), "sign_in_audience": app.sign_in_audience,
    }


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.data:
        return {}
    if not isinstance(body, dict):
        raise _BadRequest("the request body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str, kind: type = str, default: Any = ...) -> Any:
    if name not in body:
        if default is ...:
            raise _BadRequest(f"'{name}' is required")
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _BadRequest(f"'{name}' must be of type {kind.__name__}")
    return value


def build_admin_blueprint(state: MicrosoftState) -> Blueprint:
    bp = Blueprint("microsoft_admin", __name__, url_prefix="/_standin")

    def route(rule: str, methods: tuple[str, ...] = ("POST",)):
        def register(handler: Callable[..., Any]) -> Callable[..., Response]:
            def view(**kwargs: Any) -> Response:
                try:
                    result = handler(**kwargs)
                except (_BadRequest, ValueError, KeyError) as error:
                    message = error.args[0] if error.args else str(error)
                    response = jsonify({"error": {"code": "bad_request", "message": str(message)}})
                    response.status_code = 400
                    return response
                return result if isinstance(result, Response) else jsonify(result)

            view.__name__ = handler.__name__
            bp.add_url_rule(rule, view_func=view, methods=list(methods))
            return view

        return register

    @route("/", methods=("GET",))
    def summary() -> dict[str, Any]:
        with state.lock:
            return {
                "base_url": state.base_url,
                "auto_approve": state.auto_approve,
                "access_token_lifetime": state.access_token_lifetime,
                "draft_sync_lag": state.draft_sync_lag,
                "tenants": [_tenant_json(t) for t in state.directory.tenants.values()],
                "users": [_user_json(u) for u in state.directory.users.values()],
                "apps": [_app_json(a) for a in state.directory.apps.values()],
            }

    @route("/reset")
    def reset() -> dict[str, Any]:
        state.reset()
        return {"reset": True}

    @route("/auto-approve")
    def auto_approve() -> dict[str, Any]:
        enabled = _field(_body(), "enabled", bool)
        with state.lock:
            state.auto_approve = enabled
        return {"auto_approve": enabled}

    @route("/access-token-lifetime")
    def access_token_lifetime() -> dict[str, Any]:
        seconds = _field(_body(), "seconds", int)
        if seconds < 1:
            raise _BadRequest("'seconds' must be positive")
        with state.lock:
            state.access_token_lifetime = seconds
        return {"access_token_lifetime": seconds}

    @route("/tenants")
    def add_tenant() -> dict[str, Any]:
        body = _body()
        tenant = state.add_tenant(_field(body, "domain"), _field(body, "display_name", str, None),
                                  _field(body, "id", str, None))
        return _tenant_json(tenant)

    @route("/users")
    def add_user() -> dict[str, Any]:
        body = _body()
        user = state.add_user(_field(body, "upn"), _field(body, "display_name"),
                              kind=_field(body, "kind", str, "work"), tenant=_field(body, "tenant", str, None))
        return _user_json(user)

    @route("/apps")
    def register_app() -> dict[str, Any]:
        body = _body()
        secret = _field(body, "client_secret", str, None)
        with state.lock:
            app = state.directory.register_app(AppRegistration(
                client_id=_field(body, "client_id"),
                display_name=_field(body, "display_name", str, "Stand-in application"),
                client_secrets=(secret,) if secret else (),
                redirect_uris=tuple(_field(body, "redirect_uris", list, [])),
                app_id_uri=_field(body, "app_id_uri", str, None),
                exposed_scopes=tuple(_field(body, "exposed_scopes", list, ["access_as_user"])),
                sign_in_audience=_field(body, "sign_in_audience", str, "AzureADandPersonalMicrosoftAccount"),
                home_tenant_id=_field(body, "home_tenant", str, None),
            ))
        return _app_json(app)

    @route("/faults")
    def add_fault() -> dict[str, Any]:
        body = _body()
        operation = _field(body, "operation")
        with state.lock:
            state.faults.fail_next(operation, _field(body, "times", int, 1), status=_field(body, "status", int, 429),
                                   retry_after=_field(body, "retry_after", int, None))
        return {"operation": operation}

    @route("/slow")
    def slow() -> dict[str, Any]:
        body = _body()
        operation, seconds = _field(body, "operation"), _field(body, "seconds", float)
        with state.lock:
            state.faults.slow(operation, seconds)
        return {"operation": operation, "seconds": seconds}

    @route("/draft-sync-lag")
    def draft_sync_lag() -> dict[str, Any]:
        requests_ = _field(_body(), "requests", int)
        state.set_draft_sync_lag(requests_)
        return {"draft_sync_lag": requests_}

    @route("/clock")
    def advance_clock() -> dict[str, Any]:
        seconds = _field(_body(), "advance", float)
        with state.lock:
            state.clock.advance(seconds)
            return {"offset": state.clock.offset}

    @route("/users/<user>/require-interaction")
    def require_interaction(user: str) -> dict[str, Any]:
        state.require_interaction(user, _field(_body(), "reason", str, "mfa"))
        return {"user": user}

    @route("/users/<user>/revoke-sessions")
    def revoke_sessions(user: str) -> dict[str, Any]:
        return {"revoked": state.revoke_sessions(user)}

    @route("/refresh-tokens/expire")
    def expire_refresh_tokens() -> dict[str, Any]:
        return {"expired": state.expire_refresh_tokens(_field(_body(), "user", str, None))}

    @route("/sso-token")
    def sso_token() -> dict[str, Any]:
        body = _body()
        minted = state.mint_sso_token(
            _field(body, "user"),
            audience=_field(body, "audience", str, None),
            scopes=tuple(_field(body, "scopes", list, ["access_as_user"])),
            lifetime=_field(body, "lifetime", int, 3600),
            expired=_field(body, "expired", bool, False),
            not_yet_valid=_field(body, "not_yet_valid", bool, False),
            forged=_field(body, "forged", bool, False),
            issuer=_field(body, "issuer", str, None),
        )
        return {"access_token": minted.token, "claims": minted.claims}

    def _message_fields(body: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "subject": _field(body, "subject", str, ""),
            "to": _field(body, "to", list, []),
            "cc": _field(body, "cc", list, []),
            "bcc": _field(body, "bcc", list, []),
            "headers": _field(body, "headers", dict, {}),
        }
        for optional in ("html", "text", "internet_message_id"):
            if optional in body:
                fields[optional] = _field(body, optional)
        return fields

    def _stored_json(message) -> dict[str, Any]:  # noqa: ANN001 - a StoredMessage
        rendered = message.to_graph(select=None, expand={"singleValueExtendedProperties": None}, immutable=True)
        rendered["restId"] = message.rest_id
        rendered["internetMessageHeaders"] = message.internet_message_headers()
        return rendered

    @route("/native-send")
    def native_send() -> dict[str, Any]:
        body = _body()
        with state.lock:
            message = state.simulate_native_send(
                _field(body, "user"), visible_after_lists=_field(body, "visible_after_lists", int, 0),
                **_message_fields(body),
            )
            return _stored_json(message)

    @route("/drafts")
    def save_draft() -> dict[str, Any]:
        body = _body()
        with state.lock:
            draft = state.save_draft_as_outlook(
                _field(body, "user"), unsynced_requests=_field(body, "unsynced_requests", int, 0),
                **_message_fields(body),
            )
            return _stored_json(draft)

    @route("/sent", methods=("GET",))
    def sent() -> dict[str, Any]:
        return {"value": state.sent_messages(request.args.get("user"))}

    @route("/mailboxes/<user>/messages", methods=("GET",))
    def mailbox_messages(user: str) -> dict[str, Any]:
        with state.lock:
            box = state.mailbox(user)
            return {"value": [_stored_json(m) for m in box.messages.values()]}

    return bp
