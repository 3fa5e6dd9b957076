"""Clicks as the sender's clients see them: the `tracked` and `clicked` list filters, and click state with its
times in a message's detail and in the batch status of list rows."""

import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens
from mailbeacon.tracking.networks import Networks

from ..api_support import hit_for, user_with_token
from ..factories import CHROME_UA, make_message, wait_until

SENDER = "clara@example.com"
NETWORKS = Networks.load(None)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def hits_stored(rt) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(Hit))


def subjects(client, auth, query: str) -> list[str]:
    response = client.get(f"/api/v1/messages?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return [m["subject"] for m in response.get_json()["messages"]]


def test_tracked_and_clicked_filters_pick_their_messages_from_hits_through_the_real_endpoints(client, rt, session):
    _uid, auth = user_with_token(rt, SENDER)
    made = {subject: make_message(session, sender=SENDER, subject=subject, sent_seconds_ago=age, **extra)
            for subject, age, extra in [
                ("Untracked note", 500, {"track_opens": False}),
                ("Opened only", 400, {"urls": ["https://example.com/o"]}),
                ("Opened and clicked", 300, {"urls": ["https://example.com/c"]}),
                ("Clicked by a scanner", 200, {"urls": ["https://example.com/s"]}),
                ("Links only", 100, {"urls": ["https://example.com/l"], "track_opens": False})]}

    def pixel(subject, ip):
        token = tokens.sign("open", made[subject].id, keyring=rt.keyring)
        client.get(f"/o/{token}", headers={"User-Agent": CHROME_UA}, environ_base={"REMOTE_ADDR": ip})

    def click(subject, ip, method="GET"):
        token = tokens.sign("click", made[subject].id, 0, keyring=rt.keyring)
        response = client.open(f"/c/{token}", method=method, headers={"User-Agent": CHROME_UA},
                               environ_base={"REMOTE_ADDR": ip})
        assert response.status_code == 302

    pixel("Opened only", "198.51.100.41")
    pixel("Opened and clicked", "198.51.100.42")
    click("Opened and clicked", "198.51.100.42")
    click("Clicked by a scanner", "198.51.100.43", method="HEAD")  # link checkers probe without a body
    click("Links only", "198.51.100.44")
    wait_until(lambda: hits_stored(rt) == 5)

    assert subjects(client, auth, "filter=tracked") == ["Links only", "Clicked by a scanner", "Opened and clicked",
                                                        "Opened only"]
    assert subjects(client, auth, "filter=clicked") == ["Links only", "Opened and clicked"]
    assert subjects(client, auth, "filter=all")[-1] == "Untracked note"
    # The filters narrow the search and page with it, as the plain list does.
    assert subjects(client, auth, "filter=clicked&q=opened") == ["Opened and clicked"]
    first = client.get("/api/v1/messages?filter=tracked&limit=3", headers=auth).get_json()
    rest = client.get(f"/api/v1/messages?filter=tracked&limit=3&cursor={first['next_cursor']}",
                      headers=auth).get_json()
    assert [m["subject"] for m in rest["messages"]] == ["Opened only"] and rest["next_cursor"] is None


@pytest.fixture
def thread_of_two(rt, session):
    """A sent message and a follow-up in the same Gmail thread, each with a link, and a thread only opened."""
    _uid, auth = user_with_token(rt, SENDER)
    first = make_message(session, sender=SENDER, subject="Pricing", urls=["https://example.com/pricing"],
                         thread_id="18c3000000000001", sent_seconds_ago=7200)
    follow_up = make_message(session, sender=SENDER, subject="Re: Pricing", urls=["https://example.com/call"],
                             thread_id="18c3000000000001", sent_seconds_ago=3600)
    opened = make_message(session, sender=SENDER, subject="Hello", urls=["https://example.com/hi"],
                          thread_id="18c3000000000002")
    t0 = time.time()
    record_batch(rt, [hit_for(first, at=t0), hit_for(first, type="click", link=0, at=t0 + 100),
                      hit_for(first, type="click", link=0, at=t0 + 200, ip="198.51.100.22"),
                      hit_for(follow_up, type="click", link=0, at=t0 + 300, ip="198.51.100.60"),
                      # A scanner's click, later still: it must move neither the counts nor the times.
                      hit_for(follow_up, type="click", link=0, at=t0 + 400, ip="203.0.113.9", method="HEAD"),
                      hit_for(opened, at=t0 + 50, ip="198.51.100.61")], networks=NETWORKS)
    return {"auth": auth, "first": first, "follow_up": follow_up, "t0": t0}


def test_detail_shows_the_click_state_with_its_times_and_each_links_clicks(client, thread_of_two):
    auth, t0 = thread_of_two["auth"], thread_of_two["t0"]

    first = client.get(f"/api/v1/messages/{thread_of_two['first'].public_id}", headers=auth).get_json()
    follow_up = client.get(f"/api/v1/messages/{thread_of_two['follow_up'].public_id}", headers=auth).get_json()

    assert first["clicked"] is True and first["clicks"]["count"] == 2 and first["clicks"]["machine_count"] == 0
    assert epoch(first["clicks"]["first_at"]) == pytest.approx(t0 + 100, abs=1e-3)
    assert epoch(first["clicks"]["last_at"]) == pytest.approx(t0 + 200, abs=1e-3)
    [link] = first["links"]
    assert (link["url"], link["clicks"], link["machine_clicks"]) == ("https://example.com/pricing", 2, 0)
    assert (epoch(link["first_clicked_at"]), epoch(link["last_clicked_at"])) == (
        epoch(first["clicks"]["first_at"]), epoch(first["clicks"]["last_at"]))
    clicks = [(e["kind"], e["link"], e["url"]) for e in first["timeline"] if e["type"] == "click"]
    assert clicks == [("human", 0, "https://example.com/pricing")] * 2
    # The scanner's click is on the timeline and in the machine counts, never in the human ones or their times.
    assert follow_up["clicked"] is True and follow_up["clicks"]["count"] == 1
    assert follow_up["clicks"]["machine_count"] == 1
    assert epoch(follow_up["clicks"]["last_at"]) == pytest.approx(t0 + 300, abs=1e-3)
    [link] = follow_up["links"]
    assert (link["clicks"], link["machine_clicks"]) == (1, 1)
    assert epoch(link["last_clicked_at"]) == pytest.approx(t0 + 300, abs=1e-3)
    assert [e["machine"] for e in follow_up["timeline"]] == [False, True]


def test_row_status_shows_whether_and_when_a_thread_was_last_clicked(client, thread_of_two):
    auth, t0 = thread_of_two["auth"], thread_of_two["t0"]

    rows = client.post("/api/v1/messages/status", headers=auth,
                       json={"thread_ids": ["18c3000000000001", "18c3000000000002"]}).get_json()["rows"]

    both = rows["18c3000000000001"]
    assert both["clicked"] is True and both["click_count"] == 3
    assert both["messages"] == [thread_of_two["first"].public_id, thread_of_two["follow_up"].public_id]
    assert epoch(both["last_clicked_at"]) == pytest.approx(t0 + 300, abs=1e-3)  # the latest human click
    only_opened = rows["18c3000000000002"]
    assert only_opened["opened"] is True and only_opened["clicked"] is False
    assert only_opened["click_count"] == 0 and only_opened["last_clicked_at"] is None
