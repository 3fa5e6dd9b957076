"""Where a sign-in may hand its one-time code back: our own clients' redirect URIs, and nothing else.

The redirect URI arrives in the request that starts a sign-in, so it is attacker-controlled: an allow-list that
matched loosely would make /auth/*/start an open redirect that also leaks a sign-in code. Two clients exist:
- the Chrome extension: https://<extension id>.chromiumapp.org/<any path> (chrome.identity's fixed shape),
  for an extension id listed in MAILBEACON_EXTENSION_IDS;
- the Outlook add-in: its sign-in dialog's landing page on our own origin, exactly <public URL>/addin/signed-in.html.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from ..runtime import Runtime

EXTENSION = "extension"
ADDIN = "addin"
ALL_CLIENTS = (EXTENSION, ADDIN)
# The page the add-in's dialog lands on; it passes the code to the task pane with Office's messageParent.
ADDIN_SIGNED_IN_PATH = "/addin/signed-in.html"


def addin_redirect_uri(rt: Runtime) -> str:
    return f"{rt.config.public_url}{ADDIN_SIGNED_IN_PATH}"


def allowed_client_redirect(rt: Runtime, redirect_uri: str, *, clients: Iterable[str] = ALL_CLIENTS) -> str | None:
    """The client name if `redirect_uri` is one of `clients`' hand-off URLs; None otherwise (no open redirect)."""
    if not isinstance(redirect_uri, str) or len(redirect_uri) > 2048:
        return None
    wanted = set(clients)
    if ADDIN in wanted and redirect_uri == addin_redirect_uri(rt):
        # Exact equality with a URL built from our own configuration: nothing in the request can widen it.
        return ADDIN
    if EXTENSION in wanted and _is_extension_redirect(rt, redirect_uri):
        return EXTENSION
    return None


def _is_extension_redirect(rt: Runtime, redirect_uri: str) -> bool:
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username or parts.password or port or parts.query or parts.fragment:
        return False
    host = (parts.hostname or "").lower()
    return any(host == f"{ext_id}.chromiumapp.org" for ext_id in rt.config.extension_ids)


def hand_back_url(redirect_uri: str, client_state: str, **params: str) -> str:
    """The client's (already allowed) redirect URI with our parameters and its own state echoed back."""
    if client_state:
        params["state"] = client_state
    return f"{redirect_uri}?{urlencode(params)}"
