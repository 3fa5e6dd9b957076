import time

from sqlalchemy import select

from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage.models import DoNotTrack, TrackedMessage
from mailbeacon.tracking import tokens
from mailbeacon.tracking.networks import Networks

from ..factories import make_message


def test_optout_page_asks_before_changing_anything(client, rt, session):
    message = make_message(session, recipients=["ayse@example.org", "can@example.net"])
    path = "/u/" + tokens.sign("optout", message.id, keyring=rt.keyring)
    response = client.get(path)
    assert response.status_code == 200 and b"<form method=post>" in response.data
    assert "Set-Cookie" not in response.headers
    session.expire_all()
    assert session.get(TrackedMessage, message.id).opted_out_at is None


def test_optout_post_stops_recording_and_future_tracking(client, rt, session):
    message = make_message(session, recipients=["ayse@example.org", "can@example.net"])
    path = "/u/" + tokens.sign("optout", message.id, keyring=rt.keyring)
    assert client.post(path).status_code == 200
    session.expire_all()
    assert session.get(TrackedMessage, message.id).opted_out_at is not None
    patterns = set(session.scalars(select(DoNotTrack.pattern).where(DoNotTrack.user_id.is_(None))))
    assert patterns == {"ayse@example.org", "can@example.net"}
    hit = {"uid": "u1", "at": time.time(), "type": "open", "message_id": message.id, "method": "GET",
           "user_agent": "Mozilla/5.0", "ip": "198.51.100.1", "headers": {}}
    assert record_batch(rt, [hit], networks=Networks.load(None)).stored == 0
    assert client.post(path).status_code == 200  # twice is fine


def test_optout_with_a_forged_or_click_token_changes_nothing(client, rt, session):
    message = make_message(session)
    for token in ("A" * 26, tokens.sign("click", message.id, 0, keyring=rt.keyring),
                  tokens.sign("open", message.id, keyring=rt.keyring)):
        assert client.post(f"/u/{token}").status_code == 404
    session.expire_all()
    assert session.get(TrackedMessage, message.id).opted_out_at is None
