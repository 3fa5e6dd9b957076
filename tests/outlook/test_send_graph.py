"""Sending a saved Outlook draft tracked through Microsoft Graph, with the real msal and requests against the
stand-in: the happy path for work and personal accounts, and every failure path — a draft not synced yet,
429/503 with Retry-After, a stale draft, a lost send answer, a revoked grant, a refused send, do-not-track."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbeacon.jobs.runner import RetryLater
from mailbeacon.services import send_attempts, send_graph
from mailbeacon.services.microsoft_tokens import graph_provider_for
from mailbeacon.services.send_graph import send_tracked_graph
from mailbeacon.storage.models import DoNotTrack, Link, MailAccount, TrackedMessage, User

from ..factories import wait_until
from .conftest import (HTML, PERSONAL, WORK, Sleeps, bearer, save_draft, seen_for,
                       sso_sign_in)

PIXEL = "https://t.mailbeacon.test/o/"
CLICK = "https://t.mailbeacon.test/c/"


def queue(rt, item_id: str, seen: dict, *, opens=True, clicks=True, upn=WORK) -> int:
    with rt.db.transaction() as s:
        user = s.scalar(select(User).where(User.email == upn))
        account = s.scalar(select(MailAccount).where(MailAccount.user_id == user.id))
        message = TrackedMessage(user_id=user.id, account_id=account.id, provider="outlook", status="queued",
                                 provider_draft_id=item_id, requested_opens=opens, requested_clicks=clicks,
                                 client_seen=seen)
        s.add(message)
        s.flush()
        return message.id


def run_until_done(rt, message_id, *, sleep=None, provider_for=graph_provider_for, attempts=10):
    sleep = sleep or Sleeps()
    retries = 0
    for _ in range(attempts):
        try:
            return send_tracked_graph(rt, message_id, provider_for=provider_for, sleep=sleep), retries
        except RetryLater:
            retries += 1
    raise AssertionError("never finished")


def sent_bodies(ms, upn=WORK) -> list[str]:
    return [m["body"]["content"] for m in ms.state.sent_messages(upn)]


def stored(rt) -> TrackedMessage:
    with rt.db.session() as s:
        return s.scalar(select(TrackedMessage))


def draft_body(ms, draft, upn=WORK) -> str:
    return ms.state.mailbox(upn).messages[draft.immutable_id].body_content


@pytest.mark.parametrize("upn", [WORK, PERSONAL])
def test_the_api_sends_the_saved_draft_tracked_and_records_its_ids(outlook_backend, ms, upn):
    rt, app = outlook_backend
    client = app.test_client()
    auth = bearer(sso_sign_in(client, ms, upn=upn))
    draft = save_draft(ms, upn=upn)

    response = client.post("/api/v1/outlook/messages", headers=auth, json={
        "item_id": draft.rest_id, "track_opens": True, "track_clicks": True, "seen": seen_for(),
        "idempotency_key": "compose-1-send-1"})

    assert response.status_code == 202, response.get_json()
    public_id = response.get_json()["id"]
    status = wait_until(lambda: (s := client.get(f"/api/v1/messages/{public_id}", headers=auth).get_json())
                        ["status"] in ("sent", "failed") and s, timeout=30)
    assert status["status"] == "sent", status
    [sent] = ms.state.sent_messages(upn)
    assert status["provider_message_id"] == sent["id"] == draft.immutable_id  # the id survived the move
    assert status["thread_id"] == sent["conversationId"] and status["sent_at"]
    body = sent["body"]["content"]
    assert body.count(PIXEL) == 1 and CLICK in body and "example.com/pricing" not in body
    with rt.db.session() as s:
        urls = [link.url for link in s.scalars(select(Link).order_by(Link.position)) if not link.is_honeypot]
    assert urls == ["https://example.com/pricing?plan=pro&seats=5"]  # as written, entity decoded
    again = client.post("/api/v1/outlook/messages", headers=auth, json={
        "item_id": draft.rest_id, "seen": seen_for(), "idempotency_key": "compose-1-send-1"})
    assert again.get_json()["id"] == public_id and len(ms.state.sent_messages(upn)) == 1


def test_a_text_body_gets_its_links_rewritten_and_no_pixel(signed_in, ms):
    rt, *_ = signed_in
    text = "Hi Rita, the new prices: https://example.com/pricing?plan=pro&seats=5\r\n"
    draft = save_draft(ms, text=text)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for(text=text)))

    assert status == "sent"
    [sent] = ms.state.sent_messages(WORK)
    assert sent["body"]["contentType"] == "text"
    assert PIXEL not in sent["body"]["content"] and CLICK in sent["body"]["content"]
    assert "example.com/pricing" not in sent["body"]["content"]


def test_a_draft_graph_cannot_see_yet_is_waited_for(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms, unsynced_requests=3)
    sleeps = Sleeps()

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()), sleep=sleeps)

    assert (status, retries) == ("sent", 0)
    assert sleeps.calls[:3] == list(send_graph.SYNC_WAITS[:3])
    assert len(ms.state.sent_messages(WORK)) == 1


def test_a_draft_that_never_syncs_fails_after_the_retries_and_nothing_is_sent(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms, unsynced_requests=10_000)

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert status == "failed" and retries == send_attempts.MAX_ATTEMPTS - 1
    assert stored(rt).status_detail.startswith("draft_missing")
    assert ms.state.sent_messages(WORK) == []


@pytest.mark.parametrize("operation, status", [("graph.messages.send", 429), ("graph.messages.send", 503),
                                                ("graph.messages.update", 503), ("graph.messages.get", 429)])
def test_throttling_is_waited_out_for_exactly_its_retry_after_and_sends_once(signed_in, ms, operation, status):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.faults.fail_next(operation, times=2, status=status, retry_after=7)
    sleeps = Sleeps()

    result, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()), sleep=sleeps)

    assert (result, retries) == ("sent", 0)
    assert sleeps.calls == [7, 7]
    assert len(ms.state.sent_messages(WORK)) == 1


def test_a_retry_after_beyond_the_budget_goes_back_to_the_runner_and_tracks_only_once(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.faults.fail_next("graph.messages.send", times=1, status=429, retry_after=3600)
    message_id = queue(rt, draft.rest_id, seen_for())

    with pytest.raises(RetryLater) as raised:
        send_tracked_graph(rt, message_id, provider_for=graph_provider_for, sleep=Sleeps())
    assert raised.value.after == 3600 and ms.state.sent_messages(WORK) == []
    with rt.db.session() as s:
        links_before = s.scalars(select(Link.id).order_by(Link.id)).all()

    assert send_tracked_graph(rt, message_id, provider_for=graph_provider_for, sleep=Sleeps()) == "sent"
    [body] = sent_bodies(ms)
    assert body.count(PIXEL) == 1  # the retry recognised its own tracked draft instead of tracking the tracking
    with rt.db.session() as s:
        assert s.scalars(select(Link.id).order_by(Link.id)).all() == links_before


def test_a_stale_draft_is_refetched_until_it_matches_the_screen(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms, html=HTML.replace("Hi Rita", "Dear Rita"))

    def outlook_catches_up(calls: int) -> None:
        if calls == 2:
            ms.state.mailbox(WORK).messages[draft.immutable_id].body_content = HTML

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for()), sleep=Sleeps(outlook_catches_up))

    assert status == "sent"
    [body] = sent_bodies(ms)
    assert "Hi Rita" in body and "Dear Rita" not in body


def test_a_draft_that_never_matches_the_screen_is_not_sent_and_is_left_as_it_was(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    before = draft_body(ms, draft)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for(to=["someone.else@example.org"])))

    assert status == "failed" and stored(rt).status_detail.startswith("stale_draft")
    assert ms.state.sent_messages(WORK) == [] and draft_body(ms, draft) == before


def test_a_lost_send_answer_never_sends_twice(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.faults.slow("graph.messages.send", 1.0)  # Graph sends it, but only after our client gave up
    impatient = lambda rt, account: graph_provider_for(rt, account, timeout=(5.0, 0.3))  # noqa: E731

    def until_graph_has_sent(_calls: int) -> None:
        wait_until(lambda: ms.state.sent_messages(WORK), timeout=10)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for()), sleep=Sleeps(until_graph_has_sent),
                               provider_for=impatient)

    ms.state.faults.slow("graph.messages.send", 0)
    assert status == "sent" and len(ms.state.sent_messages(WORK)) == 1
    assert stored(rt).provider_message_id == draft.immutable_id


def test_a_5xx_on_send_is_checked_then_retried_without_tracking_twice(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.faults.fail_next("graph.messages.send", times=1, status=500)

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert (status, retries) == ("sent", 1)
    [body] = sent_bodies(ms)
    assert body.count(PIXEL) == 1


def test_a_revoked_grant_marks_the_account_disconnected_and_sends_nothing(outlook_backend, ms):
    rt, app = outlook_backend
    ms.state.access_token_lifetime = 200  # too short for msal to reuse: every job refreshes
    sso_sign_in(app.test_client(), ms)
    draft = save_draft(ms)
    ms.state.revoke_sessions(WORK)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert status == "failed" and stored(rt).status_detail.startswith("reconnect")
    with rt.db.session() as s:
        account = s.scalar(select(MailAccount))
        assert account.status == "disconnected" and "sign in again" in account.status_reason
    assert ms.state.sent_messages(WORK) == []


def test_a_refused_send_puts_the_draft_back_as_the_user_wrote_it(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms, to=())  # Graph refuses to send a message without recipients
    before = draft_body(ms, draft)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for(to=())))

    assert status == "failed" and stored(rt).status_detail.startswith("outlook_refused")
    assert ms.state.sent_messages(WORK) == []
    restored = draft_body(ms, draft)
    assert PIXEL not in restored and CLICK not in restored and "example.com/pricing" in restored
    assert before.replace("&amp;", "&") in restored.replace("&amp;", "&")
    assert stored(rt).stashed_original is None


def test_a_do_not_track_recipient_gets_the_message_untracked(signed_in, ms):
    rt, *_ = signed_in
    with rt.db.transaction() as s:
        s.add(DoNotTrack(user_id=None, pattern="@fabrikam.onmicrosoft.com", source="admin"))
    draft = save_draft(ms)

    status, _ = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert status == "sent"
    [body] = sent_bodies(ms)
    assert PIXEL not in body and CLICK not in body
    assert stored(rt).tracking_skipped_reason == "do_not_track"


def test_the_api_checks_the_item_id_and_needs_a_microsoft_account(signed_in, ms):
    from mailbeacon.services.api_tokens import issue_token

    rt, _app, client, auth = signed_in
    bad = client.post("/api/v1/outlook/messages", headers=auth, json={"item_id": "../../me/sendMail",
                                                                      "seen": seen_for()})
    assert bad.status_code == 400 and "item_id" in bad.get_json()["error"]["message"]
    no_seen = client.post("/api/v1/outlook/messages", headers=auth, json={"item_id": "A" * 40})
    assert no_seen.status_code == 400
    with rt.db.transaction() as s:
        other = User(email="gmail.only@example.com")
        s.add(other)
        s.flush()
        token = issue_token(s, other, client="extension").token
    refused = client.post("/api/v1/outlook/messages", headers={"Authorization": f"Bearer {token}"},
                          json={"item_id": "A" * 40, "seen": seen_for()})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "no_account"


def test_an_identity_platform_outage_during_a_send_is_retried_later(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.faults.fail_next("identity.discovery", status=503)

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert (status, retries) == ("sent", 1) and len(ms.state.sent_messages(WORK)) == 1


def test_a_token_graph_refuses_is_refreshed_and_the_send_goes_on(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    ms.state.clock.advance(4000)  # Graph now calls the cached token expired, though msal still trusts it

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert (status, retries) == ("sent", 0) and len(ms.state.sent_messages(WORK)) == 1


def test_a_message_for_a_disconnected_account_fails_at_once_and_says_why(signed_in, ms):
    rt, *_ = signed_in
    draft = save_draft(ms)
    with rt.db.transaction() as s:
        s.scalar(select(MailAccount)).status = "disconnected"

    status, retries = run_until_done(rt, queue(rt, draft.rest_id, seen_for()))

    assert (status, retries) == ("failed", 0) and stored(rt).status_detail.startswith("account_disconnected")
    assert ms.state.sent_messages(WORK) == []
