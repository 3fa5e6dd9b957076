"""The demo sender's client: what the Chrome extension does for Alex, over real HTTP to the backend.

It signs in through the real flow (the backend's /auth/google/start, the stand-in's consent screen with
auto-approve, /auth/google/callback, then the code exchange at /auth/token, with PKCE as the extension does)
and then sends drafts with POST /api/v1/messages.

On one machine the sender and the recipient would share an address, and mailbeacon would rightly call the
recipient's opens the sender's own (the backend remembers the addresses its API was used from). So the sender's
requests leave from a second loopback address, 127.0.0.2, standing for the sender's computer, while the browser
showing the recipient's view uses 127.0.0.1. Where that address cannot be used (macOS has only 127.0.0.1), the
client uses the ordinary one and the page says what that means for the verdicts.
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 10.0
_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title>.*?</title>", re.IGNORECASE | re.DOTALL)
SENDER_LOOPBACK_CANDIDATES = ("127.0.0.2", "127.0.0.3")


class DemoError(RuntimeError):
    """A step of the demo's setup or a send failed; the message says which and why."""


def pick_sender_address(server_address: str) -> str | None:
    """A loopback address other than the one the browser will use, if this machine routes one."""
    try:
        ip = ipaddress.ip_address(server_address)
    except ValueError:
        return None
    if ip.version != 4 or not ip.is_loopback:
        return None  # a LAN address: a browser on another machine has its own address anyway
    for candidate in SENDER_LOOPBACK_CANDIDATES:
        if candidate == server_address:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((candidate, 0))
            return candidate
        except OSError:
            continue
    return None


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_address: str) -> None:
        self._source = (source_address, 0)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = self._source
        return super().init_poolmanager(*args, **kwargs)


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SignedIn:
    token: str
    email: str
    name: str | None


class SenderClient:
    """HTTP client of the backend on behalf of the demo's signed-in sender."""

    def __init__(self, backend_url: str, *, source_address: str | None, extension_id: str) -> None:
        self.backend_url = backend_url.rstrip("/")
        self.source_address = source_address
        self.redirect_uri = f"https://{extension_id}.chromiumapp.org/signed-in"
        self.http = requests.Session()
        self.http.trust_env = False  # never a proxy from the environment: everything here is loopback
        if source_address:
            adapter = _SourceAddressAdapter(source_address)
            self.http.mount("http://", adapter)
            self.http.mount("https://", adapter)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def sign_in(self, *, login_hint: str) -> SignedIn:
        """The extension's hand-off, step by step; any refusal stops the demo with the step that failed."""
        try:
            return self._sign_in(login_hint)
        except requests.RequestException as exc:
            # The class only: the exception's text holds URLs whose query strings carry the sign-in code.
            raise DemoError(f"sign-in failed: {exc.__class__.__name__}") from None

    def _sign_in(self, login_hint: str) -> SignedIn:
        verifier, challenge = _pkce_pair()
        state = secrets.token_urlsafe(16)
        start = self.http.get(f"{self.backend_url}/auth/google/start", allow_redirects=False, timeout=TIMEOUT,
                              params={"redirect_uri": self.redirect_uri, "state": state, "code_challenge": challenge,
                                      "code_challenge_method": "S256", "login_hint": login_hint})
        google_url = _location(start, "the backend did not start the Google sign-in")
        # The stand-in's consent screen approves at once (auto-approve), as a person clicking Allow would.
        consent = self.http.get(google_url, allow_redirects=False, timeout=TIMEOUT)
        callback = _location(consent, "the Google stand-in did not approve the sign-in")
        if not callback.startswith(self.backend_url + "/"):
            raise DemoError("the Google stand-in redirected somewhere other than the backend's callback")
        handed = self.http.get(callback, allow_redirects=False, timeout=TIMEOUT)
        hand_off = urlsplit(_location(handed, "the backend did not finish the Google sign-in"))
        query = parse_qs(hand_off.query)
        if query.get("state") != [state] or "code" not in query:
            why = (query.get("error_description") or query.get("error") or ["no code came back"])[0]
            raise DemoError(f"sign-in was refused: {why}")
        exchanged = self.http.post(f"{self.backend_url}/auth/token", timeout=TIMEOUT, json={
            "code": query["code"][0], "code_verifier": verifier, "redirect_uri": self.redirect_uri,
            "name": "mailbeacon demo"})
        if exchanged.status_code != 200:
            raise DemoError(f"the code exchange failed: {_error_text(exchanged)}")
        body = exchanged.json()
        self._token = body["access_token"]
        return SignedIn(body["access_token"], body["user"]["email"], body["user"].get("name"))

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            raise DemoError("the demo sender is not signed in")
        return {"Authorization": f"Bearer {self._token}"}

    def send_draft(self, *, draft_id: str, seen: dict, track_opens: bool, track_clicks: bool,
                   idempotency_key: str) -> dict:
        """POST /api/v1/messages: the backend answers 202 at once and sends in a job."""
        try:
            response = self._request("POST", "/api/v1/messages", json={
                "draft_id": draft_id, "track_opens": track_opens, "track_clicks": track_clicks, "seen": seen,
                "idempotency_key": idempotency_key})
        except requests.RequestException as exc:
            raise DemoError(f"the backend did not answer the send: {exc.__class__.__name__}") from None
        if response.status_code != 202:
            raise DemoError(f"the backend refused the send: {_error_text(response)}")
        return response.json()

    def get_json(self, path: str, *, params: dict | None = None) -> dict:
        """GET one of the sender's API resources (the list, a message's detail, the notifications)."""
        try:
            response = self._request("GET", path, params=params)
        except requests.RequestException as exc:
            raise DemoError(f"the backend did not answer {path}: {exc.__class__.__name__}") from None
        if response.status_code != 200:
            raise DemoError(f"the backend refused {path}: {_error_text(response)}")
        return response.json()

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        # The demo page's threads share this client; a Session is not meant for concurrent use.
        with self._lock:
            return self.http.request(method, f"{self.backend_url}{path}", headers=self._auth(), timeout=TIMEOUT,
                                     **kwargs)


def _location(response: requests.Response, what: str) -> str:
    location = response.headers.get("Location")
    if response.status_code not in (301, 302, 303, 307) or not location:
        raise DemoError(f"{what} (HTTP {response.status_code}: {_error_text(response)})")
    return location


def _error_text(response: requests.Response) -> str:
    """The reason a response gives: our JSON error's message, or the text of an HTML error page."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(html.unescape(_TAG.sub(" ", _TITLE.sub("", response.text or ""))).split())
        return text[:200] or str(response.reason)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or response.reason)
    return str(error or response.reason)
