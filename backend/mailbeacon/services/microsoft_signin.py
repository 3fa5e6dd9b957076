"""Sign in with Microsoft, two ways, into one kind of account: the add-in's dialog (authorization code with
PKCE, through msal) and Office single sign-on (the add-in hands us a token for our own API; we check it and
trade it on-behalf-of for Graph access).

Either way the backend keeps the refresh token inside the account's encrypted msal cache, and the add-in gets
one of our API tokens, the same kind the extension gets: the dialog path through a one-time code it redeems at
/auth/token with its own PKCE verifier, the SSO path directly.

Accounts are keyed by Microsoft's object id and tenant id, never by address: the `email` claim is not verified
by Microsoft, so an address alone must not attach a Microsoft sign-in to anybody's existing data.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import msal
import requests
from sqlalchemy import select

from ..providers.base import ProviderError
from ..runtime import Runtime
from ..storage.models import AuthFlow, MailAccount, User, utcnow
from ..storage.users import normalise_address
from .api_tokens import AuthError, create_code
from .client_redirects import ADDIN, allowed_client_redirect, hand_back_url
from .microsoft_tokens import GRAPH_SCOPES, SIGN_IN_SCOPES, msal_app, require_configured, seal_cache, \
    sso_verifier

PROVIDER = "outlook"
FLOW_LIFETIME = timedelta(minutes=10)
PROMPTS = frozenset({"select_account", "login", "consent"})


class InteractionRequired(AuthError):
    """Microsoft wants the person in front of a sign-in page (MFA, consent, a changed password).

    `claims` is Entra's claims challenge; the add-in passes it to Office.auth.getAccessToken({authChallenge})
    or falls back to the dialog sign-in.
    """

    def __init__(self, message: str, *, claims: str | None = None) -> None:
        super().__init__("interaction_required", message)
        self.claims = claims


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _granted(result: dict) -> set[str]:
    # Entra echoes Graph permissions bare or qualified (https://graph.microsoft.com/Mail.Send).
    return {scope.rpartition("/")[2].lower() for scope in str(result.get("scope", "")).split()}


def _first_line(text: str) -> str:
    return str(text or "").replace("\r\n", "\n").split("\n", 1)[0][:300]


class MicrosoftSignIn:
    def __init__(self, rt: Runtime) -> None:
        require_configured(rt)
        self.rt = rt
        self.callback_url = f"{rt.config.public_url}/auth/microsoft/callback"
        self.signed_in_user_id: int | None = None  # set by a successful finish()

    # --- the dialog: authorization code with PKCE --------------------------------------------------------------
    def start(self, session, *, client_redirect_uri: str, client_state: str, code_challenge: str,
              code_challenge_method: str = "S256", login_hint: str | None = None,
              prompt: str | None = None) -> str:
        client = allowed_client_redirect(self.rt, client_redirect_uri, clients=(ADDIN,))
        if client is None:
            raise AuthError("invalid_redirect_uri", "redirect_uri is not one of this server's registered clients")
        if code_challenge_method != "S256" or not 43 <= len(code_challenge or "") <= 128:
            raise AuthError("invalid_request", "a PKCE code_challenge with method S256 is required")
        if len(client_state or "") > 512 or len(login_hint or "") > 320:
            raise AuthError("invalid_request", "state or login_hint is too long")
        if prompt is not None and prompt not in PROMPTS:
            raise AuthError("invalid_request", f"prompt must be one of {', '.join(sorted(PROMPTS))}")
        try:
            # form_post keeps the code out of the callback URL, so out of access logs and browser history.
            flow = msal_app(self.rt).initiate_auth_code_flow(
                list(SIGN_IN_SCOPES), redirect_uri=self.callback_url, response_mode="form_post",
                login_hint=login_hint or None, prompt=prompt)
        except ProviderError as exc:
            raise AuthError("unavailable", exc.message) from None
        session.add(AuthFlow(state_hash=_hash(flow["state"]), provider="microsoft",
                             expires_at=utcnow() + FLOW_LIFETIME, data={
                                 "client": client, "client_redirect_uri": client_redirect_uri,
                                 "client_state": client_state or "", "code_challenge": code_challenge,
                                 # msal's flow holds its PKCE verifier and nonce: secrets, so encrypted.
                                 "flow": self.rt.secrets.encrypt(json.dumps(flow))}))
        return flow["auth_uri"]

    def _take_flow(self, session, state: str) -> AuthFlow:
        flow = session.get(AuthFlow, _hash(state or ""))
        if flow is None or flow.provider != "microsoft":
            raise AuthError("invalid_state", "This sign-in link is not valid or was already used. Start again.")
        session.delete(flow)  # a state works once
        if flow.expires_at <= utcnow():
            raise AuthError("invalid_state", "This sign-in took too long. Start again.")
        return flow

    def finish(self, session, *, params: dict[str, str]) -> str:
        """Complete the Microsoft side; return the URL to send the browser to (the add-in's landing page)."""
        stored = self._take_flow(session, params.get("state", ""))
        data = stored.data

        def back(**fields: str) -> str:
            return hand_back_url(data["client_redirect_uri"], data["client_state"], **fields)

        if params.get("error") or not params.get("code"):
            return back(error=params.get("error") or "access_denied",
                        error_description="Microsoft sign-in was cancelled or refused")
        cache = msal.SerializableTokenCache()
        try:
            app = msal_app(self.rt, cache=cache)
            result = app.acquire_token_by_auth_code_flow(json.loads(self.rt.secrets.decrypt(data["flow"])),
                                                         dict(params), scopes=list(SIGN_IN_SCOPES))
        except (ProviderError, ValueError, requests.RequestException, msal.exceptions.MsalError) as exc:
            return back(error="server_error",
                        error_description=f"Microsoft did not complete the sign-in ({exc.__class__.__name__})")
        if "error" in result:
            return back(error="server_error" if result["error"] == "temporarily_unavailable" else "access_denied",
                        error_description=_first_line(result.get("error_description")) or result["error"])
        if not {s.lower() for s in GRAPH_SCOPES} <= _granted(result):
            return back(error="insufficient_scope",
                        error_description="mailbeacon needs permission to read, change and send your mail")
        claims = result.get("id_token_claims") or {}
        try:
            user = self._store_account(session, claims=claims, cache=cache, granted=_granted(result))
            self.signed_in_user_id = user.id
        except AuthError as exc:
            return back(error=exc.code, error_description=exc.message)
        one_time = create_code(session, user, client=data["client"], redirect_uri=data["client_redirect_uri"],
                               code_challenge=data["code_challenge"])
        return back(code=one_time)

    # --- single sign-on: the add-in's token for our API, traded on-behalf-of ----------------------------------
    def single_sign_on(self, session, *, sso_token: str) -> User:
        claims = sso_verifier(self.rt).verify(sso_token)
        oid, tid = str(claims["oid"]), str(claims["tid"]).lower()
        account = self._find_account(session, oid, tid)
        cache = msal.SerializableTokenCache()
        if account is not None and account.encrypted_secret:
            # The same per-user cache as every other path, so its refresh token is the one jobs use later.
            cache.deserialize(self.rt.secrets.decrypt(account.encrypted_secret))
        try:
            result = msal_app(self.rt, tenant=tid, cache=cache).acquire_token_on_behalf_of(
                sso_token, list(SIGN_IN_SCOPES))
        except ProviderError as exc:
            raise AuthError("unavailable", exc.message) from None
        except (requests.RequestException, msal.exceptions.MsalError) as exc:
            raise AuthError("unavailable", f"Microsoft did not answer ({exc.__class__.__name__})") from None
        self._raise_for_obo_error(result)
        if not {s.lower() for s in GRAPH_SCOPES} <= _granted(result):
            raise InteractionRequired("mailbeacon needs permission to read, change and send your mail; "
                                      "sign in through the dialog to grant it")
        identity = {**(result.get("id_token_claims") or {}), "oid": oid, "tid": tid,
                    "preferred_username": claims.get("preferred_username"), "name": claims.get("name")}
        return self._store_account(session, claims=identity, cache=cache, granted=_granted(result))

    @staticmethod
    def _raise_for_obo_error(result: dict) -> None:
        error = result.get("error")
        if not error:
            return
        detail = _first_line(result.get("error_description")) or error
        if error in ("interaction_required", "consent_required", "login_required") \
                or result.get("suberror") in ("consent_required", "basic_action"):
            raise InteractionRequired(detail, claims=result.get("claims"))
        if error == "temporarily_unavailable":
            raise AuthError("unavailable", detail)
        raise AuthError("invalid_token", f"Microsoft refused the single sign-on token: {detail}")

    # --- the account ------------------------------------------------------------------------------------------
    @staticmethod
    def _find_account(session, oid: str, tid: str) -> MailAccount | None:
        return session.scalar(select(MailAccount).where(MailAccount.provider == PROVIDER,
                                                        MailAccount.subject_id == oid,
                                                        MailAccount.tenant_id == tid))

    def _store_account(self, session, *, claims: dict, cache: msal.SerializableTokenCache,
                       granted: set[str]) -> User:
        oid, tid = str(claims.get("oid") or ""), str(claims.get("tid") or "").lower()
        if not oid or not tid:
            raise AuthError("invalid_token", "Microsoft did not say who signed in")
        address = next((normalise_address(str(v)) for v in (claims.get("preferred_username"), claims.get("email"))
                        if v and "@" in str(v)), None)
        if address is None:
            raise AuthError("invalid_token", "Microsoft did not give an address for this account")
        account = self._find_account(session, oid, tid)
        taken = session.scalar(select(MailAccount).where(MailAccount.provider == PROVIDER,
                                                         MailAccount.address == address))
        if account is None:
            if taken is not None or session.scalar(select(User.id).where(User.email == address)) is not None:
                raise AuthError("account_conflict", f"{address} already belongs to another mailbeacon account; "
                                                    "ask your administrator to connect this sign-in to it")
            user = User(email=address, display_name=claims.get("name"))
            session.add(user)
            session.flush()
            account = MailAccount(user_id=user.id, provider=PROVIDER, address=address, subject_id=oid, tenant_id=tid)
            session.add(account)
        elif taken is None:
            account.address = address  # the person's sign-in name changed; the account is still theirs
        account.scopes = " ".join(sorted(granted))
        account.encrypted_secret = seal_cache(self.rt, cache)
        account.status, account.status_reason = "connected", None
        session.flush()
        return session.get(User, account.user_id)

