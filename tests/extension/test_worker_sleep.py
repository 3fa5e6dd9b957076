"""Chrome stops an idle MV3 service worker, and the stream dies with it. An open or click that happens meanwhile is
not lost: the next time the worker starts (an alarm, the popup, a Gmail tab), it catches up from the stored
notifications and alerts, counts and lists it."""

from __future__ import annotations

import pytest

from ..factories import wait_until
from .conftest import live_worker, stop_worker
from .gmail_steps import api, open_as_recipient, sent_html, sent_with_subject
from .test_tracked_panel import send_tracked_via_api

pytestmark = pytest.mark.browser


def test_an_open_while_the_worker_sleeps_is_caught_up_when_it_wakes(signed_in, google):
    context = signed_in["context"]
    message = send_tracked_via_api(signed_in, google, "Opened while the worker slept")
    for page in context.pages:  # no Gmail tab keeps the worker awake
        if page.url.startswith("https://mail.google.com/"):
            page.close()
    live_worker(context).evaluate("self.marker = 'the worker before it slept'")
    stop_worker(context)

    [sent] = sent_with_subject(google, "Opened while the worker slept")
    open_as_recipient(signed_in["base"], sent_html(sent.raw))
    note = wait_until(lambda: next((n for n in api(signed_in, "GET", "/api/v1/notifications?limit=20")["notifications"]
                                    if n["message_id"] == message["id"]), None))

    popup = context.new_page()  # waking it: the popup asks the worker for its state
    popup.goto(f"chrome-extension://{signed_in['ext']}/src/popup/popup.html")
    popup.locator(f'.note[data-note="{note["id"]}"]').wait_for()
    worker = live_worker(context)
    assert worker.evaluate("self.marker === undefined"), "this is a new worker: the old one (and its stream) is gone"
    wait_until(lambda: f"mb-note-{note['id']}" in worker.evaluate("chrome.notifications.getAll().then(Object.keys)"))
    unread = api(signed_in, "GET", "/api/v1/notifications/unread-count")["unread"]
    wait_until(lambda: worker.evaluate("chrome.action.getBadgeText({})") == str(unread))
    popup.close()
