"""Steps the browser tests share: composing in the fake Gmail, reading what was sent, opening as the recipient."""

from __future__ import annotations

import email
import email.policy

import requests
from sqlalchemy import select

from mailbeacon.storage.models import TrackedMessage

from .conftest import RECIPIENT

GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
RECIPIENT_ADDRESS = "198.51.100.20"  # TEST-NET-2, arriving through the one trusted proxy hop


def open_compose(page, *, decorated: bool = True):
    """Gmail's Compose button; waits for the extension's toggles unless told the window stays undecorated."""
    page.click("#fake-compose")
    number = page.locator("[data-fake-compose]").last.get_attribute("data-fake-compose")
    compose = page.locator(f'[data-fake-compose="{number}"]')  # pinned: `.last` would follow the next window
    compose.locator('div.Am[contenteditable="true"]').wait_for()
    if decorated:
        compose.locator(".mb-toggles").wait_for()
    return compose


def fill_compose(compose, *, subject: str, html: str = "Hi Sam, a quick note.", to: str = f"Sam <{RECIPIENT}>"):
    compose.locator('textarea[name="to"]').fill(to)
    compose.locator('input[name="subjectbox"]').fill(subject)
    body = compose.locator('div.Am[contenteditable="true"]')
    body.click()
    body.evaluate("(el, html) => { el.innerHTML = html; el.dispatchEvent(new Event('input', {bubbles: true})); }",
                  html)


def sent_html(raw: bytes) -> str:
    part = email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",))
    return part.get_content() if part is not None else ""


def sent_with_subject(google, subject: str):
    return [m for m in google.state.sent_messages()
            if email.message_from_bytes(m.raw, policy=email.policy.default)["Subject"] == subject]


def tracked_messages(rt, subject: str) -> list[TrackedMessage]:
    with rt.db.session() as session:
        return list(session.scalars(select(TrackedMessage).where(TrackedMessage.subject == subject)))


def pixel_url(base: str, html: str) -> str:
    return f"{base}/o/" + html.split(f"{base}/o/", 1)[1].split('"', 1)[0]


def open_as_recipient(base: str, html: str) -> None:
    """The recipient's Gmail loads the pixel through its image proxy, from the recipient's own address."""
    response = requests.get(pixel_url(base, html), timeout=10,
                            headers={"User-Agent": GMAIL_PROXY_UA, "X-Forwarded-For": RECIPIENT_ADDRESS})
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/gif"


def api(signed_in, method: str, path: str, **kwargs):
    response = requests.request(method, signed_in["base"] + path, timeout=10,
                                headers={"Authorization": f"Bearer {signed_in['token']}"}, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None
