"""The whole path in a real Chromium: compose in Gmail → toggles → Send taken over → the backend sends the draft
tracked through the stand-in → the recipient's mail provider loads the pixel → the notification, the badge and
the solid icon appear; and the sender's own view of the message loads no pixel."""

from __future__ import annotations

import email
import email.policy

import pytest
import requests
from sqlalchemy import select

from mailbeacon.storage.models import SenderActivity, TrackedMessage

from .conftest import RECIPIENT, SENDER, screenshot

pytestmark = pytest.mark.browser

GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
RECIPIENT_ADDRESS = "198.51.100.20"  # TEST-NET-2, arriving through the one trusted proxy hop
SUBJECT = "Pricing for next quarter"
BODY_HTML = ('Hi Sam,<br>the new <a href="https://example.com/pricing?plan=pro&amp;seats=5">prices</a>'
             '&nbsp;are in. Cafe\u0301 \u2615')


def fill_compose(page, compose, *, to=f"Sam Recipient <{RECIPIENT}>", subject=SUBJECT, html=BODY_HTML):
    compose.locator('textarea[name="to"]').fill(to)
    compose.locator('input[name="subjectbox"]').fill(subject)
    body = compose.locator('div.Am[contenteditable="true"]')
    body.click()
    body.evaluate("(el, html) => { el.innerHTML = html; el.dispatchEvent(new Event('input', {bubbles: true})); }",
                  html)


def open_compose(page):
    page.click("#fake-compose")
    compose = page.locator("[data-fake-compose]").last
    compose.locator(".mb-toggles").wait_for()
    return compose


def sent_html(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",)).get_content()


def tracked_message(rt, subject=SUBJECT) -> TrackedMessage:
    with rt.db.session() as session:
        return session.scalars(select(TrackedMessage).where(TrackedMessage.subject == subject)
                               .order_by(TrackedMessage.id.desc())).first()


def test_a_tracked_send_from_gmail_is_opened_and_the_sender_hears_of_it(signed_in, gmail, google):
    page, fake, worker, base = gmail, signed_in["fake"], signed_in["worker"], signed_in["base"]
    sent_before = len(google.state.sent_messages())

    compose = open_compose(page)
    opens = compose.locator('[data-mb-toggle="opens"]')
    clicks = compose.locator('[data-mb-toggle="clicks"]')
    assert opens.get_attribute("aria-checked") == "true" and clicks.get_attribute("aria-checked") == "true"
    assert opens.get_attribute("aria-label") == "Track email opens"
    assert "know when this email is opened" in opens.get_attribute("title")
    fill_compose(page, compose)
    screenshot(page, "01-compose-with-toggles")

    compose.locator("div.T-I.aoO").click()
    compose.wait_for(state="detached")  # closed once the backend reported it sent
    page.locator(".mb-toast", has_text="Message sent, with tracking.").wait_for()

    # The stand-in holds the tracked message, sent once, by the backend — not by Gmail's own Send.
    assert len(google.state.sent_messages()) == sent_before + 1
    sent = google.state.sent_messages()[-1]
    assert fake.native_sends == []
    html = sent_html(sent.raw)
    assert f"{base}/o/" in html and f"{base}/c/" in html
    assert "example.com/pricing" not in html
    # Closing the compose window did not make Gmail save the draft again.
    with google.state.lock:
        assert google.state.mailbox(SENDER).drafts == {}

    # The Sent list: the row gets its two icons, faint for now.
    page.evaluate("location.hash = '#sent'")
    row = page.locator(f'tr.zA:has([data-legacy-thread-id="{sent.thread_id}"])')
    row.locator(".mb-status-icon.mb-open.mb-pending").wait_for()
    assert row.locator(".mb-open").get_attribute("title").startswith("Not opened yet")

    # The recipient opens it (through Gmail's image proxy, from their own address).
    pixel = html.split(f"{base}/o/", 1)[1].split('"', 1)[0]
    hit = requests.get(f"{base}/o/{pixel}", timeout=10,
                       headers={"User-Agent": GMAIL_PROXY_UA, "X-Forwarded-For": RECIPIENT_ADDRESS})
    assert hit.status_code == 200 and hit.headers["Content-Type"] == "image/gif"

    # Live: the row's open icon turns solid without reloading, the bell counts it, a desktop alert pops up.
    row.locator(".mb-status-icon.mb-open.mb-done").wait_for()
    assert row.locator(".mb-open").get_attribute("title").startswith("Opened once · last")
    assert row.locator(".mb-click.mb-pending").count() == 1
    page.wait_for_function("1", polling=100)  # let the worker finish its badge update
    worker_state = worker.evaluate("""async () => ({
        badge: await chrome.action.getBadgeText({}),
        alerts: Object.keys(await chrome.notifications.getAll()),
    })""")
    assert worker_state["badge"] == "1"
    assert any(key.startswith("mb-note-") for key in worker_state["alerts"])
    row.locator(".mb-open").hover()
    screenshot(page, "02-sent-list-opened")

    # The sender opens the conversation: the "viewing" signal goes first, and the pixel never loads.
    row.click()
    bar = page.locator(".mb-thread-bar")
    bar.wait_for()
    images = page.locator("div.a3s img")
    images.first.wait_for(state="attached")
    page.wait_for_function("[...document.querySelectorAll('div.a3s img')].every((img) => img.complete)")
    assert page.evaluate("[...document.querySelectorAll('div.a3s img')].map((img) => img.naturalWidth)") \
        == [0] * images.count(), "the proxied pixel was blocked in the sender's browser"
    assert not [url for url in fake.proxy_requests if "/o/" in url]
    message = tracked_message(signed_in["rt"])
    with signed_in["rt"].db.session() as session:
        viewing = session.scalars(select(SenderActivity).where(SenderActivity.message_id == message.id,
                                                               SenderActivity.activity == "viewing")).all()
    assert viewing, "opening the thread told the backend the sender was viewing it"
    assert message.human_open_count == 1

    bar.hover()
    timeline = bar.locator(".mb-timeline-entry")
    timeline.first.wait_for()
    assert timeline.count() == 1
    assert "Opened" in timeline.first.inner_text()
    assert "through the recipient's mail provider" in timeline.first.inner_text()
    screenshot(page, "03-thread-bar-timeline")

    # The popup lists it; marking everything read clears the bell.
    popup = signed_in["context"].new_page()
    popup.goto(f"chrome-extension://{signed_in['ext']}/src/popup/popup.html")
    note = popup.locator(".note.unread").first
    note.wait_for()
    assert f"Opened: {SUBJECT}" in note.inner_text() and RECIPIENT in note.inner_text()
    screenshot(popup, "04-popup-notifications")
    popup.click("#mark-all")
    popup.locator(".note.read").first.wait_for()
    popup.wait_for_function("document.querySelector('#unread').textContent === ''")
    assert worker.evaluate("chrome.action.getBadgeText({})") == ""
    popup.close()
