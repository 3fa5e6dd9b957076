"""Error bodies in the exact shapes Google sends, so client libraries parse them as they would Google's.

Two families exist. The Gmail REST API (and every googleapis.com JSON API) answers
``{"error": {"code", "message", "errors": [...], "status"}}``; google-api-python-client reads
``errors[0].reason`` to decide whether a 403 is retryable, so the reasons must be Google's own.
The OAuth endpoints answer RFC 6749 bodies, ``{"error": "invalid_grant", "error_description": ...}``,
which google-auth and authlib turn into their own exceptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"

# Google's front end sends these on every JSON API error; caching proxies must not keep errors.
_API_ERROR_HEADERS = {"Vary": "Origin, X-Origin, Referer", "Cache-Control": "private"}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise like Google's front end: pretty-printed JSON, UTF-8, explicit charset."""
    body = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    return Response(body.encode("utf-8"), status=status, headers=headers or {}, content_type=JSON_CONTENT_TYPE)


@dataclass
class GoogleApiError(Exception):
    """A googleapis.com JSON error; raise it anywhere in a Gmail handler."""

    code: int
    message: str
    reason: str
    status: str
    headers: dict[str, str] = field(default_factory=dict)
    error_fields: dict[str, str] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    # Google sometimes words the errors[] entry differently from the top-level message.
    errors_message: str | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.status}: {self.message}"

    def body(self) -> dict[str, Any]:
        inner: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "errors": [
                {
                    "message": self.errors_message or self.message,
                    "domain": "global",
                    "reason": self.reason,
                    **self.error_fields,
                }
            ],
            "status": self.status,
        }
        if self.details:
            inner["details"] = self.details
        return {"error": inner}

    def response(self) -> Response:
        return json_response(self.body(), self.code, {**_API_ERROR_HEADERS, **self.headers})


def invalid_argument(message: str, *, reason: str = "invalidArgument") -> GoogleApiError:
    return GoogleApiError(400, message, reason, "INVALID_ARGUMENT")


def bad_bytes_field(field_path: str, value: str) -> GoogleApiError:
    """What Google's JSON transcoder says when a ``bytes`` field is not base64 (e.g. ``message.raw``)."""
    shown = value if len(value) <= 60 else value[:60] + "..."
    message = f"Invalid value at '{field_path}' (TYPE_BYTES), Base64 decoding failed for \"{shown}\""
    error = GoogleApiError(400, message, "invalid", "INVALID_ARGUMENT")
    error.details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field_path, "description": message}],
        }
    ]
    return error


def invalid_json(detail: str) -> GoogleApiError:
    return GoogleApiError(400, f"Invalid JSON payload received. {detail}", "invalid", "INVALID_ARGUMENT")


def not_found() -> GoogleApiError:
    return GoogleApiError(404, "Requested entity was not found.", "notFound", "NOT_FOUND")


def unauthenticated(issuer: str, *, token_present: bool) -> GoogleApiError:
    """401 for a missing or a bad/expired/revoked token, with Google's ``WWW-Authenticate``.

    google-auth's transports refresh and retry on exactly this status, so an expired token
    is recovered without the caller seeing it.
    """
    realm = f'Bearer realm="{issuer.rstrip("/")}/"'
    if token_present:
        return GoogleApiError(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
            "or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "authError",
            "UNAUTHENTICATED",
            headers={"WWW-Authenticate": f'{realm}, error="invalid_token"'},
            error_fields={"location": "Authorization", "locationType": "header"},
        )
    return GoogleApiError(
        401,
        "Request is missing required authentication credential. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "required",
        "UNAUTHENTICATED",
        headers={"WWW-Authenticate": realm},
        error_fields={"location": "Authorization", "locationType": "header"},
    )


def insufficient_scope(issuer: str, accepted_scopes: list[str], method: str) -> GoogleApiError:
    error = GoogleApiError(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        "PERMISSION_DENIED",
        headers={
            "WWW-Authenticate": f'Bearer realm="{issuer.rstrip("/")}/", error="insufficient_scope", '
            f'scope="{" ".join(accepted_scopes)}"'
        },
    )
    error.errors_message = "Insufficient Permission"
    error.details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": {"service": "gmail.googleapis.com", "method": f"caribou.api.proto.MailboxService.{method}"},
        }
    ]
    return error


def forbidden(message: str) -> GoogleApiError:
    return GoogleApiError(403, message, "forbidden", "PERMISSION_DENIED")


def rate_limited(retry_after: int | None) -> GoogleApiError:
    # rateLimitExceeded (not userRateLimitExceeded) is what Gmail sends for per-user concurrency;
    # both are retried by google-api-python-client, but 429 is retried whatever the reason.
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return GoogleApiError(
        429, "Too many concurrent requests for user.", "rateLimitExceeded", "RESOURCE_EXHAUSTED", headers=headers
    )


def backend_error(code: int) -> GoogleApiError:
    if code == 503:
        return GoogleApiError(503, "The service is currently unavailable.", "backendError", "UNAVAILABLE")
    return GoogleApiError(code, "Internal error encountered.", "backendError", "INTERNAL")


def api_not_found_page() -> Response:
    """Google answers unknown paths with a small HTML page, not JSON."""
    html = (
        "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 404 (Not Found)!!1</title>"
        "<p><b>404.</b> <ins>That\u2019s an error.</ins><p>The requested URL was not found on this server."
        " <ins>That\u2019s all we know.</ins></html>\n"
    )
    return Response(html, status=404, content_type="text/html; charset=UTF-8")


@dataclass
class OAuthError(Exception):
    """An RFC 6749 error from the token, revoke or userinfo endpoint."""

    error: str
    description: str
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"

    def response(self) -> Response:
        headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
        return json_response(
            {"error": self.error, "error_description": self.description}, self.status, {**headers, **self.headers}
        )


def oauth_fault(code: int, retry_after: int | None) -> OAuthError:
    """An injected failure on an OAuth endpoint, in the words google-auth treats as retryable."""
    if code == 429:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return OAuthError("rate_limit_exceeded", "Rate limit exceeded.", 429, headers)
    if code == 503:
        return OAuthError("temporarily_unavailable", "The service is currently unavailable.", 503)
    return OAuthError("internal_failure", "Internal error encountered.", code)
