"""The sender's notification settings, changed through the API, decide which human opens and clicks are stored on
the bell and published to their live clients: notifications off, clicks off, first open only or every open."""

import time
from dataclasses import dataclass, field

import pytest

from mailbeacon.jobs import context
from mailbeacon.jobs.hits import process_hit_batch

from ..api_support import hit_for, user_with_token
from ..factories import make_message

SENDER = "nils@example.com"


@dataclass
class Sender:
    client: object
    auth: dict
    message: object
    published: list = field(default_factory=list)  # what reached the sender's live clients

    def change(self, settings: dict) -> dict:
        response = self.client.patch("/api/v1/settings", headers=self.auth, json=settings)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def stored(self) -> list[str]:
        """The bell: the events stored for this sender, oldest first."""
        listing = self.client.get("/api/v1/notifications", headers=self.auth).get_json()
        return [n["event"] for n in reversed(listing["notifications"])]

    def live(self) -> list[str]:
        return [event["event"] for event in self.published]


@pytest.fixture
def sender(client, rt, session):
    """A sender listening on the in-process broker, as their stream would, with hits run through the hit job."""
    context.use_runtime(rt)
    user_id, auth = user_with_token(rt, SENDER)
    message = make_message(session, sender=SENDER, urls=["https://example.com/offer"])
    who = Sender(client, auth, message)
    unsubscribe = rt.broker.subscribe(user_id, who.published.append)
    yield who
    unsubscribe()


def test_with_notifications_off_human_opens_and_clicks_are_recorded_but_notify_nobody(sender):
    assert sender.change({"tracking": {"notifications": False}})["tracking"]["notifications"] is False
    t0 = time.time()

    done = process_hit_batch([hit_for(sender.message, at=t0),
                              hit_for(sender.message, type="click", link=0, at=t0 + 60)])

    assert done["kinds"] == {"human": 2}  # the setting kept them quiet, not the classifier
    assert sender.stored() == []
    assert sender.live() == []
    assert sender.client.get("/api/v1/notifications/unread-count", headers=sender.auth).get_json()["unread"] == 0
    detail = sender.client.get(f"/api/v1/messages/{sender.message.public_id}", headers=sender.auth).get_json()
    assert (detail["opens"]["count"], detail["clicks"]["count"]) == (1, 1)


def test_with_notifications_back_on_the_next_human_open_notifies_again(sender):
    t0 = time.time()
    sender.change({"tracking": {"notifications": False}})
    process_hit_batch([hit_for(sender.message, at=t0)])

    sender.change({"tracking": {"notifications": True}, "notifications": {"every_open": True}})
    process_hit_batch([hit_for(sender.message, at=t0 + 600, ip="198.51.100.90")])

    assert sender.stored() == ["open"] and sender.live() == ["open"]


def test_with_clicks_off_a_human_click_notifies_nobody_but_an_open_still_does(sender):
    assert sender.change({"notifications": {"clicks": False}})["notifications"]["clicks"] is False
    t0 = time.time()

    clicked = process_hit_batch([hit_for(sender.message, type="click", link=0, at=t0)])
    opened = process_hit_batch([hit_for(sender.message, at=t0 + 60, ip="198.51.100.91")])

    assert clicked["kinds"] == {"human": 1} and opened["kinds"] == {"human": 1}
    assert sender.stored() == ["open"] and sender.live() == ["open"]


def test_clicks_notify_by_default(sender):
    process_hit_batch([hit_for(sender.message, type="click", link=0)])

    assert sender.stored() == ["click"] and sender.live() == ["click"]
    [note] = sender.published
    assert note["link"] == "https://example.com/offer" and note["message_id"] == sender.message.public_id


def test_only_the_first_open_notifies_until_the_sender_asks_for_every_open(sender):
    t0 = time.time()
    assert sender.change({})["notifications"]["every_open"] is False  # the default

    process_hit_batch([hit_for(sender.message, at=t0)])
    process_hit_batch([hit_for(sender.message, at=t0 + 600, ip="198.51.100.92")])
    assert sender.stored() == ["open"] and sender.live() == ["open"]

    assert sender.change({"notifications": {"every_open": True}})["notifications"]["every_open"] is True
    process_hit_batch([hit_for(sender.message, at=t0 + 1200, ip="198.51.100.93")])
    process_hit_batch([hit_for(sender.message, at=t0 + 1800, ip="198.51.100.94")])
    assert sender.stored() == ["open"] * 3 and sender.live() == ["open"] * 3

    # And back: once an open has been notified, later ones are quiet again.
    sender.change({"notifications": {"every_open": False}})
    process_hit_batch([hit_for(sender.message, at=t0 + 2400, ip="198.51.100.95")])
    assert len(sender.stored()) == 3 and len(sender.live()) == 3
