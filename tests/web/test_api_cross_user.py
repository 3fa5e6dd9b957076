"""Another user's real ids on the endpoints that change things: 404 as for an id that doesn't exist, and nothing of
theirs changes. (Reads are covered in test_api.py; the Outlook send paths in tests/outlook/test_cross_user.py.)"""

import time

import pytest
from sqlalchemy import func, select

from mailbeacon.jobs import context
from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.storage.models import (ApiToken, Hit, Link, MailAccount, Notification, SenderActivity,
                                       TrackedMessage)

from ..api_support import account_id_of, hit_for, token_id_of, user_with_token
from ..factories import make_message

SHARED_THREAD = "18c2f0aa00000001"  # thread ids are the provider's: two mailboxes can hold the same one
BOBS_THREAD = "18c2f0bb00000002"


@pytest.fixture
def alice_and_bob(rt, session):
    context.use_runtime(rt)
    alice_id, alice = user_with_token(rt, "alice@example.com")
    bob_id, bob = user_with_token(rt, "bob@example.com")
    bobs_account = account_id_of(rt, bob_id)
    mine = make_message(session, sender="alice@example.com", subject="Alice's proposal", thread_id=SHARED_THREAD,
                        account_id=account_id_of(rt, alice_id))
    theirs = make_message(session, sender="bob@example.com", urls=["https://example.com/b"], subject="Bob's deal",
                          thread_id=BOBS_THREAD, account_id=bobs_account)
    theirs_shared = make_message(session, sender="bob@example.com", subject="Bob's reply", thread_id=SHARED_THREAD,
                                 account_id=bobs_account)
    return {"alice": alice, "bob": bob, "bob_id": bob_id, "bobs_account": bobs_account, "mine": mine,
            "theirs": theirs, "theirs_shared": theirs_shared}


def count(rt, model, *where) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_revoking_another_users_real_token_answers_404_and_their_token_keeps_working(client, rt, alice_and_bob):
    alice, bob = alice_and_bob["alice"], alice_and_bob["bob"]
    bobs_token = token_id_of(rt, alice_and_bob["bob_id"])

    response = client.delete(f"/api/v1/tokens/{bobs_token}", headers=alice)

    assert response.status_code == 404
    # The same answer as for an id nobody has: a real id can't be told from a made-up one.
    assert response.get_json() == client.delete("/api/v1/tokens/987654321", headers=alice).get_json()
    assert client.get("/api/v1/me", headers=bob).status_code == 200
    [listed] = client.get("/api/v1/tokens", headers=bob).get_json()["tokens"]
    assert listed["id"] == bobs_token and listed["revoked"] is False
    assert bobs_token not in [t["id"] for t in client.get("/api/v1/tokens", headers=alice).get_json()["tokens"]]
    assert count(rt, ApiToken, ApiToken.id == bobs_token, ApiToken.revoked_at.is_(None)) == 1


def test_deleting_another_users_real_account_answers_404_and_keeps_the_account_and_its_data(client, rt,
                                                                                            alice_and_bob):
    alice, bob, theirs = alice_and_bob["alice"], alice_and_bob["bob"], alice_and_bob["theirs"]
    t0 = time.time()
    process_hit_batch([hit_for(theirs, at=t0), hit_for(theirs, type="click", link=0, at=t0 + 60)])

    response = client.delete(f"/api/v1/accounts/{alice_and_bob['bobs_account']}", headers=alice)

    assert response.status_code == 404
    assert response.get_json() == client.delete("/api/v1/accounts/987654321", headers=alice).get_json()
    assert [a["id"] for a in client.get("/api/v1/me", headers=bob).get_json()["accounts"]] == [
        alice_and_bob["bobs_account"]]
    detail = client.get(f"/api/v1/messages/{theirs.public_id}", headers=bob).get_json()
    assert [(e["type"], e["kind"]) for e in detail["timeline"]] == [("open", "human"), ("click", "human")]
    assert count(rt, Hit, Hit.message_id == theirs.id) == 2
    assert count(rt, Link, Link.message_id == theirs.id) == 1
    assert count(rt, Notification, Notification.message_id == theirs.id) == 2
    assert count(rt, MailAccount, MailAccount.id == alice_and_bob["bobs_account"]) == 1


def test_viewing_another_users_thread_records_nothing_against_their_messages(client, rt, alice_and_bob):
    alice, bob = alice_and_bob["alice"], alice_and_bob["bob"]
    theirs, theirs_shared = alice_and_bob["theirs"], alice_and_bob["theirs_shared"]

    only_theirs = client.post("/api/v1/viewing", headers=alice, json={"thread_id": BOBS_THREAD})
    shared = client.post("/api/v1/viewing", headers=alice, json={"thread_id": SHARED_THREAD})

    assert only_theirs.status_code == 200 and only_theirs.get_json() == {"messages": 0}
    assert shared.get_json() == {"messages": 1}  # her own message in that thread, not Bob's
    assert count(rt, SenderActivity, SenderActivity.message_id.in_([theirs.id, theirs_shared.id])) == 0
    assert count(rt, SenderActivity, SenderActivity.user_id == alice_and_bob["bob_id"],
                 SenderActivity.activity == "viewing") == 0
    # What the signal would do if it had landed: make the recipients' opens right after it the sender's own.
    process_hit_batch([hit_for(theirs), hit_for(theirs_shared, ip="198.51.100.21")])
    for message in (theirs, theirs_shared):
        detail = client.get(f"/api/v1/messages/{message.public_id}", headers=bob).get_json()
        assert [e["kind"] for e in detail["timeline"]] == ["human"] and detail["opens"]["count"] == 1
    assert client.get("/api/v1/notifications/unread-count", headers=bob).get_json()["unread"] == 2


def test_a_gmail_send_under_another_users_idempotency_key_never_answers_with_their_message(client, rt, alice_and_bob):
    alice, theirs = alice_and_bob["alice"], alice_and_bob["theirs"]
    with rt.db.transaction() as s:
        s.get(TrackedMessage, theirs.id).idempotency_key = "compose-1-send-1"
        # Alice's Google account is disconnected, so her own send stops at the account: no job, no Gmail.
        s.scalar(select(MailAccount).where(MailAccount.address == "alice@example.com")).status = "disconnected"

    response = client.post("/api/v1/messages", headers=alice, json={
        "draft_id": "r-123456789", "seen": {"to": ["x@example.org"]}, "idempotency_key": "compose-1-send-1"})

    assert response.status_code == 409 and response.get_json()["error"]["code"] == "account_disconnected"
    assert theirs.public_id not in response.get_data(as_text=True)


def test_changing_ones_settings_leaves_another_users_alone(client, alice_and_bob):
    alice, bob = alice_and_bob["alice"], alice_and_bob["bob"]
    before = client.get("/api/v1/settings", headers=bob).get_json()

    client.patch("/api/v1/settings", headers=alice, json={"tracking": {"opens": False, "notifications": False},
                                                         "notifications": {"every_open": True, "clicks": False}})

    assert client.get("/api/v1/settings", headers=bob).get_json() == before
    assert before["tracking"] == {"opens": True, "clicks": True, "notifications": True}
