"""When tracking can't be applied, the send handler holds the message back, says why, and leaves it as written.

Every path ends in one event.completed(...). With allowEvent false, Smart Alerts (soft block) lets the person
send it untracked or go back; the message is never half rewritten, and nothing is sent behind their back.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mailbeacon.addin_manifest import COMPOSE_BUTTON_ID
from mailbeacon.storage.models import TrackedMessage

from .conftest import WAIT_MS, WORK
from .test_send_and_read import BODY, draft

pytestmark = pytest.mark.browser
CLASSIC = {"host_name": "Outlook", "platform": "PC"}
WEB = {"host_name": "OutlookWebApp", "platform": "OfficeOnline"}


def ready(window, mode: str = "compose"):
    from playwright.sync_api import expect

    expect(window.pane.locator(f"body[data-ready={mode}]")).to_be_attached(timeout=WAIT_MS)
    return window


def untouched(window) -> None:
    item = window.host.compose
    assert item.body == BODY and item.body_sets == 0
    assert item.headers == {}
    assert item.sent is None


def tracked_messages(backend) -> int:
    return backend.wait_for(lambda s: s.scalar(select(func.count()).select_from(TrackedMessage)), timeout=0)


def refuse(status: int, message: str):
    body = json.dumps({"error": {"code": "unavailable", "message": message}})
    return lambda route: route.fulfill(status=status, body=body, content_type="application/json")


@pytest.mark.parametrize("failure, told", [
    (lambda route: route.abort("connectionrefused"), "mailbeacon couldn't be reached, so this message isn't tracked."),
    (refuse(503, "The database is restarting"), "mailbeacon couldn't track this message: The database is restarting."),
], ids=["backend-down", "backend-5xx"])
def test_a_backend_that_fails_holds_the_message_back_untouched_and_the_next_send_is_the_same_message(
        outlook, backend, ms, failure, told):
    window = ready(outlook(compose=draft(), **CLASSIC).open())
    window.context.route(f"{backend.url}/api/v1/messages/prepare", failure)

    completion = window.send()

    assert completion["allowEvent"] is False
    assert completion["errorMessage"].startswith(told)
    assert "Your message is unchanged" in completion["errorMessage"]
    untouched(window)
    assert ms.state.sent_messages(WORK) == []
    window.screenshot("held-back")

    # The person goes back and selects Send again once mailbeacon answers: tracked, and still one message.
    window.context.unroute(f"{backend.url}/api/v1/messages/prepare")
    assert window.send() == {"allowEvent": True}
    assert "X-Mailbeacon-Id" in window.host.compose.headers
    assert tracked_messages(backend) == 1


def test_when_outlook_loses_an_inline_image_the_body_goes_back_as_written_and_the_person_is_told_in_turkish(
        outlook, backend, ms):
    from playwright.sync_api import expect

    window = ready(outlook(compose=draft(), language="tr-TR", **CLASSIC).open())
    expect(window.pane.get_by_label("Açılmaları izle")).to_be_checked()
    expect(window.pane.get_by_label("Bağlantı tıklamalarını izle")).to_be_checked()
    window.host.faults.add("drop_inline_images_once")  # body.setAsync's known bug inside send handlers

    completion = window.send()

    assert completion["allowEvent"] is False
    assert "satır içi bir görsel kayboldu" in completion["errorMessage"]
    assert "tam yazdığınız gibi geri koydu" in completion["errorMessage"]
    item = window.host.compose
    assert item.body == BODY, "the person's own body is back"
    assert item.body_sets == 2 and item.headers == {} and item.sent is None
    window.screenshot("put-back")


def test_when_graph_refuses_the_send_nothing_is_sent_and_the_draft_is_as_written(outlook, backend, ms):
    window = ready(outlook(compose=draft(), **WEB).open())
    ms.state.faults.fail_next("graph.messages.send", status=400)

    completion = window.send()

    assert completion["allowEvent"] is False
    assert completion["errorMessage"].startswith("mailbeacon couldn't send this message:")
    assert "Nothing was sent." in completion["errorMessage"]
    assert completion["commandId"] == COMPOSE_BUTTON_ID and completion["cancelLabel"] == "Open mailbeacon"
    assert ms.state.sent_messages(WORK) == []
    server_copy = window.host.compose.stored
    assert server_copy.is_draft and f"{backend.url}/o/" not in server_copy.body_content
    assert window.host.compose.body == BODY
    window.screenshot("graph-refused")


def test_without_a_sign_in_the_handler_changes_nothing_and_offers_the_pane(outlook, backend, ms):
    window = ready(outlook(compose=draft(), sso_error=13001, **CLASSIC).open(), "signin")

    completion = window.send()

    assert completion["allowEvent"] is False
    assert "you aren't signed in" in completion["errorMessage"]
    assert completion["commandId"] == COMPOSE_BUTTON_ID
    untouched(window)
    assert tracked_messages(backend) == 0


def test_with_both_toggles_off_outlook_sends_it_untracked_without_asking_mailbeacon(outlook, backend, ms):
    from playwright.sync_api import expect

    window = ready(outlook(compose=draft(), **WEB).open())
    window.pane.get_by_label("Track opens").uncheck()
    window.pane.get_by_label("Track link clicks").uncheck()
    expect(window.pane.locator("#compose-state")).to_have_text("This message will be sent without tracking.")
    window.wait_until(lambda: "mailbeacon.choice" in window.host.compose.session)
    calls_before = len(window.host.log)

    assert window.send() == {"allowEvent": True}

    assert "save" not in window.host.log[calls_before:]
    sent = ms.state.sent_messages(WORK)
    assert len(sent) == 1 and f"{backend.url}/o/" not in sent[0]["body"]["content"]
    assert tracked_messages(backend) == 0


def test_when_mailbeacon_stops_answering_mid_send_the_person_is_pointed_to_sent_items_not_send_anyway(
        outlook, backend, ms):
    window = ready(outlook(compose=draft(), **WEB).open())
    window.context.route(f"{backend.url}/api/v1/outlook/messages", lambda route: route.abort("connectionreset"))

    completion = window.send()

    assert completion["allowEvent"] is False
    assert completion["errorMessage"].startswith("mailbeacon stopped answering while it was sending this message.")
    assert "commandId" not in completion
    assert window.host.compose.body == BODY and window.host.compose.sent is None
