"""A sender in Outlook, end to end: compose, choose tracking, Send, the recipient opens and clicks, the read pane.

Outlook on the web takes the Graph path (the backend sends the saved draft); classic Outlook on Windows the
prepare path (the handler sets the tracked body and header, Outlook sends, the backend finds the sent copy).
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, update

from mailbeacon.storage.models import SenderActivity, TrackedMessage, UserSettings

from .conftest import RECIPIENT, WAIT_MS, WORK
from .office_host import TINY_PNG, Attachment, ComposeItem

pytestmark = pytest.mark.browser

SUBJECT = "Pricing for next quarter"
PRICING = "https://example.com/pricing?plan=pro&seats=5"
BODY = ('<html><body><div dir="ltr"><p>Hi Rita,</p><p>the new <a href="https://example.com/pricing?plan=pro&amp;'
        'seats=5">prices</a> are in.</p><p><img src="cid:logo@mb" alt="logo" width="32"></p>'
        '<p>Sam</p></div></body></html>')


def draft() -> ComposeItem:
    return ComposeItem(subject=SUBJECT, to=[RECIPIENT], body=BODY, attachments=[
        Attachment("att-logo", "logo.png", "image/png", len(TINY_PNG), is_inline=True, content_id="logo@mb",
                   content=TINY_PNG),
        Attachment("att-terms", "terms.pdf", "application/pdf", 18213)])


def tracking_urls(backend, body: str) -> tuple[str, list[str]]:
    pixel = re.findall(re.escape(backend.url) + r"/o/[^\"'\s>]+", body)
    clicks = re.findall(re.escape(backend.url) + r"/c/[^\"'\s>]+", body)
    assert len(pixel) == 1, body
    return pixel[0], clicks


def link_to(body: str, text: str) -> str:
    return re.search(r'href="([^"]+)"[^>]*>' + re.escape(text) + "<", body).group(1)


def human_opens(backend, message_id: str) -> int:
    def count(session):
        return session.scalar(select(TrackedMessage.human_open_count).where(TrackedMessage.public_id == message_id))
    return backend.wait_for(count) or 0


def the_sender_looked_a_while_ago(backend) -> None:
    """The pane told the backend the sender was looking; pretend it was minutes ago, not seconds."""
    with backend.rt.db.transaction() as session:
        session.execute(update(SenderActivity).values(at_epoch=SenderActivity.at_epoch - 600))


def test_outlook_on_the_web_sends_through_graph_and_the_read_pane_shows_the_open_and_the_click(
        outlook, backend, ms):
    from playwright.sync_api import expect

    window = outlook(host_name="OutlookWebApp", platform="OfficeOnline", compose=draft()).open()
    pane = window.pane
    expect(pane.get_by_text(f"Signed in as {WORK}")).to_be_attached(timeout=WAIT_MS)
    expect(pane.locator("body[data-ready=compose]")).to_be_attached(timeout=WAIT_MS)
    opens, clicks = pane.get_by_label("Track opens"), pane.get_by_label("Track link clicks")
    expect(opens).to_be_checked()
    expect(clicks).to_be_checked()
    clicks.uncheck()
    expect(pane.locator("#compose-state")).to_have_text("mailbeacon adds tracking when you select Send.")
    clicks.check()
    window.wait_until(lambda: json.loads(window.host.compose.session.get("mailbeacon.choice", "{}"))
                      == {"track_opens": True, "track_clicks": True})
    window.screenshot("compose")

    completion = window.send()

    # The backend sent it through Graph; Outlook must not send it again, and says why.
    assert completion["allowEvent"] is False
    assert completion["errorMessage"].startswith("Sent with tracking")
    assert window.host.log.count("save") == 1 and window.host.compose.body == BODY
    sent = ms.state.sent_messages(WORK)
    assert len(sent) == 1 and sent[0]["subject"] == SUBJECT
    body = sent[0]["body"]["content"]
    assert 'src="cid:logo@mb"' in body, "the inline image survived"
    pixel, links = tracking_urls(backend, body)
    assert PRICING.replace("&", "&amp;") not in body and len(links) >= 1
    window.screenshot("sent-through-graph")

    message_id = backend.wait_for(lambda s: s.scalar(select(TrackedMessage.public_id)))
    answer = backend.fetch_as_recipient(pixel)
    assert answer.status == 200 and answer.getheader("Content-Type") == "image/gif"
    assert human_opens(backend, message_id) == 1

    stored = ms.state.mailbox(WORK).find(sent[0]["id"])
    window.show_read(stored)
    expect(pane.locator("#read-badge")).to_have_text("Opened", timeout=WAIT_MS)
    expect(pane.locator("#read-counts")).to_contain_text("1 open")
    expect(pane.locator("#timeline")).to_contain_text("Opened by a person")
    expect(pane.locator("#live")).to_have_text("Live: this updates as it happens.", timeout=WAIT_MS)
    window.wait_until(lambda: window.host.read_notifications)
    assert "opened once" in next(iter(window.host.read_notifications.values()))["message"]
    window.screenshot("read-opened")

    the_sender_looked_a_while_ago(backend)
    click = backend.fetch_as_recipient(link_to(body, "prices"))
    assert click.status == 302 and click.getheader("Location") == PRICING
    expect(pane.locator("#links li.clicked")).to_contain_text("1 click", timeout=WAIT_MS)
    expect(pane.locator("#read-badge")).to_have_text("Opened · Clicked")
    window.wait_until(lambda: "clicked" in next(iter(window.host.read_notifications.values()))["message"])
    window.screenshot("read-live-click")


def test_classic_outlook_signs_in_through_the_dialog_and_sends_the_prepared_body_itself(outlook, backend, ms):
    from playwright.sync_api import expect

    # A personal account or a tenant without SSO consent: Office can't hand out a token, so the dialog it is.
    window = outlook(host_name="Outlook", platform="PC", compose=draft(), sso_error=13012).open()
    pane = window.pane
    expect(pane.get_by_text("Single sign-on isn't available here")).to_be_visible(timeout=WAIT_MS)
    window.screenshot("sign-in")
    with window.page.expect_popup() as dialog:
        pane.get_by_role("button", name="Sign in with Microsoft").click()
    expect(pane.get_by_text(f"Signed in as {WORK}")).to_be_attached(timeout=WAIT_MS)
    window.wait_until(dialog.value.is_closed)  # the pane closes its dialog once it has the code
    expect(pane.locator("body[data-ready=compose]")).to_be_attached(timeout=WAIT_MS)
    pane.get_by_label("Track link clicks").uncheck()
    window.wait_until(lambda: json.loads(window.host.compose.session.get("mailbeacon.choice", "{}"))
                      == {"track_opens": True, "track_clicks": False})

    completion = window.send()

    assert completion == {"allowEvent": True}
    item = window.host.compose
    message_id = item.headers["X-Mailbeacon-Id"]
    pixel, links = tracking_urls(backend, item.body)
    assert links == [] and 'href="https://example.com/pricing?plan=pro&amp;seats=5"' in item.body
    assert 'src="cid:logo@mb"' in item.body and item.body_sets == 1
    window.screenshot("prepared-and-sent")
    assert backend.wait_for(lambda s: s.scalar(select(TrackedMessage.status).where(
        TrackedMessage.public_id == message_id)) == "sent"), "the backend found the sent copy by its header"

    assert backend.fetch_as_recipient(pixel).status == 200
    assert human_opens(backend, message_id) == 1
    window.show_read(item.sent)
    expect(pane.locator("#read-badge")).to_have_text("Opened", timeout=WAIT_MS)
    expect(pane.locator("#links")).to_have_text("Link clicks weren't tracked for this message.")
    expect(pane.locator("#read-counts")).to_contain_text("1 open")
    expect(pane.locator("#timeline")).to_contain_text("Opened by a person")
    window.screenshot("read-opened")

    # The "Opened" category on the Sent Items copy is the account's choice, made here.
    pane.locator("#settings summary").click()
    pane.get_by_label("Mark my opened messages with the “Opened” category in Sent Items").check()
    assert backend.wait_for(lambda s: s.scalar(select(UserSettings.outlook_opened_category)))

    # Pinned, the pane follows the selection down Sent Items, to a message mailbeacon never saw.
    lunch = ms.state.simulate_native_send(WORK, subject="Lunch?", to=[RECIPIENT], html="<p>Lunch on Friday?</p>")
    window.host.read = lunch
    window.pane_frame().evaluate("() => window.__officeStandin.itemChanged()")
    expect(pane.locator("#read-untracked")).to_be_visible(timeout=WAIT_MS)
    expect(pane.locator("#read-detail")).to_be_hidden()


def test_tracking_switched_off_in_the_account_is_neither_offered_nor_applied(outlook, backend, ms):
    from playwright.sync_api import expect

    window = outlook(host_name="Outlook", platform="PC", compose=draft()).open()
    pane = window.pane
    expect(pane.locator("body[data-ready=compose]")).to_be_attached(timeout=WAIT_MS)
    with backend.rt.db.transaction() as session:
        session.execute(update(UserSettings).values(open_tracking_enabled=False))
    window.pane_frame().evaluate("() => window.__officeStandin.itemChanged()")  # the pane reads the settings again
    expect(pane.get_by_text("Open tracking is turned off in your mailbeacon settings.")).to_be_visible(timeout=WAIT_MS)
    expect(pane.get_by_label("Track opens")).to_be_hidden()
    expect(pane.get_by_label("Track link clicks")).to_be_checked()
    window.screenshot("opens-off-in-settings")

    assert window.send() == {"allowEvent": True}

    body = window.host.compose.body
    assert f"{backend.url}/o/" not in body, "no pixel"
    assert f'href="{backend.url}/c/' in body, "the links are tracked"
