"""Who exists in the Microsoft stand-in: tenants, users and app registrations.

The directory mirrors the parts of Microsoft Entra ID that a sign-in touches: a work account belongs to
one tenant (its `tid`), a personal Microsoft account belongs to the fixed consumers tenant, and an app
registration says which redirect URIs, secrets and sign-in audiences it accepts. Scope strings are
parsed here too, because deciding which resource a scope names is a directory question.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

# Microsoft's fixed identifiers. They appear in real tokens, so code under test may rely on them.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCE = "https://graph.microsoft.com"
# The Office client that asks for an SSO token on an add-in's behalf (the id Office's SSO docs tell
# add-in authors to pre-authorise). It becomes the `azp` of a minted SSO token.
OFFICE_CLIENT_ID = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
DEFAULT_GRAPH_PERMISSIONS = frozenset(
    {"User.Read", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite"}
)
SIGN_IN_AUDIENCES = ("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount")

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mailbeacon.invalid/devservers/microsoft")

DEFAULT_CLIENT_ID = str(uuid.uuid5(_NAMESPACE, "app/mailbeacon"))
# A development-only credential of a server that runs on loopback; it protects nothing real.
DEFAULT_CLIENT_SECRET = "standin-client-secret"

AccountKind = Literal["work", "personal"]


def stable_guid(*parts: str) -> str:
    """A GUID derived from names, so the default directory is the same on every start."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Tenant:
    id: str
    domain: str
    display_name: str

    @property
    def is_consumers(self) -> bool:
        return self.id == CONSUMERS_TENANT_ID


@dataclass(frozen=True)
class User:
    oid: str
    tid: str
    upn: str
    display_name: str
    kind: AccountKind

    @property
    def given_name(self) -> str:
        return self.display_name.split(" ")[0]

    @property
    def surname(self) -> str:
        return self.display_name.split(" ", 1)[1] if " " in self.display_name else ""


@dataclass
class AppRegistration:
    client_id: str
    display_name: str
    client_secrets: tuple[str, ...] = ()
    # Empty means "any loopback URI": convenient for tests whose servers bind an ephemeral port.
    redirect_uris: tuple[str, ...] = ()
    app_id_uri: str | None = None
    exposed_scopes: tuple[str, ...] = ("access_as_user",)
    sign_in_audience: str = "AzureADandPersonalMicrosoftAccount"
    home_tenant_id: str | None = None
    # Graph permissions an administrator already granted, so OBO needs no interactive consent.
    preconsented: frozenset[str] = DEFAULT_GRAPH_PERMISSIONS

    @property
    def is_public_client(self) -> bool:
        return not self.client_secrets

    def audiences(self) -> set[str]:
        """Values a token's `aud` may carry to be meant for this app."""
        names = {self.client_id}
        if self.app_id_uri:
            names.add(self.app_id_uri)
        return names

    def accepts_redirect_uri(self, uri: str) -> bool:
        if not self.redirect_uris:
            return _is_loopback(uri)
        return any(_redirect_matches(registered, uri) for registered in self.redirect_uris)


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1", "::1")


def _redirect_matches(registered: str, requested: str) -> bool:
    if registered == requested:
        return True
    # Entra ignores the port of a loopback redirect URI, so a local server may bind any port.
    reg, req = urlsplit(registered), urlsplit(requested)
    return (
        _is_loopback(registered)
        and reg.scheme == req.scheme
        and reg.hostname == req.hostname
        and reg.path == req.path
        and reg.query == req.query
    )


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed `scope` parameter: the OIDC scopes and the permissions asked of each resource."""

    oidc: frozenset[str]
    by_resource: dict[str, tuple[str, ...]]

    @property
    def resources(self) -> list[str]:
        return list(self.by_resource)


def parse_scopes(raw: str | Iterable[str]) -> ScopeRequest:
    """Split scopes such as `Mail.Send`, `https://graph.microsoft.com/Mail.Send`, `api://x/access_as_user`.

    A bare permission means Graph, as in Entra. Each permission is kept as the client wrote it because the
    token response echoes scopes in that form and msal's cache matches them literally.
    """
    items = raw.split() if isinstance(raw, str) else list(raw)
    oidc: set[str] = set()
    by_resource: dict[str, list[str]] = {}
    for item in items:
        if item in OIDC_SCOPES:
            oidc.add(item)
            continue
        resource = item.rpartition("/")[0] or GRAPH_RESOURCE
        if resource == GRAPH_APP_ID:
            resource = GRAPH_RESOURCE
        requested = by_resource.setdefault(resource, [])
        if item not in requested:
            requested.append(item)
    return ScopeRequest(frozenset(oidc), {k: tuple(v) for k, v in by_resource.items()})


def permission_name(scope: str) -> str:
    """`https://graph.microsoft.com/Mail.Send` -> `Mail.Send`."""
    return scope.rpartition("/")[2]


@dataclass
class Directory:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)

    @classmethod
    def with_defaults(cls) -> Directory:
        directory = cls()
        directory.add_tenant(Tenant(CONSUMERS_TENANT_ID, "live.com", "Microsoft accounts"))
        contoso = directory.add_tenant(
            Tenant(stable_guid("tenant", "contoso"), "contoso.onmicrosoft.com", "Contoso")
        )
        fabrikam = directory.add_tenant(
            Tenant(stable_guid("tenant", "fabrikam"), "fabrikam.onmicrosoft.com", "Fabrikam")
        )
        directory.add_user("sam.seller@contoso.onmicrosoft.com", "Sam Seller", tenant=contoso.id)
        directory.add_user("pat.personal@outlook.com", "Pat Personal", kind="personal")
        directory.add_user("rita.recipient@fabrikam.onmicrosoft.com", "Rita Recipient", tenant=fabrikam.id)
        directory.register_app(
            AppRegistration(
                client_id=DEFAULT_CLIENT_ID,
                display_name="mailbeacon (stand-in registration)",
                client_secrets=(DEFAULT_CLIENT_SECRET,),
                app_id_uri=f"api://{DEFAULT_CLIENT_ID}",
                home_tenant_id=contoso.id,
            )
        )
        return directory

    def add_tenant(self, tenant: Tenant) -> Tenant:
        self.tenants[tenant.id] = tenant
        return tenant

    def create_tenant(self, domain: str, display_name: str | None = None, tenant_id: str | None = None) -> Tenant:
        name = display_name or domain.split(".")[0].capitalize()
        return self.add_tenant(Tenant(tenant_id or stable_guid("tenant", domain.lower()), domain.lower(), name))

    def add_user(
        self,
        upn: str,
        display_name: str,
        *,
        kind: AccountKind = "work",
        tenant: str | None = None,
        oid: str | None = None,
    ) -> User:
        if kind == "personal":
            tid = CONSUMERS_TENANT_ID
            # Personal accounts' object ids start with zeros in real tokens; keep that recognisable shape.
            oid = oid or "00000000-0000-0000-" + secrets.token_hex(2) + "-" + secrets.token_hex(6)
        else:
            found = self.find_tenant(tenant) if tenant else None
            if found is None or found.is_consumers:
                raise ValueError(f"work account {upn!r} needs an existing organisational tenant")
            tid = found.id
            oid = oid or stable_guid("user", upn.lower())
        if self.find_user(upn) is not None:
            raise ValueError(f"user {upn!r} already exists")
        user = User(oid=oid, tid=tid, upn=upn, display_name=display_name, kind=kind)
        self.users[user.oid] = user
        return user

    def register_app(self, app: AppRegistration) -> AppRegistration:
        if app.sign_in_audience not in SIGN_IN_AUDIENCES:
            raise ValueError(f"unknown sign-in audience {app.sign_in_audience!r}")
        self.apps[app.client_id] = app
        return app

    def find_tenant(self, name_or_id: str) -> Tenant | None:
        key = name_or_id.lower()
        for tenant in self.tenants.values():
            if key in (tenant.id, tenant.domain):
                return tenant
        return None

    def find_user(self, upn_or_oid: str) -> User | None:
        key = upn_or_oid.lower()
        for user in self.users.values():
            if key in (user.oid, user.upn.lower()):
                return user
        return None

    def user(self, upn_or_oid: str) -> User:
        found = self.find_user(upn_or_oid)
        if found is None:
            raise KeyError(f"no stand-in user {upn_or_oid!r}")
        return found

    def find_app_by_resource(self, resource: str) -> AppRegistration | None:
        for app in self.apps.values():
            if resource in app.audiences():
                return app
        return None

    def eligible_users(self, authority_tenant: str, app: AppRegistration) -> list[User]:
        """Accounts that may sign in to `app` through the authority path `/{authority_tenant}/`."""
        return [u for u in self.users.values() if self.may_sign_in(u, authority_tenant, app)]

    def may_sign_in(self, user: User, authority_tenant: str, app: AppRegistration) -> bool:
        path = authority_tenant.lower()
        if path == "consumers" and user.kind != "personal":
            return False
        if path == "organizations" and user.kind != "work":
            return False
        if path not in ("common", "organizations", "consumers"):
            tenant = self.find_tenant(path)
            if tenant is None or tenant.id != user.tid:
                return False
        if app.sign_in_audience != "AzureADandPersonalMicrosoftAccount" and user.kind == "personal":
            return False
        return not (app.sign_in_audience == "AzureADMyOrg" and user.tid != app.home_tenant_id)
