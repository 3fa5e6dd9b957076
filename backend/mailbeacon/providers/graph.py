"""Microsoft Graph mail over plain HTTP, with the base URL from config so the same code runs against the stand-in.

Every request asks for immutable ids (`Prefer: IdType="ImmutableId"`): a REST id encodes the folder, so the
draft's id dies when sending moves it to Sent Items; the immutable id is the same draft, then the sent copy.
Errors come out as the provider errors of base.py and nothing Graph-specific; retrying is the caller's call,
because only the caller knows whether a request is safe to repeat.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from .base import NotFound, PermanentProviderError, TransientProviderError

log = logging.getLogger(__name__)

PREFER_IMMUTABLE = 'IdType="ImmutableId"'
# Classic Outlook's own headers are visible to Graph as named properties in the PS_INTERNET_HEADERS set.
INTERNET_HEADERS_SET = "00020386-0000-0000-C000-000000000046"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
_FIELDS = ("id,conversationId,internetMessageId,subject,toRecipients,ccRecipients,bccRecipients,body,isDraft,"
           "sentDateTime,categories")
_TRANSIENT = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class GraphMessage:
    id: str  # immutable
    conversation_id: str | None
    internet_message_id: str | None
    subject: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    body_type: str  # "html" | "text"
    body: str
    is_draft: bool
    sent_at: datetime | None
    categories: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> GraphMessage:
        def addresses(name: str) -> list[str]:
            return [str(r["emailAddress"]["address"]) for r in data.get(name) or []
                    if isinstance(r, dict) and isinstance(r.get("emailAddress"), dict)
                    and r["emailAddress"].get("address")]

        body = data.get("body") or {}
        return cls(id=str(data["id"]), conversation_id=data.get("conversationId"),
                   internet_message_id=data.get("internetMessageId"), subject=str(data.get("subject") or ""),
                   to=addresses("toRecipients"), cc=addresses("ccRecipients"), bcc=addresses("bccRecipients"),
                   body_type="html" if str(body.get("contentType", "")).lower() == "html" else "text",
                   body=str(body.get("content") or ""), is_draft=bool(data.get("isDraft")),
                   sent_at=_parse_time(data.get("sentDateTime")), categories=list(data.get("categories") or []))


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: Graph sends a number; HTTP also allows a date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def header_property_id(name: str) -> str:
    return f"String {{{INTERNET_HEADERS_SET}}} Name {name}"


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class GraphProvider:
    def __init__(self, *, token_source: Callable[[], str], graph_url: str, session: requests.Session,
                 verify: str | bool = True, timeout: float | tuple[float, float] | None = None) -> None:
        self._token = token_source
        self._base = graph_url.rstrip("/")
        self._session = session
        self._verify = verify
        self._timeout = timeout or DEFAULT_TIMEOUT

    def _call(self, method: str, path: str, what: str, *, params: dict | None = None,
              json: dict | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Prefer": PREFER_IMMUTABLE}
        try:
            response = self._session.request(method, f"{self._base}{path}", params=params, json=json,
                                             headers=headers, timeout=self._timeout, verify=self._verify)
        except requests.Timeout as exc:
            raise TransientProviderError(f"Microsoft Graph did not answer in time while trying to {what}") from exc
        except requests.RequestException as exc:
            raise TransientProviderError(f"could not reach Microsoft Graph to {what}") from exc
        if response.status_code < 400:
            return response
        if response.status_code == 401 and hasattr(self._token, "invalidate"):
            self._token.invalidate()  # the retry then goes out with a freshly refreshed token
        raise self._error(response, what)

    @staticmethod
    def _error(response: requests.Response, what: str) -> Exception:
        status = response.status_code
        try:
            detail = response.json()["error"]
            code, message = str(detail.get("code", "")), str(detail.get("message", ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message = "", response.reason or ""
        if status == 404:
            return NotFound(f"Outlook has no such message ({what})", status=404)
        if status in _TRANSIENT:
            return TransientProviderError(f"Microsoft Graph is busy ({status}) while trying to {what}", status=status,
                                          retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if status == 401:
            # Graph refused a token msal still trusts; the token source was told to refresh before the next call.
            return TransientProviderError("Microsoft Graph refused the access token; will refresh and retry",
                                          status=401)
        return PermanentProviderError(f"Outlook refused to {what}: {message or code or status}", status=status)

    def get_message(self, *, message_id: str) -> GraphMessage:
        response = self._call("GET", f"/me/messages/{message_id}", "read the message", params={"$select": _FIELDS})
        return GraphMessage.from_json(response.json())

    def update_body(self, *, message_id: str, body_type: str, content: str) -> None:
        # A PATCH replaces the body whole, so repeating it is harmless.
        self._call("PATCH", f"/me/messages/{message_id}", "update the draft",
                   json={"body": {"contentType": "html" if body_type == "html" else "text", "content": content}})

    def send(self, *, message_id: str) -> None:
        # Never retried blindly: an answer lost on the way back may mean it went out. The send service checks first.
        self._call("POST", f"/me/messages/{message_id}/send", "send the draft")

    def set_categories(self, *, message_id: str, categories: list[str]) -> None:
        self._call("PATCH", f"/me/messages/{message_id}", "set the message's categories",
                   json={"categories": list(categories)})

    def find_sent_by_header(self, *, name: str, value: str) -> GraphMessage | None:
        """The Sent Items message carrying header `name: value`, if Outlook has synced it to the server yet."""
        wanted = (f"singleValueExtendedProperties/Any(ep: ep/id eq {_odata_string(header_property_id(name))} "
                  f"and ep/value eq {_odata_string(value)})")
        response = self._call("GET", "/me/mailFolders/sentitems/messages", "look for the sent message",
                              params={"$filter": wanted, "$select": _FIELDS, "$top": "5"})
        found = [GraphMessage.from_json(item) for item in response.json().get("value") or []]
        if len(found) > 1:
            log.warning("several sent messages carry one tracking header; taking the earliest")
        found.sort(key=lambda m: m.sent_at or datetime.max.replace(tzinfo=timezone.utc))
        return found[0] if found else None
