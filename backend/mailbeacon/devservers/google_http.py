"""Request plumbing shared by the stand-in's handlers: the call context, bearer tokens, templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2
from werkzeug.wrappers import Request, Response

from .google_errors import invalid_json
from .google_state import GoogleState

TEMPLATES = Path(__file__).parent / "templates" / "google"


@dataclass
class MessageInput:
    """A request's message: JSON metadata plus, for media uploads, the RFC 822 bytes."""

    metadata: dict[str, Any]
    media: bytes | None = None


@dataclass
class CallContext:
    state: GoogleState
    request: Request
    operation: str
    # Filled in when a resumable upload completes; otherwise the message is read from the request.
    upload: MessageInput | None = None

    @property
    def issuer(self) -> str:
        return issuer_for(self.state, self.request)


def issuer_for(state: GoogleState, request: Request) -> str:
    """The configured base URL, or the one the request came in on (in-process WSGI use)."""
    return (state.base_url or request.host_url).rstrip("/")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    # Google still honours the legacy query parameters.
    return request.args.get("access_token") or request.args.get("oauth_token") or None


def json_body(request: Request) -> dict[str, Any]:
    """The JSON request body, or {} when there is none; Google's 400 for anything else."""
    data = request.get_data()
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid_json(f"Unexpected token. {error}") from None
    if not isinstance(value, dict):
        raise invalid_json("Root element must be a message.")
    return value


def with_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a URL, keeping the query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def redirect(location: str) -> Response:
    # Built by hand so werkzeug does not rewrite the client's redirect URI.
    return Response(b"", status=302, headers={"Location": location, "Cache-Control": "no-store"})


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


# The consent page must not be framed (clickjacking) and runs no script. form-action must allow the
# client's redirect URI, because browsers apply it to the redirect that follows the form post.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' http: https:; "
    "frame-ancestors 'none'"
)


def render(template: str, status: int = 200, *, policy: str = PAGE_POLICY, **context: Any) -> Response:
    html = _templates().get_template(template).render(**context)
    return Response(
        html,
        status=status,
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": policy},
    )
