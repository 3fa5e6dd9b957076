"""Errors in the shape Microsoft Entra's token endpoint returns them, and scope-to-token decisions.

An Entra error body carries `error`, an `error_description` that starts with the AADSTS code and ends
with trace/correlation ids and a timestamp, the numeric `error_codes`, and the ids again as fields.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from .microsoft_directory import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    AppRegistration,
    Directory,
    ScopeRequest,
    permission_name,
)

# Graph delegated permissions the stand-in knows; anything else is refused as Entra refuses it.
KNOWN_GRAPH_PERMISSIONS = frozenset(
    p.lower()
    for p in (
        "User.Read", "User.ReadBasic.All", "Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite", "Mail.Send",
        "MailboxSettings.Read", "MailboxSettings.ReadWrite", "Contacts.Read", "Calendars.Read", "email",
        "openid", "profile", "offline_access",
    )
)


class AADError(Exception):
    def __init__(
        self,
        error: str,
        code: int,
        description: str,
        *,
        status: int = 400,
        suberror: str | None = None,
        claims: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: AADSTS{code}: {description}")
        self.error, self.code, self.description = error, code, description
        self.status, self.suberror, self.claims = status, suberror, claims
        self.headers = headers or {}

    def body(self, *, base_url: str, now: float, correlation_id: str | None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"{base_url}/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        if self.claims:
            body["claims"] = self.claims
        return body


def missing_parameter(name: str) -> AADError:
    return AADError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def consent_required(app: AppRegistration) -> AADError:
    return AADError(
        "invalid_grant", 65001,
        f"The user or administrator has not consented to use the application with ID '{app.client_id}' named "
        f"'{app.display_name}'. Send an interactive authorization request for this user and resource.",
        suberror="consent_required",
    )


def mfa_required(resource: str) -> AADError:
    return AADError(
        "interaction_required", 50076,
        "Due to a configuration change made by your administrator, or because you moved to a new location, "
        f"you must use multi-factor authentication to access '{resource}'.",
        suberror="basic_action",
        claims='{"access_token":{"capolids":{"essential":true,"values":["standin-mfa-policy"]}}}',
    )


@dataclass(frozen=True)
class TokenTarget:
    """What a token request resolves to: one resource, its audience, and the permissions granted."""

    resource: str
    audience: str
    permissions: tuple[str, ...]  # qualified, e.g. https://graph.microsoft.com/Mail.Send
    echoed_scopes: tuple[str, ...]  # as the client wrote them, for the response's `scope`
    oidc: frozenset[str]

    @property
    def scp(self) -> str:
        names = [permission_name(p) for p in self.permissions]
        if self.resource == GRAPH_RESOURCE:
            names += sorted(s for s in self.oidc if s != "offline_access")
        return " ".join(dict.fromkeys(names))

    @property
    def scope_field(self) -> str:
        extra = sorted(s for s in self.oidc if s != "offline_access")
        return " ".join(dict.fromkeys([*self.echoed_scopes, *extra]))


def qualified(resource: str, permission: str) -> str:
    return f"{resource}/{permission}"


def resolve_target(
    scopes: ScopeRequest, directory: Directory, *, tenant_label: str, granted: set[str]
) -> TokenTarget:
    """Pick the one resource of a token request and expand `.default` to what is granted."""
    if len(scopes.resources) > 1:
        raise AADError(
            "invalid_request", 28000,
            "Provided value for the input parameter scope is not valid because it contains more than one "
            f"resource. Scope {' '.join(s for r in scopes.resources for s in scopes.by_resource[r])} is not valid.",
        )
    if not scopes.resources:
        return TokenTarget(GRAPH_RESOURCE, GRAPH_APP_ID, (), (), scopes.oidc)
    resource = scopes.resources[0]
    requested = scopes.by_resource[resource]
    if resource == GRAPH_RESOURCE:
        audience = GRAPH_APP_ID
        offered = None
    else:
        api = directory.find_app_by_resource(resource)
        if api is None:
            raise AADError(
                "invalid_resource", 500011,
                f"The resource principal named {resource} was not found in the tenant named {tenant_label}. "
                "This can happen if the application has not been installed by the administrator of the tenant "
                "or consented to by any user in the tenant. You might have sent your authentication request to "
                "the wrong tenant.",
            )
        audience, offered = api.client_id, {s.lower() for s in api.exposed_scopes}
    permissions: list[str] = []
    for scope in requested:
        name = permission_name(scope)
        if name == ".default":
            permissions += sorted(p for p in granted if p.lower().startswith(resource.lower() + "/"))
            if offered is not None and not permissions:
                permissions += [qualified(resource, s) for s in sorted(offered)]
            continue
        known = KNOWN_GRAPH_PERMISSIONS if offered is None else offered
        if name.lower() not in known:
            raise AADError(
                "invalid_scope", 650053,
                f"The application asked for scope '{name}' that doesn't exist on the resource '{audience}'.",
            )
        permissions.append(qualified(resource, name))
    has_default = any(permission_name(s) == ".default" for s in requested)
    echoed = tuple(permissions) if has_default else tuple(requested)
    return TokenTarget(resource, audience, tuple(dict.fromkeys(permissions)), echoed, scopes.oidc)


def covers(granted: set[str], permissions: tuple[str, ...]) -> bool:
    lowered = {g.lower() for g in granted}
    return all(p.lower() in lowered for p in permissions)


def graph_preconsent(app: AppRegistration) -> set[str]:
    return {qualified(GRAPH_RESOURCE, p) for p in app.preconsented if p not in OIDC_SCOPES}
