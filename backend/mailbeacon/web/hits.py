"""The hit endpoints: GET /o/<token> (pixel), GET /c/<token> (click redirect), /u/<token> (recipient opt-out).

A bare WSGI application in front of Flask, because this is the hottest and most exposed path: it answers at once
whatever is down, it writes nothing to the database itself (the hit is handed to the pipeline), and it builds the
Location header by hand — Werkzeug would run it through iri_to_uri and change the URL the sender wrote.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from typing import Callable, Iterable, Protocol

from ..tracking import tokens
from ..tracking.tokens import Keyring
from .clientip import client_ip
from .metrics import HIT_METRICS, RequestMetrics

log = logging.getLogger(__name__)

# 1x1 transparent GIF, 43 bytes.
PIXEL_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
             b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
# Gmail's image proxy caches anything cacheable, and every later open would be invisible.
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"
PIXEL_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(PIXEL_GIF))),
    ("Cache-Control", NO_STORE),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("X-Content-Type-Options", "nosniff"),
]
NOT_FOUND_PAGE = (b"<!doctype html><meta charset=utf-8><title>Link not found</title>"
                  b"<p>This link is not valid. It may have been mistyped or cut short.</p>")
NOT_FOUND_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(NOT_FOUND_PAGE))),
                     ("Cache-Control", NO_STORE), ("X-Content-Type-Options", "nosniff"),
                     ("Content-Security-Policy", "default-src 'none'")]
HONEYPOT_HEADERS = [("Cache-Control", NO_STORE), ("Content-Length", "0")]

# (status line, headers, body, hit or None): what a hit endpoint answers, however it is sent.
Answer = tuple[str, list, bytes, "dict | None"]
METHOD_NOT_ALLOWED: Answer = ("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")], b"", None)
_UNAVAILABLE_BODY = b"Temporarily unavailable; please try again in a moment."
UNAVAILABLE: Answer = ("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "5"),
                                                   ("Cache-Control", NO_STORE),
                                                   ("Content-Length", str(len(_UNAVAILABLE_BODY)))],
                       _UNAVAILABLE_BODY, None)

IP_CACHE_MAX = 4096

StartResponse = Callable[[str, list], object]


class HitSink(Protocol):
    def submit(self, hit: dict) -> None:
        """Hand a hit to the pipeline. Must not block for long and must not raise."""


class DestinationLookup(Protocol):
    def destination(self, message_id: int, link_index: int) -> str | None:
        """The registered URL, or None if there is none. May raise when every store is down."""


class NullSink:
    def submit(self, hit: dict) -> None:
        return None


def location_header_value(url: str) -> str:
    """The destination as the sender wrote it, except what an HTTP header cannot carry.

    Only bytes outside visible ASCII (non-ASCII, controls, space, DEL) are percent-encoded, as UTF-8. Existing
    %-escapes, brackets, braces, case and everything else are left alone, unlike iri_to_uri.
    """
    if all(0x21 <= ord(ch) <= 0x7E for ch in url):
        return url
    out = []
    for ch in url:
        if 0x21 <= ord(ch) <= 0x7E:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


class HitApp:
    """WSGI app for the hit paths; everything else goes to `fallback` (the Flask app)."""

    def __init__(self, *, keyring: Keyring, lookup: DestinationLookup, sink: HitSink, trusted_proxies: int,
                 fallback: Callable, optout: Callable | None = None, metrics: RequestMetrics = HIT_METRICS) -> None:
        self.keyring = keyring
        self.lookup = lookup
        self.sink = sink
        self.trusted_proxies = trusted_proxies
        self.fallback = fallback
        self.optout = optout
        self.metrics = metrics
        # Parsed client addresses by (peer, X-Forwarded-For): the same proxies and networks come back all day,
        # and parsing one with ipaddress costs more than the rest of the pixel's own work.
        self._ip_cache: dict[tuple[str, str], str | None] = {}

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if len(path) > 3 and path[0] == "/" and path[2] == "/":
            kind = path[1]
            if kind == "o":
                started = time.perf_counter()
                try:
                    return self.pixel(environ, start_response, path[3:])
                finally:
                    self._observe("open", started)
            if kind == "c":
                started = time.perf_counter()
                try:
                    return self.click(environ, start_response, path[3:])
                finally:
                    self._observe("click", started)
            if kind == "u" and self.optout is not None:
                return self.optout(environ, start_response, path[3:])
        return self.fallback(environ, start_response)

    def _observe(self, endpoint: str, started: float) -> None:
        self.metrics.observe(endpoint, time.perf_counter() - started)

    def _client_ip(self, environ: dict) -> str | None:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "") if self.trusted_proxies else ""
        key = (environ.get("REMOTE_ADDR") or "", forwarded)
        try:
            return self._ip_cache[key]
        except KeyError:
            pass
        ip = client_ip(environ, self.trusted_proxies)
        if len(self._ip_cache) >= IP_CACHE_MAX:
            self._ip_cache.clear()  # crude but bounded; a lost entry only costs one parse
        self._ip_cache[key] = ip
        return ip

    def _hit(self, environ: dict, hit_type: str, claims: tokens.TokenClaims) -> dict:
        return {
            # Made here, once: a batch replayed after a crash or a Redis outage is stored once per hit.
            "uid": secrets.token_hex(16),
            "at": time.time(),
            "type": hit_type,
            "message_id": claims.message_id,
            "link": claims.link_index,
            "method": environ.get("REQUEST_METHOD", "GET"),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
            "ip": self._client_ip(environ),
            "headers": _interesting_headers(environ),
        }

    # The answers are worked out apart from how they are sent, so that the WSGI path here and the asyncio front
    # (web/asgi.py) give byte-identical responses: (status line, headers, body, the hit to record or None).

    def pixel_answer(self, environ: dict, token: str) -> Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return METHOD_NOT_ALLOWED
        claims = tokens.verify(token, keyring=self.keyring, purpose="open")
        hit = None
        if claims is not None:
            hit = self._hit(environ, "open", claims)
            self.metrics.count("open", "recorded")
        else:
            self.metrics.count("open", "bad_token")
        return "200 OK", PIXEL_HEADERS, b"" if method == "HEAD" else PIXEL_GIF, hit

    def click_claims(self, environ: dict, token: str) -> tokens.TokenClaims | None:
        """The claims of a genuine click token on a GET or HEAD, else None (answered by click_answer)."""
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return None
        claims = tokens.verify(token, keyring=self.keyring, purpose="click")
        return claims if claims is not None and claims.link_index is not None else None

    def click_answer(self, environ: dict, claims: tokens.TokenClaims | None, destination: str | None) -> Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return METHOD_NOT_ALLOWED
        if claims is None or destination is None:
            self.metrics.count("click", "not_found")
            return "404 Not Found", NOT_FOUND_HEADERS, b"" if method == "HEAD" else NOT_FOUND_PAGE, None
        hit = self._hit(environ, "click", claims)
        if destination == "":
            # The hidden honeypot link has no destination: whatever follows it is a machine. Record the trap being
            # sprung and answer with nothing to follow.
            self.metrics.count("click", "honeypot")
            return "204 No Content", HONEYPOT_HEADERS, b"", hit
        self.metrics.count("click", "redirected")
        body = (b'<!doctype html><meta charset=utf-8><title>Redirecting</title><a href="'
                + html.escape(destination).encode("utf-8") + b'">Continue</a>')
        # 302, never 301: a cached permanent redirect would skip the tracker on every later click.
        headers = [
            ("Location", location_header_value(destination)),
            ("Cache-Control", NO_STORE),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        return "302 Found", headers, b"" if method == "HEAD" else body, hit

    def pixel(self, environ: dict, start_response: StartResponse, token: str) -> Iterable[bytes]:
        return self._send(start_response, self.pixel_answer(environ, token))

    def click(self, environ: dict, start_response: StartResponse, token: str) -> Iterable[bytes]:
        claims = self.click_claims(environ, token)
        destination = None
        if claims is not None:
            try:
                destination = self.lookup.destination(claims.message_id, claims.link_index)
            except Exception:  # every store down: say so rather than guess a destination
                log.exception("click destination lookup failed")
                return self._send(start_response, UNAVAILABLE)
        return self._send(start_response, self.click_answer(environ, claims, destination))

    def _send(self, start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
        status, headers, body, hit = answer
        if hit is not None:
            self._submit(hit)  # before the answer: a hit is handed on before its request is answered
        start_response(status, list(headers))  # a copy: servers may add to the list they are given
        return [body]

    def _submit(self, hit: dict) -> None:
        try:
            self.sink.submit(hit)
        except Exception:  # the answer goes out whatever the pipeline does
            log.exception("hit sink failed")


_HEADERS_KEPT = ("HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE", "HTTP_FROM", "HTTP_VIA", "HTTP_PURPOSE", "HTTP_SEC_PURPOSE",
                 "HTTP_X_MOZ", "HTTP_SEC_FETCH_DEST", "HTTP_SEC_FETCH_MODE", "HTTP_SEC_FETCH_SITE",
                 "HTTP_SEC_CH_UA", "HTTP_SEC_CH_UA_MOBILE", "HTTP_SEC_CH_UA_PLATFORM", "HTTP_X_MAILBEACON_SELF",
                 "HTTP_REFERER")


# (WSGI key, the name the classifier knows it by), worked out once rather than on every hit.
_HEADER_NAMES = tuple((key, key[5:].replace("_", "-").lower()) for key in _HEADERS_KEPT)


def _interesting_headers(environ: dict) -> dict:
    """The headers the classifier reads. Cookies are left out except our own self-marker."""
    out = {}
    for key, name in _HEADER_NAMES:
        value = environ.get(key)
        if value:
            out[name] = value[:512]
    # Our own sender marker (a signed value set on the tracking domain for the sender's browser); the worker verifies it.
    cookies = environ.get("HTTP_COOKIE")
    if cookies and tokens.SENDER_COOKIE in cookies:
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == tokens.SENDER_COOKIE and value:
                out["mb-sender-cookie"] = value[:200]
    return out
