"""The "Opened" category on the sent copy after a human open, when the sender turned the setting on."""

from __future__ import annotations

from sqlalchemy import select

from mailbeacon.services.microsoft_tokens import graph_provider_for
from mailbeacon.services.outlook_categories import OPENED_CATEGORY, on_human_open, set_opened_category
from mailbeacon.storage.models import TrackedMessage

from ..factories import make_message, wait_until
from .conftest import WORK, Sleeps, save_draft, seen_for
from .test_send_graph import queue, run_until_done


def sent_through_graph(rt, ms) -> tuple[int, str]:
    draft = save_draft(ms)
    message_id = queue(rt, draft.rest_id, seen_for())
    assert run_until_done(rt, message_id, sleep=Sleeps())[0] == "sent"
    return message_id, draft.immutable_id


def categories(ms, immutable_id: str) -> list[str]:
    return list(ms.state.mailbox(WORK).messages[immutable_id].categories)


def turn_on(client, auth) -> None:
    response = client.patch("/api/v1/settings", headers=auth, json={"outlook": {"opened_category": True}})
    assert response.status_code == 200, response.get_json()


def test_with_the_setting_off_a_human_open_changes_nothing_in_outlook(signed_in, ms):
    rt, *_ = signed_in
    message_id, immutable_id = sent_through_graph(rt, ms)

    assert on_human_open(rt, message_id) is False
    assert categories(ms, immutable_id) == []


def test_with_the_setting_on_a_human_open_marks_the_sent_copy_opened(signed_in, ms):
    rt, _app, client, auth = signed_in
    turn_on(client, auth)
    message_id, immutable_id = sent_through_graph(rt, ms)

    assert on_human_open(rt, message_id) is True

    wait_until(lambda: categories(ms, immutable_id) == [OPENED_CATEGORY], timeout=30)
    wait_until(lambda: _seen(rt, message_id).get("opened_category") == "set", timeout=30)
    assert on_human_open(rt, message_id) is False  # once is enough; a later open does not re-add it


def test_the_senders_own_categories_are_kept(signed_in, ms):
    rt, _app, client, auth = signed_in
    turn_on(client, auth)
    message_id, immutable_id = sent_through_graph(rt, ms)
    ms.state.mailbox(WORK).messages[immutable_id].categories = ["Customer"]

    assert set_opened_category(rt, message_id, provider_for=graph_provider_for) == "set"

    assert categories(ms, immutable_id) == ["Customer", OPENED_CATEGORY]


def test_a_deleted_sent_copy_is_left_alone(signed_in, ms):
    rt, _app, client, auth = signed_in
    turn_on(client, auth)
    message_id, immutable_id = sent_through_graph(rt, ms)
    del ms.state.mailbox(WORK).messages[immutable_id]

    assert set_opened_category(rt, message_id, provider_for=graph_provider_for) == "gone"
    assert on_human_open(rt, message_id) is False


def test_only_sent_outlook_messages_get_a_category(signed_in, ms):
    rt, _app, client, auth = signed_in
    turn_on(client, auth)
    with rt.db.session() as s:
        gmail_message = make_message(s, sender=WORK)
        gmail_id = gmail_message.id

    assert on_human_open(rt, gmail_id) is False
    assert set_opened_category(rt, gmail_id, provider_for=graph_provider_for) == "skipped"


def _seen(rt, message_id: int) -> dict:
    with rt.db.session() as s:
        return dict(s.scalar(select(TrackedMessage.client_seen).where(TrackedMessage.id == message_id)) or {})
