"""The Outlook paths never touch another user's items: not their messages (by idempotency key or public id), not
their drafts in Exchange (by REST id). Two people signed in through the Microsoft stand-in, each with a mailbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbeacon.config import Config
from mailbeacon.jobs import context
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Link, TrackedMessage, User
from mailbeacon.web.app import build_app, pipeline_of

from .conftest import PERSONAL, WORK, bearer, save_draft, seen_for, sso_sign_in
from .test_prepare import prepare
from .test_send_graph import draft_body, run_until_done

KEY = "compose-1-send-1"  # both add-ins count their compose windows the same way: keys collide across users


def row(rt, public_id: str) -> dict:
    """What a message is, as far as another user's request could change it."""
    with rt.db.session() as s:
        m = s.scalar(select(TrackedMessage).where(TrackedMessage.public_id == public_id))
        links = [(link.position, link.url) for link in s.scalars(
            select(Link).where(Link.message_id == m.id, Link.is_honeypot.is_(False)).order_by(Link.position))]
        owner = s.get(User, m.user_id).email
        return {"id": m.id, "owner": owner, "status": m.status, "status_detail": m.status_detail,
                "account_id": m.account_id, "draft": m.provider_draft_id, "sent_id": m.provider_message_id,
                "digest": m.tracked_digest, "seen": dict(m.client_seen or {}), "links": links}


@pytest.fixture
def alice_and_bob(signed_in, ms):
    """(rt, client, Alice's auth, Bob's auth): Alice on a work account, Bob on a personal one."""
    rt, _app, client, alice = signed_in
    return rt, client, alice, bearer(sso_sign_in(client, ms, upn=PERSONAL))


@pytest.fixture
def queued(outlook_env, redis_url, ms):
    """The same two people on a backend whose send jobs wait in RQ until the test runs them, with sleeps that
    return at once: a send that can't find its draft retries for minutes, and must not do so behind the test."""
    rt = Runtime(Config.from_env({**outlook_env, "MAILBEACON_REDIS_URL": redis_url}))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    client = app.test_client()
    alice, bob = bearer(sso_sign_in(client, ms, upn=WORK)), bearer(sso_sign_in(client, ms, upn=PERSONAL))
    yield rt, client, alice, bob
    pipeline_of(app).stop()
    rt.close()


def send(rt, client, auth, item_id: str, key: str = KEY) -> dict:
    """The add-in's send through Graph, then the job it queued, run to its end."""
    response = client.post("/api/v1/outlook/messages", headers=auth,
                           json={"item_id": item_id, "seen": seen_for(), "idempotency_key": key})
    assert response.status_code == 202, response.get_json()
    public_id = response.get_json()["id"]
    status, _retries = run_until_done(rt, row(rt, public_id)["id"])
    assert row(rt, public_id)["status"] == status
    return row(rt, public_id) | {"public_id": public_id}


def test_preparing_under_another_users_idempotency_key_prepares_a_message_of_ones_own(alice_and_bob):
    rt, client, alice, bob = alice_and_bob
    bobs = prepare(client, bob, key=KEY)
    before = row(rt, bobs["message"]["id"])

    alices = prepare(client, alice, key=KEY, html='<p>Mine: <a href="https://example.com/alice">this</a></p>')

    assert alices["message"]["id"] != bobs["message"]["id"]
    assert alices["body"]["content"] != bobs["body"]["content"]
    assert row(rt, bobs["message"]["id"]) == before
    mine = row(rt, alices["message"]["id"])
    assert mine["owner"] == WORK and mine["links"] == [(0, "https://example.com/alice")]
    assert client.get(f"/api/v1/messages/{bobs['message']['id']}", headers=alice).status_code == 404


def test_signalling_that_another_users_prepared_message_was_sent_answers_404_and_changes_nothing(alice_and_bob):
    rt, client, alice, bob = alice_and_bob
    bobs = prepare(client, bob)
    before = row(rt, bobs["message"]["id"])

    response = client.post(f"/api/v1/messages/{bobs['message']['id']}/prepared-sent", headers=alice)

    assert response.status_code == 404
    assert response.get_json() == client.post("/api/v1/messages/not-a-real-id/prepared-sent",
                                              headers=alice).get_json()
    after = row(rt, bobs["message"]["id"])
    assert after == before and "client_sent_at" not in after["seen"]


def test_an_outlook_send_under_another_users_idempotency_key_sends_ones_own_draft(queued, ms):
    rt, client, alice, bob = queued
    bobs_draft, alices_draft = save_draft(ms, upn=PERSONAL), save_draft(ms, upn=WORK)
    bobs = send(rt, client, bob, bobs_draft.rest_id)

    alices = send(rt, client, alice, alices_draft.rest_id)

    assert alices["public_id"] != bobs["public_id"]
    assert (alices["owner"], alices["status"], alices["sent_id"]) == (WORK, "sent", alices_draft.immutable_id)
    assert row(rt, bobs["public_id"]) == {k: v for k, v in bobs.items() if k != "public_id"}
    assert [m["id"] for m in ms.state.sent_messages(PERSONAL)] == [bobs_draft.immutable_id]
    assert [m["id"] for m in ms.state.sent_messages(WORK)] == [alices_draft.immutable_id]


def test_an_outlook_send_naming_another_users_draft_never_touches_it(queued, ms):
    rt, client, alice, _bob = queued
    bobs_draft = save_draft(ms, upn=PERSONAL)
    as_written = draft_body(ms, bobs_draft, upn=PERSONAL)

    alices = send(rt, client, alice, bobs_draft.rest_id)

    # Graph looks the id up in the caller's own mailbox only: to Alice's send, Bob's draft doesn't exist.
    assert alices["status"] == "failed" and alices["status_detail"].startswith("draft_missing")
    assert draft_body(ms, bobs_draft, upn=PERSONAL) == as_written
    assert ms.state.sent_messages(PERSONAL) == [] and ms.state.sent_messages(WORK) == []
