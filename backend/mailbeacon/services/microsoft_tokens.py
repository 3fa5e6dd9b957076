"""Microsoft tokens: msal wired to our configuration, the add-in's SSO token checked, and each account's msal
token cache kept encrypted in the database.

msal talks only HTTPS and builds its own requests. Where MAILBEACON_MICROSOFT_CA_BUNDLE names a CA (the local
stand-in's), msal and our Graph client get a session with `trust_env` off, because requests lets the
environment's REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's `verify`; in production the variable is
unset and the usual requests behaviour (system CAs, proxies from the environment) applies.

The work and personal accounts take one code path: sign-in starts at the multi-tenant `common` authority, and
everything done for a known account afterwards (on-behalf-of, refresh) goes to that account's own tenant.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import msal
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..providers.base import GrantRevoked, TransientProviderError
from ..runtime import Runtime
from ..storage.models import MailAccount
from .api_tokens import AuthError

# What we ask Microsoft for. msal adds openid, profile and offline_access to every request itself (and refuses
# to be given them), so they are not listed.
GRAPH_SCOPES = ("Mail.ReadWrite", "Mail.Send")
SIGN_IN_SCOPES = (*GRAPH_SCOPES, "email")
SSO_SCOPE = "access_as_user"  # what the add-in's manifest exposes; Office asks for it on the add-in's behalf
HTTP_TIMEOUT = 15.0
CLOCK_SKEW = 60  # seconds of leeway on exp/nbf; Entra's own tokens allow five minutes, we allow one
KEYS_TTL = 3600.0
KEYS_REFETCH_AFTER = 60.0  # an unknown kid refetches the JWKS (key rollover), at most this often per tenant
_GUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# Answers meaning the person has to come back through an interactive sign-in: nothing silent will fix them.
RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})

log = logging.getLogger(__name__)


def require_configured(rt: Runtime) -> None:
    if not rt.config.microsoft_client_id or not rt.config.microsoft_client_secret:
        raise AuthError("not_configured", "Microsoft sign-in is not configured on this server "
                                          "(MAILBEACON_MICROSOFT_CLIENT_ID / MAILBEACON_MICROSOFT_CLIENT_SECRET)")


def http_session(rt: Runtime) -> requests.Session:
    """A session for everything we send to Microsoft (msal's `http_client` and Graph)."""
    session = requests.Session()
    if rt.config.microsoft_ca_bundle:
        session.trust_env = False
        session.verify = rt.config.microsoft_ca_bundle
    return session


def request_verify(rt: Runtime) -> str | bool:
    """The `verify=` to pass per request: a per-request value is one the environment cannot override."""
    return rt.config.microsoft_ca_bundle or True


def authority(rt: Runtime, tenant: str) -> str:
    return f"{rt.config.microsoft_authority}/{tenant}"


def msal_app(rt: Runtime, *, tenant: str = "common",
             cache: msal.SerializableTokenCache | None = None) -> msal.ConfidentialClientApplication:
    """A confidential client for one tenant. msal reads the tenant's metadata here, so this can fail transiently."""
    require_configured(rt)
    try:
        return msal.ConfidentialClientApplication(
            rt.config.microsoft_client_id, client_credential=rt.config.microsoft_client_secret,
            authority=authority(rt, tenant), token_cache=cache, http_client=http_session(rt),
            # Entra's instance metadata is built into msal; asking login.microsoftonline.com for it would also
            # break every authority that is not Microsoft's public cloud (a sovereign cloud, the local stand-in).
            instance_discovery=False, timeout=HTTP_TIMEOUT)
    except (ValueError, requests.RequestException, msal.exceptions.MsalError) as exc:
        raise TransientProviderError(f"could not reach Microsoft's identity platform ({exc.__class__.__name__})") \
            from exc


def api_audiences(rt: Runtime) -> frozenset[str]:
    """The `aud` values a token for our own API may carry: the application id, or its application ID URI."""
    client_id = rt.config.microsoft_client_id or ""
    uri = rt.config.microsoft_api_app_id_uri
    if uri is None:
        # The add-in manifest's WebApplicationInfo names api://<the add-in's host>/<client id> (addin_manifest.py).
        parts = urlsplit(rt.config.public_url)
        host = (parts.hostname or "").lower()
        netloc = host if parts.port in (None, 443) else f"{host}:{parts.port}"
        uri = f"api://{netloc}/{client_id}"
    return frozenset({client_id, uri})


# --- the add-in's single sign-on token -------------------------------------------------------------------------

def _segment(token: str, index: int) -> dict:
    try:
        part = token.split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError):
        raise AuthError("invalid_token", "the single sign-on token is not a JWT") from None
    if not isinstance(value, dict):
        raise AuthError("invalid_token", "the single sign-on token is not a JWT")
    return value


@dataclass
class _TenantKeys:
    issuer: str
    keys: KeySet
    kids: frozenset[str]
    fetched: float


class SsoTokenVerifier:
    """Checks a token Office issued for our API against its tenant's published issuer and signing keys.

    Multi-tenant means the tenant comes from the token itself; it only picks which metadata to fetch (a GUID,
    so it can't steer the request anywhere else), and the issuer that metadata states must then match exactly.
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._tenants: dict[str, _TenantKeys] = {}

    def verify(self, token: str) -> dict:
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
            raise AuthError("invalid_token", "the single sign-on token is not a JWT")
        header, unverified = _segment(token, 0), _segment(token, 1)
        tid = str(unverified.get("tid", "")).lower()
        if not _GUID.match(tid):
            raise AuthError("invalid_token", "the single sign-on token names no tenant")
        tenant = self._keys(tid, kid=str(header.get("kid", "")))
        try:
            claims = dict(jwt.decode(token, tenant.keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError) as exc:
            raise AuthError("invalid_token", f"the single sign-on token failed verification "
                                             f"({exc.__class__.__name__})") from None
        self._check_claims(claims, tenant.issuer, tid)
        return claims

    def _check_claims(self, claims: dict, issuer: str, tid: str) -> None:
        now = time.time()
        if claims.get("iss") != issuer or str(claims.get("tid", "")).lower() != tid:
            raise AuthError("invalid_token", "the single sign-on token was not issued by the account's tenant")
        aud = claims.get("aud")
        if not isinstance(aud, str) or aud not in api_audiences(self.rt):
            raise AuthError("invalid_token", "the single sign-on token is not meant for this server")
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)):
            raise AuthError("invalid_token", "the single sign-on token has no valid lifetime")
        if exp < now - CLOCK_SKEW:
            raise AuthError("invalid_token", "the single sign-on token has expired; ask Office for a new one")
        if nbf > now + CLOCK_SKEW:
            raise AuthError("invalid_token", "the single sign-on token is not valid yet")
        if claims.get("ver") != "2.0":
            raise AuthError("invalid_token", "only v2.0 tokens are accepted (set accessTokenAcceptedVersion to 2 "
                                             "in the app registration's manifest)")
        if SSO_SCOPE not in str(claims.get("scp", "")).split():
            raise AuthError("invalid_token", f"the single sign-on token lacks the {SSO_SCOPE} permission")
        if not claims.get("oid"):
            raise AuthError("invalid_token", "the single sign-on token names no user")

    def _keys(self, tid: str, *, kid: str) -> _TenantKeys:
        with self._lock:
            known = self._tenants.get(tid)
        now = time.monotonic()
        fresh = known is not None and now - known.fetched < KEYS_TTL
        if fresh and (kid in known.kids or now - known.fetched < KEYS_REFETCH_AFTER):
            return known
        try:
            fetched = self._fetch(tid)
        except (requests.RequestException, ValueError, KeyError, JoseError) as exc:
            if fresh:
                return known  # a rollover check failed: the keys we have are still the published ones
            raise AuthError("unavailable", f"could not read the tenant's signing keys ({exc.__class__.__name__})") \
                from None
        with self._lock:
            self._tenants[tid] = fetched
        return fetched

    def _fetch(self, tid: str) -> _TenantKeys:
        verify = request_verify(self.rt)
        with http_session(self.rt) as session:
            meta = session.get(f"{authority(self.rt, tid)}/v2.0/.well-known/openid-configuration",
                               timeout=HTTP_TIMEOUT, verify=verify)
            meta.raise_for_status()
            config = meta.json()
            jwks = session.get(config["jwks_uri"], timeout=HTTP_TIMEOUT, verify=verify)
            jwks.raise_for_status()
            document = jwks.json()
        issuer = str(config["issuer"]).replace("{tenantid}", tid)
        keys = KeySet.import_key_set({"keys": [k for k in document.get("keys", []) if k.get("kty") == "RSA"]})
        kids = frozenset(str(k.get("kid")) for k in document.get("keys", []))
        return _TenantKeys(issuer=issuer, keys=keys, kids=kids, fetched=time.monotonic())


def sso_verifier(rt: Runtime) -> SsoTokenVerifier:
    # One per runtime, so its key cache lives as long as the process (and a test's runtime, no longer).
    return rt._once("microsoft.sso_verifier", lambda: SsoTokenVerifier(rt))


# --- msal results and per-account caches ----------------------------------------------------------------------

def result_error(result: dict | None, what: str) -> Exception | None:
    """Our error for an msal result that carries one; None for a token."""
    if result is None:
        return GrantRevoked("Microsoft has no usable sign-in for this account any more; sign in again")
    if "access_token" in result:
        return None
    code = str(result.get("error", ""))
    first_line = str(result.get("error_description", "")).split("\r\n", 1)[0].split("\n", 1)[0][:300]
    if code in RECONNECT_ERRORS or result.get("suberror") in ("consent_required", "basic_action"):
        return GrantRevoked(f"Microsoft asks you to sign in again ({code}): {first_line}")
    return TransientProviderError(f"Microsoft could not {what} ({code or 'no answer'})")


def load_cache(rt: Runtime, account: MailAccount) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if account.encrypted_secret:
        cache.deserialize(rt.secrets.decrypt(account.encrypted_secret))
    return cache


def seal_cache(rt: Runtime, cache: msal.SerializableTokenCache) -> str:
    return rt.secrets.encrypt(cache.serialize())


def home_account_id(oid: str, tid: str) -> str:
    """msal's key for an account: `<object id>.<tenant id>` (from the client_info Entra returns)."""
    return f"{oid}.{tid}"


class AccountTokens:
    """Graph access tokens for one stored account, refreshed by msal and written back when the cache changed.

    Callable, so a provider can ask before every request; msal answers from its in-memory cache until the
    token is within five minutes of expiring.
    """

    def __init__(self, rt: Runtime, account: MailAccount) -> None:
        if not account.subject_id or not account.tenant_id:
            raise GrantRevoked("this Outlook account has no Microsoft identity on record; sign in again")
        self.rt = rt
        self.account_id = account.id
        self._home = home_account_id(account.subject_id, account.tenant_id)
        self._cache = load_cache(rt, account)
        self._app = msal_app(rt, tenant=account.tenant_id, cache=self._cache)
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Graph refused a token msal still trusts (revoked, or the clocks disagree): forget the account's access
        tokens, so the next call redeems the refresh token. (force_refresh alone is not enough: msal may hold
        several access tokens for overlapping scopes and hand back the refused one the time after.)"""
        with self._lock:
            stale = list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                                            query={"home_account_id": self._home}))
            for item in stale:
                self._cache.remove_at(item)

    def __call__(self) -> str:
        with self._lock:
            match = [a for a in self._app.get_accounts() if a.get("home_account_id") == self._home]
            try:
                result = self._app.acquire_token_silent_with_error(list(GRAPH_SCOPES), match[0]) if match else None
            except (requests.RequestException, msal.exceptions.MsalError) as exc:
                raise TransientProviderError(f"could not refresh Microsoft access ({exc.__class__.__name__})") \
                    from exc
            error = result_error(result, "refresh your Outlook access")
            if error is not None:
                raise error
            if self._cache.has_state_changed:
                self._save()
            return result["access_token"]

    def _save(self) -> None:
        sealed = seal_cache(self.rt, self._cache)
        with self.rt.db.transaction() as session:
            account = session.get(MailAccount, self.account_id)
            if account is not None:
                account.encrypted_secret = sealed
        self._cache.has_state_changed = False


def graph_provider_for(rt: Runtime, account: MailAccount, *, timeout: float | None = None):
    """The Graph adapter for a connected Outlook account (the send jobs' `provider_for`)."""
    from ..providers.graph import GraphProvider

    return GraphProvider(token_source=AccountTokens(rt, account), graph_url=rt.config.microsoft_graph_url,
                         session=http_session(rt), verify=request_verify(rt), timeout=timeout)
