"""Gmail's web page, as far as the extension can tell: https://mail.google.com/** routed by Playwright to local pages
(fakegmail/) whose "server" is this module, backed by the Google stand-in's mailboxes.

Gmail's own behaviour that matters to the extension is reproduced: the compose window autosaves into a real
stand-in draft (so the backend can fetch it by the id the page shows in input[name=draft]), Gmail's own Send sends
the draft untracked, the Sent list and conversations are rendered from what the stand-in actually sent, and every
image in a message is rewritten to Gmail's image proxy (https://ciN.googleusercontent.com/meips/…#<original URL>).
The proxy host is routed too, and every request that reaches it is recorded: a pixel request there means the
sender's own browser would have fetched the tracking pixel.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import html
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).parent
COMPOSE_CAPTURE = HERE / "fixtures" / "gmail-dom" / "js-min-gmail-compose-dialog.fragment.html"
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', re.IGNORECASE)


def proxied(url: str) -> str:
    """How Gmail shows an external image: through its proxy, the original URL kept after '#'."""
    opaque = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    return f"https://ci3.googleusercontent.com/meips/{opaque}=s0-d-e1-ft#{html.unescape(url)}"


def _html_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(("html", "plain"))
    if part is None:
        return ""
    content = part.get_content()
    return content if part.get_content_type() == "text/html" else f"<pre>{html.escape(content)}</pre>"


@dataclass
class FakeGmail:
    state: object  # the stand-in's GoogleState
    sender: str
    proxy_requests: list[str] = field(default_factory=list)
    native_sends: list[str] = field(default_factory=list)
    saved_drafts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, context) -> None:
        context.route("https://mail.google.com/**", self._mail)
        context.route(re.compile(r"^https://[a-z0-9.-]+\.googleusercontent\.com/"), self._proxy)
        context.route("https://ssl.gstatic.com/**", lambda route: route.fulfill(body=GIF, content_type="image/gif"))

    # -- routing ------------------------------------------------------------------------------------------

    def _mail(self, route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        path = parts.path
        try:
            if path == "/_fake/static/fake-gmail.js":
                return route.fulfill(body=(HERE / "fakegmail" / "fake-gmail.js").read_text(),
                                     content_type="text/javascript")
            if path.endswith("/cleardot.gif"):
                return route.fulfill(body=GIF, content_type="image/gif")
            if path == "/_fake/autosave":
                return self._json(route, {"draftId": self.autosave(json.loads(request.post_data))})
            if path == "/_fake/send":
                return self._json(route, {"sent": self.send(json.loads(request.post_data))})
            if path == "/_fake/list":
                label = parse_qs(parts.query).get("label", ["inbox"])[0]
                return self._json(route, {"rows": self.rows(label)})
            if path.startswith("/_fake/thread/"):
                return self._json(route, self.thread(path.rsplit("/", 1)[1]))
            if path.startswith("/mail/"):
                return self._shell(route)
            return route.fulfill(status=404, body="not found")
        except Exception as exc:  # a failing fake must fail the test loudly, not hang the page
            return route.fulfill(status=500, body=f"fake Gmail: {exc!r}")

    def _proxy(self, route) -> None:
        with self._lock:
            self.proxy_requests.append(route.request.url)
        route.fulfill(body=GIF, content_type="image/gif", headers={"Cache-Control": "no-store"})

    @staticmethod
    def _json(route, payload) -> None:
        route.fulfill(body=json.dumps(payload), content_type="application/json")

    def _shell(self, route) -> None:
        nonce = secrets.token_urlsafe(16)
        page = (HERE / "fakegmail" / "mail.html").read_text(encoding="utf-8")
        page = page.replace("__NONCE__", nonce).replace("__COMPOSE__", COMPOSE_CAPTURE.read_text(encoding="utf-8"))
        # Gmail's policy is nonce-based with 'strict-dynamic'; the extension's module loader must live with it.
        csp = f"script-src 'nonce-{nonce}' 'strict-dynamic' 'unsafe-eval'; object-src 'none'; base-uri 'self'"
        route.fulfill(body=page, content_type="text/html; charset=utf-8",
                      headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})

    # -- Gmail's "server" ---------------------------------------------------------------------------------

    def raw_message(self, fields: dict) -> bytes:
        """The RFC 5322 draft Gmail would save for these compose fields."""
        message = EmailMessage()
        message["From"] = self.sender
        to = [addr for _name, addr in email.utils.getaddresses([fields.get("to") or ""]) if addr]
        if to:
            message["To"] = ", ".join(to)
        message["Subject"] = fields.get("subject") or ""
        body_html = fields.get("html") or ""
        text = html.unescape(re.sub(r"<[^>]+>", " ", body_html))
        message.set_content(text or " ")
        message.add_alternative(f'<div dir="ltr">{body_html}</div>', subtype="html")
        return message.as_bytes(policy=email.policy.SMTP)

    def autosave(self, fields: dict) -> str:
        draft_id = self._save(fields)
        with self._lock:
            self.saved_drafts.append(draft_id)
        return draft_id

    def _save(self, fields: dict) -> str:
        raw = self.raw_message(fields)
        draft_id = fields.get("draft")
        thread_id = fields.get("thread") or None
        if draft_id:
            try:
                return self.state.save_draft(self.sender, raw, draft_id=draft_id, thread_id=thread_id)
            except Exception:  # the draft is gone on the server (sent, discarded): Gmail starts a new one
                pass
        return self.state.save_draft(self.sender, raw, thread_id=thread_id)

    def send(self, fields: dict) -> str:
        draft_id = self.autosave(fields)
        sent = self.state.send_draft(self.sender, draft_id)
        with self._lock:
            self.native_sends.append(sent.id)
        return sent.id

    def _messages(self, label: str):
        label_id = {"sent": "SENT", "inbox": "INBOX", "all": None}.get(label, "INBOX")
        return self.state.messages(self.sender, label_ids=[label_id] if label_id else [])

    def rows(self, label: str) -> list[dict]:
        rows, seen = [], set()
        for message in self._messages(label):
            if message.thread_id in seen:
                continue
            seen.add(message.thread_id)
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            rows.append({"thread_id": message.thread_id, "decimal": str(int(message.thread_id, 16)),
                         "subject": str(parsed["Subject"] or ""), "to": str(parsed["To"] or ""),
                         "date": str(parsed["Date"] or ""), "time": "12:00"})
        return rows

    def thread(self, thread_id: str) -> dict:
        messages = [m for m in self.state.messages(self.sender) if m.thread_id == thread_id]
        messages.sort(key=lambda m: m.internal_date)
        if not messages:
            return {"thread_id": thread_id, "decimal": str(int(thread_id, 16)), "subject": "", "messages": []}
        first = email.message_from_bytes(messages[0].raw, policy=email.policy.default)
        return {
            "thread_id": thread_id, "decimal": str(int(thread_id, 16)), "subject": str(first["Subject"] or ""),
            "messages": [self._message(m) for m in messages],
        }

    def _message(self, stored) -> dict:
        parsed = email.message_from_bytes(stored.raw, policy=email.policy.default)
        body = _IMG_SRC.sub(lambda m: m.group(1) + html.escape(proxied(m.group(2))) + m.group(3),
                            _html_part(stored.raw))
        return {"id": stored.id, "decimal": str(int(stored.id, 16)), "from": str(parsed["From"] or ""),
                "to": str(parsed["To"] or ""), "html": body}
