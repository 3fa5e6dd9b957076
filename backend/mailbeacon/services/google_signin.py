"""Sign in with Google (OpenID Connect, PKCE S256, offline access) and hand the result to our client.

The extension opens /auth/google/start with chrome.identity.launchWebAuthFlow; we send the user to Google,
finish the code exchange ourselves (the refresh token never leaves the backend), and redirect to the extension's
https://<id>.chromiumapp.org/ URL with a one-time code that it exchanges, with its own PKCE verifier, for an
API token.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from ..runtime import Runtime
from ..storage.models import AuthFlow, MailAccount, User, utcnow
from ..storage.users import normalise_address
from .api_tokens import AuthError, create_code
from .client_redirects import EXTENSION, allowed_client_redirect

# The narrowest Gmail scope that can read, replace and send a draft.
GMAIL_SCOPES = ("openid", "email", "https://www.googleapis.com/auth/gmail.compose")
FLOW_LIFETIME = timedelta(minutes=10)
_METADATA_TTL = 3600.0


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class _Discovery:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict]] = {}

    def get(self, url: str, *, fresh: bool = False) -> dict:
        with self._lock:
            hit = self._cache.get(url)
            if hit and hit[0] > time.monotonic() and not fresh:
                return hit[1]
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        data = response.json()
        with self._lock:
            self._cache[url] = (time.monotonic() + _METADATA_TTL, data)
        return data


_discovery = _Discovery()


class GoogleSignIn:
    def __init__(self, rt: Runtime) -> None:
        if not rt.config.google_client_id or not rt.config.google_client_secret:
            raise AuthError("not_configured", "Google sign-in is not configured on this server "
                                              "(MAILBEACON_GOOGLE_CLIENT_ID / MAILBEACON_GOOGLE_CLIENT_SECRET)")
        self.rt = rt
        self.callback_url = f"{rt.config.public_url}/auth/google/callback"
        self.signed_in_user_id: int | None = None  # set by a successful finish()

    def metadata(self) -> dict:
        return _discovery.get(f"{self.rt.config.google_issuer}/.well-known/openid-configuration")

    def _client(self) -> OAuth2Session:
        cfg = self.rt.config
        return OAuth2Session(cfg.google_client_id, cfg.google_client_secret, scope=" ".join(GMAIL_SCOPES),
                             redirect_uri=self.callback_url, code_challenge_method="S256")

    def start(self, session, *, client_redirect_uri: str, client_state: str, code_challenge: str,
              code_challenge_method: str = "S256", login_hint: str | None = None) -> str:
        client = allowed_client_redirect(self.rt, client_redirect_uri, clients=(EXTENSION,))
        if client is None:
            raise AuthError("invalid_redirect_uri", "redirect_uri is not one of this server's registered clients")
        if code_challenge_method != "S256" or not 43 <= len(code_challenge or "") <= 128:
            raise AuthError("invalid_request", "a PKCE code_challenge with method S256 is required")
        if len(client_state or "") > 512:
            raise AuthError("invalid_request", "state is too long")
        state, verifier, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        session.add(AuthFlow(state_hash=_hash(state), provider="google", expires_at=utcnow() + FLOW_LIFETIME, data={
            "client": client, "client_redirect_uri": client_redirect_uri, "client_state": client_state or "",
            "code_challenge": code_challenge, "verifier": self.rt.secrets.encrypt(verifier), "nonce": nonce}))
        extra = {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true", "nonce": nonce}
        if login_hint:
            extra["login_hint"] = login_hint
        url, _ = self._client().create_authorization_url(self.metadata()["authorization_endpoint"], state=state,
                                                         code_verifier=verifier, **extra)
        return url

    def _take_flow(self, session, state: str) -> AuthFlow:
        flow = session.get(AuthFlow, _hash(state or ""))
        if flow is None or flow.provider != "google":
            raise AuthError("invalid_state", "This sign-in link is not valid or was already used. Start again.")
        session.delete(flow)  # a state works once
        if flow.expires_at <= utcnow():
            raise AuthError("invalid_state", "This sign-in took too long. Start again.")
        return flow

    def finish(self, session, *, state: str, code: str | None, error: str | None = None) -> str:
        """Complete the Google side; return the URL to send the browser to (the client's hand-off URL)."""
        flow = self._take_flow(session, state)
        data = flow.data
        if error or not code:
            return _client_redirect(data, error=error or "access_denied",
                                    error_description="Google sign-in was cancelled or refused")
        meta = self.metadata()
        try:
            token = self._client().fetch_token(meta["token_endpoint"], code=code,
                                               code_verifier=self.rt.secrets.decrypt(data["verifier"]))
        except Exception as exc:
            return _client_redirect(data, error="server_error",
                                    error_description=f"Google did not complete the sign-in ({exc.__class__.__name__})")
        claims = self._verify_id_token(token.get("id_token"), nonce=data["nonce"], meta=meta)
        granted = set((token.get("scope") or "").split())
        if "https://www.googleapis.com/auth/gmail.compose" not in granted:
            return _client_redirect(data, error="insufficient_scope",
                                    error_description="mailbeacon needs permission to send your drafts")
        user = self._store_account(session, claims, token, granted)
        self.signed_in_user_id = user.id
        one_time = create_code(session, user, client=data["client"], redirect_uri=data["client_redirect_uri"],
                               code_challenge=data["code_challenge"])
        return _client_redirect(data, code=one_time)

    def _verify_id_token(self, id_token: str | None, *, nonce: str, meta: dict) -> dict:
        if not id_token:
            raise AuthError("invalid_token", "Google returned no ID token")
        keys = KeySet.import_key_set(_discovery.get(meta["jwks_uri"]))
        try:
            try:
                claims = jwt.decode(id_token, keys).claims
            except InvalidKeyIdError:
                # Signed with a key newer than our cached set: Google rotates its keys, so fetch them again once.
                keys = KeySet.import_key_set(_discovery.get(meta["jwks_uri"], fresh=True))
                claims = jwt.decode(id_token, keys).claims
        except (JoseError, ValueError) as exc:
            raise AuthError("invalid_token", f"Google's ID token failed verification ({exc.__class__.__name__})")
        now = time.time()
        if claims.get("iss") not in (meta.get("issuer"), self.rt.config.google_issuer):
            raise AuthError("invalid_token", "ID token issuer mismatch")
        aud = claims.get("aud")
        if self.rt.config.google_client_id not in (aud if isinstance(aud, list) else [aud]):
            raise AuthError("invalid_token", "ID token audience mismatch")
        if float(claims.get("exp", 0)) < now - 60 or claims.get("nonce") != nonce:
            raise AuthError("invalid_token", "ID token expired or replayed")
        if not claims.get("email") or claims.get("email_verified") is False:
            raise AuthError("invalid_token", "Google did not confirm an email address")
        return claims

    def _store_account(self, session, claims: dict, token: dict, granted: set[str]) -> User:
        email = normalise_address(claims["email"])
        account = session.scalar(select(MailAccount).where(MailAccount.provider == "gmail",
                                                           MailAccount.subject_id == claims["sub"]))
        if account is None:
            account = session.scalar(select(MailAccount).where(MailAccount.provider == "gmail",
                                                               MailAccount.address == email))
        if account is None:
            user = session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(email=email, display_name=claims.get("name"))
                session.add(user)
                session.flush()
            account = MailAccount(user_id=user.id, provider="gmail", address=email)
            session.add(account)
        account.subject_id = claims["sub"]
        account.address = email
        account.scopes = " ".join(sorted(granted))
        refresh = token.get("refresh_token")
        if refresh:
            account.encrypted_secret = self.rt.secrets.encrypt(refresh)
        if account.encrypted_secret:
            account.status, account.status_reason = "connected", None
        else:
            account.status, account.status_reason = "disconnected", "Google gave no offline access; reconnect"
        session.flush()
        return session.get(User, account.user_id)


def _client_redirect(data: dict, **params: str) -> str:
    if data.get("client_state"):
        params["state"] = data["client_state"]
    return f"{data['client_redirect_uri']}?{urlencode(params)}"
