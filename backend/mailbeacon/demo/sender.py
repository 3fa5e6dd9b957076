"""The demo senders' clients, over real HTTP to the backend: what the Chrome extension does for Alex (Gmail) and
what the Outlook add-in does for Jordan (Outlook on the web).

Each signs in through its client's real flow, with PKCE as the client does: the backend's /auth/<provider>/start,
the stand-in's approval (auto-approve), the backend's /auth/<provider>/callback, then the code exchange at
/auth/token. Alex then sends Gmail drafts with POST /api/v1/messages, Jordan saved Outlook items with
POST /api/v1/outlook/messages.

On one machine the senders and the recipient would share an address, and mailbeacon would rightly call the
recipient's opens the sender's own (the backend remembers the addresses its API was used from). So the senders'
requests leave from a second loopback address, 127.0.0.2, standing for the senders' computers, while the browser
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
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 10.0
_TAG = re.compile(r"<[^>]*>")
# What an error page holds besides its words: its title (repeated in its heading) and its style sheet.
_NOT_TEXT = re.compile(r"<(title|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
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
    """HTTP client of the backend on behalf of one demo sender; a subclass is one client's sign-in and send.

    The sign-in is the same hand-off for both clients (start at the backend with a PKCE challenge, the provider
    approves, the backend's callback hands a one-time code to the client's redirect URI, the code and the verifier
    buy an API token at /auth/token); only the provider's leg in the middle differs, in ``_through_provider``.
    """

    provider = ""  # the backend's /auth/<provider>/start
    provider_label = ""  # for messages: "Google", "Microsoft"
    send_path = ""  # the backend's endpoint for this client's sends

    def __init__(self, backend_url: str, *, source_address: str | None, redirect_uri: str) -> None:
        self.backend_url = backend_url.rstrip("/")
        self.source_address = source_address
        self.redirect_uri = redirect_uri
        self.http = requests.Session()
        self.http.trust_env = False  # never a proxy or a CA bundle from the environment: everything here is local
        if source_address:
            adapter = _SourceAddressAdapter(source_address)
            self.http.mount("http://", adapter)
            self.http.mount("https://", adapter)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def sign_in(self, *, login_hint: str) -> SignedIn:
        """The client's hand-off, step by step; any refusal stops the demo with the step that failed."""
        try:
            return self._sign_in(login_hint)
        except requests.RequestException as exc:
            # The class only: the exception's text holds URLs whose query strings carry the sign-in code.
            raise DemoError(f"sign-in failed: {exc.__class__.__name__}") from None

    def _sign_in(self, login_hint: str) -> SignedIn:
        verifier, challenge = _pkce_pair()
        state = secrets.token_urlsafe(16)
        start = self.http.get(f"{self.backend_url}/auth/{self.provider}/start", allow_redirects=False,
                              timeout=TIMEOUT, params={
                                  "redirect_uri": self.redirect_uri, "state": state, "code_challenge": challenge,
                                  "code_challenge_method": "S256", "login_hint": login_hint})
        authorize_url = _location(start, f"the backend did not start the {self.provider_label} sign-in")
        handed = self._through_provider(authorize_url)
        hand_off = urlsplit(_location(handed, f"the backend did not finish the {self.provider_label} sign-in"))
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

    def _through_provider(self, authorize_url: str) -> requests.Response:
        """The provider's leg: from its authorize URL to the backend's answer at the callback (the hand-off)."""
        raise NotImplementedError

    def _to_backend_callback(self, url: str) -> str:
        if not url.startswith(self.backend_url + "/"):
            raise DemoError(f"the {self.provider_label} stand-in sent the sign-in somewhere other than the "
                            "backend's callback")
        return url

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            raise DemoError("the demo sender is not signed in")
        return {"Authorization": f"Bearer {self._token}"}

    def _send(self, body: dict) -> dict:
        """POST the client's send request: the backend answers 202 at once and sends in a job."""
        try:
            response = self._request("POST", self.send_path, json=body)
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


class GmailSender(SenderClient):
    """What the Chrome extension does for its user: chrome.identity's hand-off, then POST /api/v1/messages."""

    provider, provider_label, send_path = "google", "Google", "/api/v1/messages"

    def __init__(self, backend_url: str, *, source_address: str | None, extension_id: str) -> None:
        super().__init__(backend_url, source_address=source_address,
                         redirect_uri=f"https://{extension_id}.chromiumapp.org/signed-in")

    def _through_provider(self, authorize_url: str) -> requests.Response:
        # The stand-in's consent screen approves at once (auto-approve), as a person clicking Allow would, and
        # redirects to the backend's callback with the code in the query.
        consent = self.http.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
        callback = self._to_backend_callback(_location(consent, "the Google stand-in did not approve the sign-in"))
        return self.http.get(callback, allow_redirects=False, timeout=TIMEOUT)

    def send_draft(self, *, draft_id: str, seen: dict, track_opens: bool, track_clicks: bool,
                   idempotency_key: str) -> dict:
        """Send the Gmail draft (its draft id, as the compose window shows it) tracked."""
        return self._send({"draft_id": draft_id, "track_opens": track_opens, "track_clicks": track_clicks,
                           "seen": seen, "idempotency_key": idempotency_key})


class OutlookSender(SenderClient):
    """What the Outlook add-in's sign-in dialog does, then its Graph-path send (POST /api/v1/outlook/messages).

    The dialog's landing page is the backend's own /addin/signed-in.html, which hands the code to the task pane;
    here the code is read from the redirect to it, as the Gmail client reads it from the chromiumapp.org one.
    Microsoft answers the authorize request with a page that form-posts the code to the backend's callback
    (response_mode=form_post), so that post is made here with the page's fields, as a browser would make it.
    """

    provider, provider_label, send_path = "microsoft", "Microsoft", "/api/v1/outlook/messages"

    def __init__(self, backend_url: str, *, source_address: str | None, ca_bundle: str | bool) -> None:
        super().__init__(backend_url, source_address=source_address,
                         redirect_uri=f"{backend_url.rstrip('/')}/addin/signed-in.html")
        # Given per request although trust_env is off: a per-request verify is one REQUESTS_CA_BUNDLE never overrides.
        self.ca_bundle = ca_bundle

    def _through_provider(self, authorize_url: str) -> requests.Response:
        authorize = self.http.get(authorize_url, allow_redirects=False, timeout=TIMEOUT, verify=self.ca_bundle)
        form = _FormPost.read(authorize.text) if authorize.status_code == 200 else None
        if form is None:
            raise DemoError("the Microsoft stand-in did not approve the sign-in "
                            f"(HTTP {authorize.status_code}: {_error_text(authorize)})")
        action, fields = form
        return self.http.post(self._to_backend_callback(action), data=fields, allow_redirects=False,
                              timeout=TIMEOUT)

    def send_item(self, *, item_id: str, seen: dict, track_opens: bool, track_clicks: bool,
                  idempotency_key: str) -> dict:
        """Send the saved Outlook item (its REST id, as convertToRestId gives it) tracked through Graph."""
        return self._send({"item_id": item_id, "track_opens": track_opens, "track_clicks": track_clicks,
                           "seen": seen, "idempotency_key": idempotency_key})


class _FormPost(HTMLParser):
    """The form of a response_mode=form_post page: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    @classmethod
    def read(cls, page: str) -> tuple[str, dict[str, str]] | None:
        parser = cls()
        parser.feed(page)
        return (parser.action, parser.fields) if parser.action else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and values.get("id") == "form_post":
            self.action = values.get("action")
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


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
        text = " ".join(html.unescape(_TAG.sub(" ", _NOT_TEXT.sub("", response.text or ""))).split())
        return text[:200] or str(response.reason)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or response.reason)
    return str(error or response.reason)
