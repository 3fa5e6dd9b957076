"""Gmail through google-api-python-client, with the base URL from config so the same code runs against the
stand-in. Access tokens come from the stored (encrypted) refresh token and refresh by themselves."""

from __future__ import annotations

import base64
import json
import logging

from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from .base import Draft, GrantRevoked, NotFound, PermanentProviderError, SentMessage, TransientProviderError

log = logging.getLogger(__name__)
SCOPES = ["https://www.googleapis.com/auth/gmail.compose"]
READ_RETRIES = 3  # googleapiclient's own back-off for 429/5xx, used only for calls that are safe to repeat


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _translate(exc: Exception, what: str) -> Exception:
    if isinstance(exc, RefreshError):
        detail = str(exc)
        if "invalid_grant" in detail or "revoked" in detail.lower():
            return GrantRevoked("Google access was revoked or expired; reconnect your Google account")
        return TransientProviderError(f"could not refresh Google access while trying to {what}")
    if isinstance(exc, TransportError):
        return TransientProviderError(f"could not reach Google to {what}")
    if isinstance(exc, HttpError):
        status = exc.resp.status if exc.resp is not None else None
        try:
            message = json.loads(exc.content)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason if hasattr(exc, "reason") else str(exc)
        retry_after = None
        if exc.resp is not None and exc.resp.get("retry-after"):
            try:
                retry_after = float(exc.resp.get("retry-after"))
            except ValueError:
                retry_after = None
        if status == 404:
            return NotFound(f"Gmail could not find it ({what})", status=404)
        if status in (429, 500, 502, 503, 504):
            return TransientProviderError(f"Gmail is busy ({status}) while trying to {what}", status=status,
                                          retry_after=retry_after)
        if status == 401:
            return TransientProviderError("Gmail refused the access token; will refresh and retry", status=401)
        return PermanentProviderError(f"Gmail refused to {what}: {message}", status=status)
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return TransientProviderError(f"network trouble while trying to {what}")
    return exc


class GmailProvider:
    def __init__(self, *, refresh_token: str, client_id: str, client_secret: str, token_uri: str, api_url: str,
                 user_id: str = "me") -> None:
        self._credentials = Credentials(token=None, refresh_token=refresh_token, token_uri=token_uri,
                                        client_id=client_id, client_secret=client_secret, scopes=SCOPES)
        self._service = build("gmail", "v1", credentials=self._credentials, static_discovery=True,
                              cache_discovery=False, client_options={"api_endpoint": api_url})
        self._user = user_id

    def _drafts(self):
        return self._service.users().drafts()

    def _call(self, request, what: str, *, retries: int = 0):
        try:
            return request.execute(num_retries=retries)
        except Exception as exc:  # noqa: BLE001 - translated to our own error types
            raise _translate(exc, what) from exc

    def fetch_draft(self, *, draft_id: str) -> Draft:
        data = self._call(self._drafts().get(userId=self._user, id=draft_id, format="raw"), "read the draft",
                          retries=READ_RETRIES)
        message = data.get("message") or {}
        return Draft(draft_id=data["id"], raw=_unb64(message.get("raw", "")), message_id=message.get("id"),
                     thread_id=message.get("threadId"))

    def replace_draft(self, *, draft_id: str, raw: bytes, thread_id: str | None) -> Draft:
        message: dict = {"raw": _b64(raw)}
        if thread_id:
            message["threadId"] = thread_id  # without it Gmail takes a reply out of its thread
        # drafts.update is a full replacement, so repeating it is harmless: safe to let the client retry.
        data = self._call(self._drafts().update(userId=self._user, id=draft_id, body={"id": draft_id,
                                                                                     "message": message}),
                          "update the draft", retries=READ_RETRIES)
        result = data.get("message") or {}
        return Draft(draft_id=data.get("id", draft_id), raw=raw, message_id=result.get("id"),
                     thread_id=result.get("threadId"))

    def send_draft(self, *, draft_id: str) -> SentMessage:
        # Never retried blindly: a lost answer may mean it was sent. The send service checks first.
        data = self._call(self._drafts().send(userId=self._user, body={"id": draft_id}), "send the draft")
        return SentMessage(message_id=data["id"], thread_id=data.get("threadId"),
                           internal_date_ms=int(data["internalDate"]) if data.get("internalDate") else None)
