"""The whole path in a real Chromium: compose in Gmail → toggles → Send taken over → the backend sends the draft
tracked through the stand-in → the recipient's mail provider loads the pixel → the notification, the badge and
the solid icon appear; and the sender's own view of the message loads no pixel."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from mailbeacon.storage.models import SenderActivity

from ..factories import wait_until
from .conftest import RECIPIENT, SENDER, live_worker, screenshot
from .gmail_steps import fill_compose, open_as_recipient, open_compose, pixel_url, sent_html, tracked_messages

pytestmark = pytest.mark.browser

SUBJECT = "Pricing for next quarter"
BODY_HTML = ('Hi Sam,<br>the new <a href="https://example.com/pricing?plan=pro&amp;seats=5">prices</a>'
             '&nbsp;are in. Cafe\u0301 \u2615')


def test_a_tracked_send_from_gmail_is_opened_and_the_sender_hears_of_it(signed_in, gmail, google):
    page, fake, base = gmail, signed_in["fake"], signed_in["base"]
    sent_before = len(google.state.sent_messages())
    native_before = len(fake.native_sends)

    compose = open_compose(page)
    opens = compose.locator('[data-mb-toggle="opens"]')
    clicks = compose.locator('[data-mb-toggle="clicks"]')
    for toggle in (opens, clicks):  # this message tracks both, whatever default earlier sends left
        if toggle.get_attribute("aria-checked") != "true":
            toggle.click()
        assert toggle.get_attribute("aria-checked") == "true"
    assert opens.get_attribute("aria-label") == "Track email opens"
    assert "know when this email is opened" in opens.get_attribute("title")
    fill_compose(compose, subject=SUBJECT, html=BODY_HTML, to=f"Sam Recipient <{RECIPIENT}>")
    screenshot(page, "01-compose-with-toggles")

    compose.locator("div.T-I.aoO").click()
    compose.wait_for(state="detached")  # closed once the backend reported it sent
    page.locator(".mb-toast", has_text="Message sent, with tracking.").wait_for()

    # The stand-in holds the tracked message, sent once, by the backend — not by Gmail's own Send.
    assert len(google.state.sent_messages()) == sent_before + 1
    sent = google.state.sent_messages()[-1]
    assert len(fake.native_sends) == native_before
    html = sent_html(sent.raw)
    assert f"{base}/o/" in html and f"{base}/c/" in html
    assert "example.com/pricing" not in html
    # Closing the compose window did not make Gmail save the draft again.
    draft_id = fake.saved_drafts[-1]
    with google.state.lock:
        assert draft_id not in google.state.mailbox(SENDER).drafts

    # The Sent list: the row gets its two icons, faint for now.
    page.evaluate("location.hash = '#sent'")
    row = page.locator(f'tr.zA:has([data-legacy-thread-id="{sent.thread_id}"])')
    row.locator(".mb-status-icon.mb-open.mb-pending").wait_for()
    assert row.locator(".mb-open").get_attribute("title").startswith("Not opened yet")

    # The recipient opens it (through Gmail's image proxy, from their own address).
    open_as_recipient(base, html)

    # Live: the row's open icon turns solid without reloading, the bell counts it, a desktop alert pops up.
    row.locator(".mb-status-icon.mb-open.mb-done").wait_for()
    assert row.locator(".mb-open").get_attribute("title").startswith("Opened once · last")
    assert row.locator(".mb-click.mb-pending").count() == 1
    unread = requests.get(f"{base}/api/v1/notifications/unread-count", timeout=10,
                          headers={"Authorization": f"Bearer {signed_in['token']}"}).json()["unread"]
    assert unread >= 1
    worker = live_worker(signed_in["context"])
    assert wait_until(lambda: worker.evaluate("chrome.action.getBadgeText({})") == str(unread), timeout=10)
    alerts = worker.evaluate("chrome.notifications.getAll().then(Object.keys)")
    assert any(key.startswith("mb-note-") for key in alerts)
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
    # Nor directly, wherever the sender's browser meets it.
    assert page.evaluate("""(url) => new Promise((resolve) => {
        const image = new Image();
        image.onload = () => resolve('loaded');
        image.onerror = () => resolve('blocked');
        image.src = url;
    })""", pixel_url(base, html)) == "blocked"
    blocked = {url.split("#")[-1] for url, why in page.failed_requests if why == "net::ERR_BLOCKED_BY_CLIENT"}
    assert pixel_url(base, html) in blocked, "blocked by the extension's rule, not by anything else"
    assert any("googleusercontent.com" in url for url, why in page.failed_requests
               if why == "net::ERR_BLOCKED_BY_CLIENT"), "the proxied pixel too"
    [message] = tracked_messages(signed_in["rt"], SUBJECT)
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
    assert live_worker(signed_in["context"]).evaluate("chrome.action.getBadgeText({})") == ""
    popup.close()
