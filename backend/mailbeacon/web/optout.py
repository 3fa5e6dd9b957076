"""GET /u/<token>: the recipient's opt-out page; one POST confirms it. No login, no cookie.

A GET never changes anything (link scanners fetch every URL in a message), only the form's POST does.
"""

from __future__ import annotations

import html
import logging

from ..runtime import Runtime
from ..services.optout import message_for_optout, opt_out
from ..tracking import tokens

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}}
button{{font:inherit;padding:.5rem 1rem;border-radius:.4rem;border:1px solid #444;background:#fff;cursor:pointer}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""

_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
            ("X-Frame-Options", "DENY")]


def _page(start_response, status: str, title: str, body: str):
    data = _PAGE.format(title=html.escape(title), body=body).encode("utf-8")
    start_response(status, _HEADERS + [("Content-Length", str(len(data)))])
    return [data]


class OptOutPage:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def __call__(self, environ, start_response, token: str):
        claims = tokens.verify(token, keyring=self.rt.keyring, purpose="optout")
        method = environ.get("REQUEST_METHOD", "GET")
        if claims is None:
            return _page(start_response, "404 Not Found", "Link not valid",
                         "<p>This opt-out link is not valid. It may have been cut short.</p>")
        try:
            if method == "POST":
                opt_out(self.rt, claims.message_id)
                return _page(start_response, "200 OK", "You are opted out",
                             "<p>Opens and clicks of this message are no longer recorded, and mail sent to you "
                             "through this service will not be tracked.</p>")
            if method not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Length", "0")])
                return [b""]
            message = message_for_optout(self.rt, claims.message_id)
        except Exception:
            log.exception("opt-out failed")
            return _page(start_response, "503 Service Unavailable", "Please try again",
                         "<p>We could not record that just now. Please try again in a minute.</p>")
        if message is None:
            return _page(start_response, "404 Not Found", "Message not found",
                         "<p>This message is no longer on record, so nothing about it is tracked.</p>")
        done = message.opted_out_at is not None
        body = ("<p>You have already opted out.</p>" if done else
                "<p>The sender of this message uses open and click tracking. If you confirm, your opens and clicks "
                "are no longer recorded and future mail to you from this service is sent without tracking.</p>"
                "<form method=post><button type=submit>Stop tracking me</button></form>")
        return _page(start_response, "200 OK", "Tracking opt-out", body)
