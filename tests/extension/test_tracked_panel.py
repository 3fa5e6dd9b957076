"""The "Tracked" panel in Gmail's navigation: every tracked message, filterable by opened / clicked / not opened,
searchable, opening the conversation when clicked."""

from __future__ import annotations

import secrets

import pytest

from mailbeacon.tracking.fingerprint import draft_text_digest

from ..factories import wait_until
from .conftest import RECIPIENT, SENDER, screenshot
from .gmail_steps import api, open_as_recipient, sent_html, sent_with_subject

pytestmark = pytest.mark.browser


def send_tracked_via_api(signed_in, google, subject: str) -> dict:
    """What the extension does on Send, done directly: a saved Gmail draft, sent tracked by the backend."""
    raw = signed_in["fake"].raw_message({"to": RECIPIENT, "subject": subject, "html": f"About {subject}."})
    draft_id = google.state.save_draft(SENDER, raw)
    seen = {"to": [RECIPIENT], "cc": [], "bcc": [], "subject": subject, "text_sha256": draft_text_digest(raw)}
    queued = api(signed_in, "POST", "/api/v1/messages", json={
        "draft_id": draft_id, "track_opens": True, "track_clicks": True, "seen": seen,
        "idempotency_key": f"panel-{secrets.token_hex(8)}"})
    return wait_until(lambda: (m := api(signed_in, "GET", f"/api/v1/messages/{queued['id']}"))["status"] == "sent"
                      and m)


def test_the_tracked_panel_filters_by_opens_and_opens_a_thread(signed_in, gmail, google):
    opened = send_tracked_via_api(signed_in, google, "Panel: the opened one")
    waiting = send_tracked_via_api(signed_in, google, "Panel: the unopened one")
    [sent] = sent_with_subject(google, "Panel: the opened one")
    open_as_recipient(signed_in["base"], sent_html(sent.raw))
    wait_until(lambda: api(signed_in, "GET", f"/api/v1/messages/{opened['id']}")["opened"])

    gmail.click(".mb-nav-tracked")
    panel = gmail.get_by_role("dialog", name="Tracked emails")
    items = panel.locator(".mb-panel-item")
    item = lambda message: panel.locator(f'.mb-panel-item[data-mb-message="{message["id"]}"]')  # noqa: E731
    item(opened).wait_for()
    item(waiting).wait_for()
    assert item(opened).locator(".mb-open.mb-done").count() == 1
    assert item(waiting).locator(".mb-open.mb-pending").count() == 1

    panel.get_by_role("tab", name="Opened", exact=True).click()  # the list is emptied at once, then refilled
    item(opened).wait_for()
    assert item(waiting).count() == 0
    screenshot(gmail, "08-tracked-panel-opened")

    panel.get_by_role("tab", name="Not opened").click()
    item(waiting).wait_for()
    assert item(opened).count() == 0

    panel.get_by_role("tab", name="All tracked").click()
    panel.get_by_role("searchbox").fill("unopened")
    wait_until(lambda: items.count() == 1 and item(waiting).count() == 1)

    item(waiting).click()
    assert panel.count() == 0, "the panel closes when a message is opened"
    gmail.locator(f'h2.hP[data-legacy-thread-id="{waiting["thread_id"]}"]').wait_for()
    assert gmail.locator("h2.hP").inner_text() == "Panel: the unopened one"
