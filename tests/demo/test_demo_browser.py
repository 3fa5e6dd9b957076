"""The demo in a real headless Chromium (Debian's), as a newcomer uses it: compose, send, read, click, watch —
as Alex through Gmail, then as Jordan through Outlook.

The person is played by this Chromium with its user agent as a desktop Chromium's (without the "HeadlessChrome"
marker), because that is the browser a newcomer opens the page in. The same Chromium left as it is plays a
machine reading the mail, and the demo must call it one: the classifier's verdict is shown, never dressed up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..conftest import service_missing

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
    "PrivateNetworkAccessSendPreflights",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        service_missing("Debian's chromium", f"{CHROMIUM} is absent (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_delivered(page, subject: str):
    page.get_by_role("button", name=re.compile(f"^Open “{re.escape(subject)}”")).click()
    frame = page.frame_locator("#message-frame")
    return frame


def test_a_newcomer_sends_tracked_mail_as_both_senders_opens_it_clicks_and_sees_it_all(demo, browser):
    from playwright.sync_api import expect

    probe = browser.new_page()
    headless_agent = probe.evaluate("navigator.userAgent")
    probe.close()
    assert "HeadlessChrome/" in headless_agent
    person = browser.new_context(user_agent=headless_agent.replace("HeadlessChrome/", "Chrome/"),
                                 viewport={"width": 1500, "height": 1000})
    page = person.new_page()
    page.goto(demo.url)
    expect(page.get_by_role("heading", name="mailbeacon demo")).to_be_visible()
    expect(page.get_by_label("Track email opens")).to_be_checked()
    expect(page.get_by_label("Track link clicks")).to_be_checked()
    expect(page.get_by_role("radio", name=re.compile("^Gmail: Alex"))).to_be_checked()
    page.get_by_label("Subject").fill("Pricing for next quarter")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#compose-status")).to_have_text(re.compile("^Sent"), timeout=WAIT_MS)
    alex = page.locator("#sender-gmail")
    message = alex.locator(".messages article")
    expect(message.locator(".state")).to_have_text("Sent")
    expect(message).to_contain_text("To sam.recipient@example.net")

    # A machine reads it first: this Chromium as it comes, saying it is headless. It is counted apart.
    machine = browser.new_context()
    machine_page = machine.new_page()
    machine_page.goto(demo.url)
    expect(open_delivered(machine_page, "Pricing for next quarter").get_by_role("link")).to_be_visible()
    timeline = message.locator(".timeline")
    expect(timeline).to_contain_text("automated client (headless browser)", timeout=WAIT_MS)
    expect(timeline.locator(".kind").first).to_have_text("scanner")
    expect(alex.locator(".notifications li")).to_have_count(0)
    machine.close()

    # The person reads it: the pixel loads for real in the frame, and they follow the link to a new tab.
    frame = open_delivered(page, "Pricing for next quarter")
    link = frame.get_by_role("link", name=re.compile(r"pricing\?plan=pro"))
    expect(link).to_be_visible()
    with page.expect_popup() as opened:
        link.click()
    landing = opened.value
    landing.wait_for_load_state()
    expect(landing.get_by_role("heading")).to_have_text("You followed the link")
    assert landing.url == demo.url + "pricing?plan=pro&seats=5"  # the destination exactly as written
    landing.close()

    expect(alex.locator(".notifications li")).to_have_count(2, timeout=WAIT_MS)
    notifications = alex.locator(".notifications")
    expect(notifications).to_contain_text("sam.recipient@example.net opened “Pricing for next quarter”")
    expect(notifications).to_contain_text("sam.recipient@example.net clicked " + demo.url + "pricing?plan=pro&seats=5")
    expect(message.locator("[data-opens]")).to_have_text("1 by a person, 1 by a machine")
    expect(message.locator("[data-clicks]")).to_have_text("1 by a person, 0 by machines")
    expect(timeline).to_contain_text("opened in webmail (Chrome on Linux)")
    expect(timeline).to_contain_text("clicked in Chrome on Linux")
    assert timeline.locator(".kind").all_inner_texts() == ["scanner", "human", "human"]

    # Jordan sends through Outlook on the web: the saved item goes out through Graph. The person reads it and only
    # Jordan hears of it.
    page.get_by_role("radio", name=re.compile("^Outlook: Jordan")).check()
    expect(page.get_by_label("Message", exact=True)).to_have_value(re.compile(r"\nJordan$"))  # the sign-off too
    page.get_by_label("Subject").fill("Pricing from Jordan")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#compose-status")).to_have_text(re.compile("^Sent"), timeout=WAIT_MS)
    jordan = page.locator("#sender-outlook")
    outlook_message = jordan.locator(".messages article")
    expect(outlook_message.locator(".state")).to_have_text("Sent")
    expect(outlook_message.locator("h5")).to_have_text("Pricing from Jordan")
    frame = open_delivered(page, "Pricing from Jordan")
    expect(frame.get_by_role("link", name=re.compile(r"pricing\?plan=pro"))).to_be_visible()
    expect(jordan.locator(".notifications li")).to_have_count(1, timeout=WAIT_MS)
    expect(jordan.locator(".notifications")).to_contain_text("sam.recipient@example.net opened “Pricing from Jordan”")
    expect(outlook_message.locator("[data-opens]")).to_have_text("1 by a person, 0 by machines")
    expect(outlook_message.locator(".timeline")).to_contain_text("opened in webmail (Chrome on Linux)")
    # Alex's view is Alex's alone: one message, the same two notifications.
    expect(message).to_have_count(1)
    expect(alex.locator(".notifications li")).to_have_count(2)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-final.png"), full_page=True)
    person.close()
