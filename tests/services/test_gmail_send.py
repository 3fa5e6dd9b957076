"""Sending a tracked Gmail draft through the real google-api-python-client against the stand-in, including the
failure paths: stale draft, lost send response, 429 storm, revoked grant."""

import email
import email.policy
import hashlib

import pytest
from sqlalchemy import select

from mailbeacon.jobs.runner import RetryLater
from mailbeacon.services.gmail_accounts import gmail_provider_for
from mailbeacon.services.send_gmail import send_tracked_gmail
from mailbeacon.storage.models import Link, MailAccount, TrackedMessage, User
from mailbeacon.storage.users import settings_for

from ..factories import wait_until
from ..gmail_support import (DRAFT, RECIPIENT, SENDER, gmail_backend, gmail_env, google, seen_for,  # noqa: F401
                             sign_in)


def no_sleep(_seconds):
    return None


def queue(rt, draft_id, seen, *, opens=True, clicks=True) -> int:
    with rt.db.transaction() as s:
        user = s.scalar(select(User).where(User.email == SENDER))
        account = s.scalar(select(MailAccount).where(MailAccount.user_id == user.id))
        message = TrackedMessage(user_id=user.id, account_id=account.id, provider="gmail", status="queued",
                                 provider_draft_id=draft_id, requested_opens=opens, requested_clicks=clicks,
                                 client_seen=seen)
        s.add(message)
        s.flush()
        return message.id


def run_until_done(rt, message_id, attempts=8):
    for _ in range(attempts):
        try:
            return send_tracked_gmail(rt, message_id, provider_for=gmail_provider_for, sleep=no_sleep)
        except RetryLater:
            continue
    raise AssertionError("never finished")


@pytest.fixture
def signed_in(gmail_backend):
    rt, app = gmail_backend
    client = app.test_client()
    token = sign_in(client)
    return rt, app, client, {"Authorization": f"Bearer {token['access_token']}"}


def test_api_sends_the_draft_tracked_and_records_its_gmail_ids(signed_in, google):
    rt, _app, client, auth = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    response = client.post("/api/v1/messages", headers=auth, json={
        "draft_id": draft_id, "track_opens": True, "track_clicks": True, "seen": seen_for(DRAFT),
        "idempotency_key": "compose-1-send-1"})
    assert response.status_code == 202
    public_id = response.get_json()["id"]
    status = wait_until(lambda: (s := client.get(f"/api/v1/messages/{public_id}", headers=auth).get_json())
                        ["status"] in ("sent", "failed") and s, timeout=30)
    assert status["status"] == "sent", status
    assert status["provider_message_id"] and status["thread_id"]
    [sent] = google.state.sent_messages()
    parsed = email.message_from_bytes(sent.raw, policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert "https://t.mailbeacon.test/o/" in html and "https://t.mailbeacon.test/c/" in html
    assert "example.com/pricing" not in html  # rewritten, and stored as written:
    with rt.db.session() as s:
        urls = [l.url for l in s.scalars(select(Link).order_by(Link.position)) if not l.is_honeypot]
    assert urls == ["https://example.com/pricing?plan=pro&seats=5"]
    # The same key again does not send again.
    again = client.post("/api/v1/messages", headers=auth, json={
        "draft_id": draft_id, "seen": seen_for(DRAFT), "idempotency_key": "compose-1-send-1"})
    assert again.get_json()["id"] == public_id and len(google.state.sent_messages()) == 1


def test_the_toggles_become_the_next_default(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    assert run_until_done(rt, queue(rt, draft_id, seen_for(DRAFT), opens=False, clicks=True)) == "sent"
    with rt.db.session() as s:
        settings = settings_for(s, s.scalar(select(User.id).where(User.email == SENDER)))
        assert (settings.default_track_opens, settings.default_track_clicks) == (False, True)
    sent = google.state.sent_messages()[0].raw
    assert b"/o/" not in sent and b"/c/" in sent


def test_a_stale_draft_is_refetched_until_it_matches_the_screen(signed_in, google):
    rt, *_ = signed_in
    old = DRAFT.replace(b"Hi Sam", b"Dear Sam")
    draft_id = google.state.save_draft(SENDER, old)
    google.state.set_stale_drafts(2)
    google.state.save_draft(SENDER, DRAFT, draft_id=draft_id)  # what the user now sees
    assert run_until_done(rt, queue(rt, draft_id, seen_for(DRAFT))) == "sent"
    [sent] = google.state.sent_messages()
    assert b"Hi Sam" in sent.raw and b"Dear Sam" not in sent.raw


def test_a_draft_that_never_matches_is_not_sent_and_is_left_alone(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    seen = seen_for(DRAFT, to=["someone.else@example.org"])
    assert run_until_done(rt, queue(rt, draft_id, seen)) == "failed"
    assert google.state.sent_messages() == []
    with rt.db.session() as s:
        message = s.scalar(select(TrackedMessage))
        assert message.status_detail.startswith("stale_draft")
    provider = gmail_provider_for(rt, _account(rt))
    assert provider.fetch_draft(draft_id=draft_id).raw == DRAFT


def test_a_lost_send_response_never_sends_twice(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    google.state.lose_next_response("users.drafts.send", mode="500")
    assert run_until_done(rt, queue(rt, draft_id, seen_for(DRAFT))) == "sent"
    assert len(google.state.sent_messages()) == 1
    with rt.db.session() as s:
        message = s.scalar(select(TrackedMessage))
        # gmail.compose can't read Sent, so the lost answer's message id stays unknown; the thread is known.
        assert message.status == "sent" and message.provider_thread_id == google.state.sent_messages()[0].thread_id


def test_a_dropped_connection_on_send_never_sends_twice(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    google.state.lose_next_response("users.drafts.send", mode="drop")
    assert run_until_done(rt, queue(rt, draft_id, seen_for(DRAFT))) == "sent"
    assert len(google.state.sent_messages()) == 1


def test_a_429_storm_backs_off_and_sends_once(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    google.state.fail_next("users.drafts.send", times=3, status=429)
    message_id = queue(rt, draft_id, seen_for(DRAFT))
    retries = 0
    for _ in range(10):
        try:
            status = send_tracked_gmail(rt, message_id, provider_for=gmail_provider_for, sleep=no_sleep)
            break
        except RetryLater:
            retries += 1
    assert status == "sent" and retries == 3
    assert len(google.state.sent_messages()) == 1
    # Retries recognised their own tracked draft instead of tracking the tracking.
    raw = google.state.sent_messages()[0].raw
    assert raw.count(b"https://t.mailbeacon.test/o/") == 1


def test_a_revoked_grant_marks_the_account_disconnected_without_crashing(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    google.state.revoke_grant(SENDER)
    assert run_until_done(rt, queue(rt, draft_id, seen_for(DRAFT))) == "failed"
    account = _account(rt)
    assert account.status == "disconnected" and "reconnect" in account.status_reason.lower()
    with rt.db.session() as s:
        assert s.scalar(select(TrackedMessage)).status_detail.startswith("reconnect")
    assert google.state.sent_messages() == []


def test_a_refused_send_puts_the_draft_back_as_the_user_wrote_it(signed_in, google):
    rt, *_ = signed_in
    no_recipient = DRAFT.replace(b"To: Sam Recipient <sam.recipient@example.net>\r\n", b"")
    draft_id = google.state.save_draft(SENDER, no_recipient)
    # Gmail refuses to send a draft without a recipient (400): a permanent failure after we replaced the draft.
    assert run_until_done(rt, queue(rt, draft_id, seen_for(no_recipient, to=()))) == "failed"
    assert google.state.sent_messages() == []
    with rt.db.session() as s:
        assert s.scalar(select(TrackedMessage)).status_detail.startswith("gmail_refused")
    restored = gmail_provider_for(rt, _account(rt)).fetch_draft(draft_id=draft_id).raw
    assert restored == no_recipient


def test_a_missing_draft_fails_clearly(signed_in, google):
    rt, *_ = signed_in
    assert run_until_done(rt, queue(rt, "r-404404404", seen_for(DRAFT))) == "failed"
    with rt.db.session() as s:
        assert s.scalar(select(TrackedMessage)).status_detail.startswith("draft_missing")


def test_a_reply_keeps_its_thread_and_reply_headers(signed_in, google):
    rt, *_ = signed_in
    original_id = google.state.receive_message(SENDER, (
        "From: Sam Recipient <sam.recipient@example.net>\r\nTo: alex.sender@example.com\r\n"
        "Subject: Pricing for next quarter\r\nMessage-ID: <orig-1@example.net>\r\n\r\nWhat are the prices?\r\n"
    ).encode())
    thread_id = next(m for m in google.state.messages(SENDER) if m.id == original_id).thread_id
    reply = DRAFT.replace(b"Subject: Pricing for next quarter\r\n",
                          b"Subject: Re: Pricing for next quarter\r\nIn-Reply-To: <orig-1@example.net>\r\n"
                          b"References: <orig-1@example.net>\r\n")
    draft_id = google.state.save_draft(SENDER, reply, thread_id=thread_id)
    assert run_until_done(rt, queue(rt, draft_id, seen_for(reply, subject="Re: Pricing for next quarter"))) == "sent"
    [sent] = google.state.sent_messages()
    assert sent.thread_id == thread_id
    assert b"In-Reply-To: <orig-1@example.net>" in sent.raw and b"References: <orig-1@example.net>" in sent.raw


def _account(rt):
    with rt.db.session() as s:
        return s.scalar(select(MailAccount).where(MailAccount.provider == "gmail"))


def test_unfinished_sends_resume_after_an_embedded_restart(signed_in, google):
    from datetime import timedelta

    from mailbeacon.services.send_gmail import resume_unfinished_sends

    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    message_id = queue(rt, draft_id, seen_for(DRAFT))
    with rt.db.transaction() as s:
        message = s.get(TrackedMessage, message_id)
        message.status = "sending"  # the process died mid-send
        message.created_at = message.created_at - timedelta(minutes=5)
    assert resume_unfinished_sends(rt) == 1
    wait_until(lambda: len(google.state.sent_messages()) == 1, timeout=30)
    with rt.db.session() as s:
        wait_until(lambda: s.get(TrackedMessage, message_id).status == "sent" or s.expire_all(), timeout=10)


def test_a_disconnected_account_fails_at_once_and_clearly(signed_in, google):
    rt, *_ = signed_in
    draft_id = google.state.save_draft(SENDER, DRAFT)
    message_id = queue(rt, draft_id, seen_for(DRAFT))
    with rt.db.transaction() as s:
        s.scalar(select(MailAccount).where(MailAccount.provider == "gmail")).status = "disconnected"
    assert run_until_done(rt, message_id) == "failed"
    with rt.db.session() as s:
        assert s.get(TrackedMessage, message_id).status_detail.startswith("account_disconnected")
    assert google.state.sent_messages() == []
