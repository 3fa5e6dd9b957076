"""The prepare path for classic Outlook: we track the body, Outlook sends it natively with our header, and the
sweep finds the sent copy in Sent Items through Graph — or marks the message abandoned after a day. And the same
message is tracked identically whichever Outlook path sends it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mailbeacon.jobs.runner import RetryLater
from mailbeacon.services.microsoft_tokens import graph_provider_for
from mailbeacon.services.outlook_prepare import HEADER_NAME, find_sent_copy, sweep_prepared
from mailbeacon.storage.models import Link, TrackedMessage, utcnow
from mailbeacon.tracking import tokens

from ..factories import wait_until
from .conftest import HTML, RECIPIENT, SUBJECT, WORK, Sleeps, save_draft, seen_for
from .test_send_graph import queue, run_until_done

PIXEL = "https://t.mailbeacon.test/o/"


def prepare(client, auth, *, html=HTML, key="compose-7-send-1", **extra):
    response = client.post("/api/v1/messages/prepare", headers=auth, json={
        "subject": SUBJECT, "to": [RECIPIENT], "cc": [], "bcc": [],
        "body": {"content_type": "html", "content": html}, "track_opens": True, "track_clicks": True,
        "idempotency_key": key, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def outlook_sends(ms, prepared: dict, **extra):
    """Classic Outlook sends the message itself, with the body and header the add-in set."""
    header = prepared["header"]
    return ms.state.simulate_native_send(WORK, subject=SUBJECT, to=[RECIPIENT], html=prepared["body"]["content"],
                                         headers={header["name"]: header["value"]}, **extra)


def message(rt) -> TrackedMessage:
    with rt.db.session() as s:
        return s.scalar(select(TrackedMessage))


def sweep(rt, *, after=timedelta(minutes=2)):
    return sweep_prepared(rt, provider_for=graph_provider_for, now=utcnow() + after)


def test_prepare_returns_the_tracked_body_and_the_header_to_set(signed_in):
    rt, _app, client, auth = signed_in

    prepared = prepare(client, auth)

    assert prepared["header"] == {"name": HEADER_NAME, "value": prepared["message"]["id"]}
    assert prepared["message"]["status"] == "prepared"
    body = prepared["body"]
    assert body["content_type"] == "html" and body["content"].count(PIXEL) == 1
    assert "example.com/pricing" not in body["content"]
    assert prepared["report"]["tracked"] is True and prepared["report"]["recipients"] == [RECIPIENT]
    with rt.db.session() as s:
        assert [link.url for link in s.scalars(select(Link)) if not link.is_honeypot] == [
            "https://example.com/pricing?plan=pro&seats=5"]


def test_the_sweep_finds_the_natively_sent_copy_by_its_header_and_records_it(signed_in, ms):
    rt, _app, client, auth = signed_in
    prepared = prepare(client, auth)
    copy = outlook_sends(ms, prepared)

    assert sweep(rt)["sent"] == 1

    found = message(rt)
    assert found.status == "sent" and found.provider_message_id == copy.immutable_id
    assert found.provider_thread_id == copy.conversation_id
    assert found.internet_message_id == copy.internet_message_id and found.sent_at is not None
    status = client.get(f"/api/v1/messages/{prepared['message']['id']}", headers=auth).get_json()
    assert status["status"] == "sent" and status["provider_message_id"] == copy.immutable_id


def test_a_copy_outlook_has_not_synced_yet_is_found_by_a_later_sweep(signed_in, ms):
    rt, _app, client, auth = signed_in
    outlook_sends(ms, prepare(client, auth), visible_after_lists=1)

    assert sweep(rt)["sent"] == 0
    assert sweep(rt, after=timedelta(minutes=1))["checked"] == 0  # not due again yet: no needless Graph call
    assert sweep(rt, after=timedelta(minutes=10))["sent"] == 1
    assert message(rt).status == "sent"


def test_a_prepared_message_never_seen_in_sent_items_within_a_day_is_abandoned(signed_in, ms):
    rt, _app, client, auth = signed_in
    prepare(client, auth)
    ms.state.simulate_native_send(WORK, subject="something else", to=[RECIPIENT], html="<p>x</p>",
                                  headers={HEADER_NAME: "another-message"})

    assert sweep(rt, after=timedelta(hours=23))["abandoned"] == 0
    assert sweep(rt, after=timedelta(days=1, seconds=1))["abandoned"] == 1

    abandoned = message(rt)
    assert abandoned.status == "abandoned" and abandoned.sent_at is None
    assert abandoned.status_detail.startswith("abandoned")


def test_the_add_ins_sent_signal_looks_for_the_copy_at_once(signed_in, ms):
    rt, _app, client, auth = signed_in
    prepared = prepare(client, auth)
    outlook_sends(ms, prepared)

    response = client.post(f"/api/v1/messages/{prepared['message']['id']}/prepared-sent", headers=auth)

    assert response.status_code == 202
    wait_until(lambda: message(rt).status == "sent", timeout=30)


def test_the_sent_signal_alone_never_makes_a_message_sent(signed_in, ms):
    rt, _app, client, auth = signed_in
    prepared = prepare(client, auth)
    client.post(f"/api/v1/messages/{prepared['message']['id']}/prepared-sent", headers=auth)

    with pytest.raises(RetryLater):
        find_sent_copy(rt, message(rt).id, provider_for=graph_provider_for, retry=True)
    assert message(rt).status == "prepared"


def test_someone_elses_message_cannot_be_signalled(signed_in, ms):
    _rt, _app, client, auth = signed_in
    response = client.post("/api/v1/messages/not-a-real-id/prepared-sent", headers=auth)
    assert response.status_code == 404


def test_preparing_again_under_the_same_key_reuses_the_message_and_its_tokens(signed_in):
    rt, _app, client, auth = signed_in
    first = prepare(client, auth)

    # The send handler ran again (Outlook retried it): it now reads the body we already tracked.
    second = prepare(client, auth, html=first["body"]["content"])

    assert second["message"]["id"] == first["message"]["id"]
    assert second["body"]["content"].count(PIXEL) == 1
    assert second["body"]["content"] == first["body"]["content"]  # same message, same tokens, same places
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(TrackedMessage)) == 1
        assert [link.url for link in s.scalars(select(Link)) if not link.is_honeypot] == [
            "https://example.com/pricing?plan=pro&seats=5"]


def test_a_message_already_sent_cannot_be_prepared_again(signed_in, ms):
    rt, _app, client, auth = signed_in
    outlook_sends(ms, prepare(client, auth))
    sweep(rt)

    again = client.post("/api/v1/messages/prepare", headers=auth, json={
        "subject": SUBJECT, "to": [RECIPIENT], "body": {"content_type": "html", "content": HTML},
        "idempotency_key": "compose-7-send-1"})

    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_sent"


def test_a_graph_outage_leaves_prepared_messages_for_the_next_sweep(signed_in, ms):
    rt, _app, client, auth = signed_in
    outlook_sends(ms, prepare(client, auth))
    ms.state.faults.fail_next("graph.messages.list", times=1, status=503, retry_after=1)

    assert sweep(rt)["failed"] == 1 and message(rt).status == "prepared"
    assert sweep(rt)["sent"] == 1


def test_prepare_needs_a_connected_microsoft_account_and_a_body(signed_in):
    rt, _app, client, auth = signed_in
    missing = client.post("/api/v1/messages/prepare", headers=auth, json={"subject": "x", "to": [RECIPIENT]})
    assert missing.status_code == 400
    from mailbeacon.storage.models import MailAccount

    with rt.db.transaction() as s:
        s.scalar(select(MailAccount)).status = "disconnected"
    refused = client.post("/api/v1/messages/prepare", headers=auth, json={
        "subject": "x", "to": [RECIPIENT], "body": {"content_type": "text", "content": "hello"}})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "account_disconnected"


# --- the same message through both paths ------------------------------------------------------------------------

def _shape(body: str, keyring) -> str:
    """A tracked body with each token replaced by what it says (purpose, link index): message ids differ."""
    def spell(match: re.Match) -> str:
        claims = tokens.verify(match.group(2), keyring=keyring)
        assert claims is not None, "a token in the body does not verify"
        return f"{match.group(1)}<{claims.purpose}:{claims.link_index}>"

    return re.sub(r"(https://t\.mailbeacon\.test/[oc]/)([A-Za-z0-9_-]+)", spell, body)


def _links(rt, message_id: int) -> list[tuple[int, str, bool]]:
    with rt.db.session() as s:
        return [(link.position, link.url, link.is_honeypot)
                for link in s.scalars(select(Link).where(Link.message_id == message_id).order_by(Link.position))]


def test_the_same_message_is_tracked_identically_through_graph_and_through_prepare(signed_in, ms):
    rt, _app, client, auth = signed_in
    ms.state.normalise_html = False  # so Graph hands back the body exactly as the add-in would read it
    draft = save_draft(ms)
    graph_id = queue(rt, draft.rest_id, seen_for())
    assert run_until_done(rt, graph_id, sleep=Sleeps())[0] == "sent"
    [sent] = ms.state.sent_messages(WORK)

    prepared = prepare(client, auth)

    with rt.db.session() as s:
        by_graph = s.get(TrackedMessage, graph_id)
        by_prepare = s.scalar(select(TrackedMessage).where(TrackedMessage.public_id == prepared["message"]["id"]))
        flags = [(m.track_opens, m.track_clicks, m.tracking_skipped_reason, m.subject, m.recipients)
                 for m in (by_graph, by_prepare)]
        prepare_id = by_prepare.id
    assert _shape(sent["body"]["content"], rt.keyring) == _shape(prepared["body"]["content"], rt.keyring)
    assert sent["body"]["content"] != prepared["body"]["content"]  # different messages, different tokens
    assert flags[0] == flags[1]
    assert [link[1:] for link in _links(rt, graph_id)] == [link[1:] for link in _links(rt, prepare_id)]
