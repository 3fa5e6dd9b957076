"""Deleting one of a user's accounts deletes that account's tracking data and nothing else of theirs."""

import time

import pytest
from sqlalchemy import func, select

from mailbeacon.jobs import context
from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Hit, Link, MailAccount, Notification, SenderActivity, TrackedMessage
from mailbeacon.tracking import tokens
from mailbeacon.web.app import build_app, pipeline_of
from mailbeacon.web.destinations import redis_key

from ..api_support import account_id_of, add_account, hit_for, user_with_token
from ..factories import make_message

SENDER = "dana@example.com"


def tracking_rows(rt, message_id: int) -> dict[str, int]:
    with rt.db.session() as s:
        def count(model, column):
            return s.scalar(select(func.count()).select_from(model).where(column == message_id))

        return {"messages": count(TrackedMessage, TrackedMessage.id), "hits": count(Hit, Hit.message_id),
                "links": count(Link, Link.message_id), "notifications": count(Notification, Notification.message_id),
                "viewing": count(SenderActivity, SenderActivity.message_id)}


@pytest.fixture
def two_accounts(client, rt, session):
    """A sender with a Google and a Microsoft account, one opened, clicked and viewed message through each."""
    context.use_runtime(rt)
    user_id, auth = user_with_token(rt, SENDER)
    gmail = account_id_of(rt, user_id)
    outlook = add_account(rt, user_id, provider="outlook", address="dana@contoso.example")
    via_gmail = make_message(session, sender=SENDER, subject="Sent from Gmail", urls=["https://example.com/g"],
                             account_id=gmail, thread_id="gmail-thread")
    via_outlook = make_message(session, sender=SENDER, subject="Sent from Outlook", urls=["https://example.com/o"],
                               account_id=outlook, thread_id="outlook-conversation")
    t0 = time.time()
    for message in (via_gmail, via_outlook):
        process_hit_batch([hit_for(message, at=t0), hit_for(message, type="click", link=0, at=t0 + 60)])
        assert client.post(f"/api/v1/messages/{message.public_id}/viewing", headers=auth).status_code == 204
    full = {"messages": 1, "hits": 2, "links": 1, "notifications": 2, "viewing": 1}
    assert tracking_rows(rt, via_gmail.id) == full and tracking_rows(rt, via_outlook.id) == full
    return {"auth": auth, "gmail": gmail, "outlook": outlook, "via_gmail": via_gmail, "via_outlook": via_outlook}


def test_deleting_an_account_deletes_its_messages_hits_links_and_notifications(client, rt, two_accounts):
    auth, via_gmail = two_accounts["auth"], two_accounts["via_gmail"]

    assert client.delete(f"/api/v1/accounts/{two_accounts['gmail']}", headers=auth).status_code == 204

    assert tracking_rows(rt, via_gmail.id) == {"messages": 0, "hits": 0, "links": 0, "notifications": 0,
                                               "viewing": 0}
    with rt.db.session() as s:
        assert s.get(MailAccount, two_accounts["gmail"]) is None
    assert client.get(f"/api/v1/messages/{via_gmail.public_id}", headers=auth).status_code == 404
    rows = client.post("/api/v1/messages/status", headers=auth, json={"thread_ids": ["gmail-thread"]}).get_json()
    assert rows["rows"] == {"gmail-thread": {"tracked": False}}
    assert client.delete(f"/api/v1/accounts/{two_accounts['gmail']}", headers=auth).status_code == 404


def test_deleting_an_account_keeps_the_users_other_account_and_its_data(client, rt, two_accounts):
    auth, via_outlook = two_accounts["auth"], two_accounts["via_outlook"]

    client.delete(f"/api/v1/accounts/{two_accounts['gmail']}", headers=auth)

    assert tracking_rows(rt, via_outlook.id) == {"messages": 1, "hits": 2, "links": 1, "notifications": 2,
                                                 "viewing": 1}
    me = client.get("/api/v1/me", headers=auth).get_json()  # the user and their token outlive the account
    assert [(a["id"], a["provider"]) for a in me["accounts"]] == [(two_accounts["outlook"], "outlook")]
    listed = client.get("/api/v1/messages", headers=auth).get_json()["messages"]
    assert [m["subject"] for m in listed] == ["Sent from Outlook"]
    notes = client.get("/api/v1/notifications", headers=auth).get_json()
    assert {n["message_id"] for n in notes["notifications"]} == {via_outlook.public_id} and notes["unread"] == 2


def test_deleting_an_account_drops_its_click_destinations_from_redis(config, redis_url, session):
    """Redis keeps where each click leads for 90 days; a deleted message must not keep redirecting from there."""
    rt = Runtime(config.replace(redis_url=redis_url))
    app = build_app(runtime=rt)
    try:
        user_id, auth = user_with_token(rt, SENDER)
        outlook = add_account(rt, user_id, provider="outlook", address="dana@contoso.example")
        doomed = make_message(session, sender=SENDER, urls=["https://example.com/g"], account_id=account_id_of(
            rt, user_id))
        kept = make_message(session, sender=SENDER, urls=["https://example.com/o"], account_id=outlook)
        client = app.test_client()
        for message in (doomed, kept):  # the first click of each puts its destinations in Redis
            assert client.get("/c/" + tokens.sign("click", message.id, 0, keyring=rt.keyring)).status_code == 302
        assert rt.redis.exists(redis_key(doomed.id)) and rt.redis.exists(redis_key(kept.id))

        assert client.delete(f"/api/v1/accounts/{account_id_of(rt, user_id)}", headers=auth).status_code == 204

        assert not rt.redis.exists(redis_key(doomed.id))
        assert rt.redis.hget(redis_key(kept.id), "0") == b"https://example.com/o"
        # Another process (no cache of its own yet) has nowhere to send the deleted message's click.
        fresh = build_app(runtime=rt)
        gone = fresh.test_client().get("/c/" + tokens.sign("click", doomed.id, 0, keyring=rt.keyring))
        assert gone.status_code == 404 and "Location" not in gone.headers
        pipeline_of(fresh).stop()
    finally:
        pipeline_of(app).stop()
        rt.close()
