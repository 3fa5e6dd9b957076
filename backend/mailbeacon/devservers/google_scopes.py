"""OAuth scopes: which exist, what the consent page says about them, which each Gmail method accepts.

The Gmail scopes and each method's accepted scopes come from the discovery document bundled with
google-api-python-client, the same file the client builds its methods from, so the stand-in and the
client cannot disagree about them.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from googleapiclient.discovery_cache import get_static_doc

USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
FULL_MAIL = "https://mail.google.com/"
GMAIL_METADATA = "https://www.googleapis.com/auth/gmail.metadata"

# Google grants "email" and "profile" under their long names and reports those in the token response.
_ALIASES = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}
_IDENTITY_SCOPES = {
    "openid": "Associate you with your personal info on Google",
    USERINFO_EMAIL: "See your primary Google Account email address",
    USERINFO_PROFILE: "See your personal info, including any personal info you've made publicly available",
}


@cache
def _gmail_document() -> dict[str, Any]:
    document = get_static_doc("gmail", "v1")
    if document is None:  # pragma: no cover - the document ships with the client library
        raise RuntimeError("google-api-python-client lacks its bundled gmail.v1 discovery document")
    return json.loads(document)


@cache
def _gmail_scope_descriptions() -> dict[str, str]:
    scopes = _gmail_document()["auth"]["oauth2"]["scopes"]
    return {scope: details["description"] for scope, details in scopes.items()}


def normalise(requested: str) -> tuple[frozenset[str], list[str]]:
    """Split a space-separated ``scope`` into (known scopes under Google's names, unknown ones)."""
    known: set[str] = set()
    unknown: list[str] = []
    for scope in requested.split():
        scope = _ALIASES.get(scope, scope)
        if scope in _IDENTITY_SCOPES or scope in _gmail_scope_descriptions():
            known.add(scope)
        else:
            unknown.append(scope)
    return frozenset(known), unknown


def describe(scope: str) -> str:
    return _IDENTITY_SCOPES.get(scope) or _gmail_scope_descriptions().get(scope, scope)


def as_string(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))


def supported_scopes() -> list[str]:
    return ["openid", "email", "profile", *sorted(_gmail_scope_descriptions())]


@cache
def method_scopes(operation: str) -> tuple[str, ...]:
    """The scopes the discovery document lists for a Gmail method id such as ``users.drafts.get``."""
    node: dict[str, Any] = _gmail_document()
    *resources, method = operation.split(".")
    for resource in resources:
        node = node["resources"][resource]
    return tuple(node["methods"][method].get("scopes", ()))
