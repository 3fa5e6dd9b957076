"""The sender's API: what each user may see, the list, detail, row status, settings and notifications."""

import time

import pytest
from sqlalchemy import select

from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage.models import Notification, TrackedMessage, User
from mailbeacon.tracking.networks import Networks

from ..api_support import user_with_token
from ..factories import CHROME_UA, make_message

NETWORKS = Networks.load(None)


@pytest.fixture
def two_users(rt, session):
    alice_id, alice = user_with_token(rt, "alice@example.com")
    bob_id, bob = user_with_token(rt, "bob@example.com")
    mine = make_message(session, sender="alice@example.com", recipients=["x@example.org", "y@example.org"],
                        urls=["https://example.com/a"], subject="Alice's proposal")
    theirs = make_message(session, sender="bob@example.com", urls=["https://example.com/b"], subject="Bob's deal")
    with rt.db.transaction() as s:
        s.get(TrackedMessage, mine.id).provider_thread_id = "18c2f0aa00000001"
        s.get(TrackedMessage, theirs.id).provider_thread_id = "18c2f0bb00000002"
    return {"alice": alice, "bob": bob, "mine": mine, "theirs": theirs}


def open_hit(message, at=None, ua=CHROME_UA, ip="198.51.100.20"):
    return {"uid": f"u{time.time_ns()}", "at": at or time.time(), "type": "open", "message_id": message.id,
            "method": "GET", "user_agent": ua, "ip": ip, "headers": {}}


def test_every_endpoint_refuses_requests_without_a_token(client):
    for method, path in [("get", "/api/v1/me"), ("get", "/api/v1/messages"), ("get", "/api/v1/messages/x"),
                         ("post", "/api/v1/messages/status"), ("post", "/api/v1/messages/x/viewing"),
                         ("get", "/api/v1/settings"), ("patch", "/api/v1/settings"),
                         ("get", "/api/v1/notifications"), ("post", "/api/v1/notifications/read"),
                         ("get", "/api/v1/stream"), ("delete", "/api/v1/me"), ("get", "/api/v1/tokens")]:
        response = getattr(client, method)(path)
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_user_never_sees_another_users_message_whatever_the_ids_say(client, rt, two_users):
    alice, theirs = two_users["alice"], two_users["theirs"]
    assert client.get(f"/api/v1/messages/{theirs.public_id}", headers=alice).status_code == 404
    assert client.post(f"/api/v1/messages/{theirs.public_id}/viewing", headers=alice).status_code == 404
    rows = client.post("/api/v1/messages/status", headers=alice,
                       json={"thread_ids": ["18c2f0bb00000002"]}).get_json()["rows"]
    assert rows == {"18c2f0bb00000002": {"tracked": False}}
    listed = client.get("/api/v1/messages", headers=alice).get_json()["messages"]
    assert [m["subject"] for m in listed] == ["Alice's proposal"]
    assert client.get("/api/v1/messages?q=Bob", headers=alice).get_json()["messages"] == []
    assert client.delete("/api/v1/accounts/999999", headers=alice).status_code == 404


def test_notifications_of_other_users_cannot_be_read_or_marked(client, rt, two_users):
    record_batch(rt, [open_hit(two_users["theirs"])], networks=NETWORKS)
    alice, bob = two_users["alice"], two_users["bob"]
    assert client.get("/api/v1/notifications", headers=alice).get_json()["notifications"] == []
    with rt.db.session() as s:
        note_id = s.scalar(select(Notification.id))
    marked = client.post("/api/v1/notifications/read", headers=alice, json={"ids": [note_id]}).get_json()
    assert marked["marked"] == 0
    assert client.get("/api/v1/notifications/unread-count", headers=bob).get_json()["unread"] == 1


def test_list_filters_search_and_pages_newest_first(client, rt, session):
    _uid, auth = user_with_token(rt, "pager@example.com")
    made = [make_message(session, sender="pager@example.com", subject=f"Offer {i}",
                         recipients=[f"buyer{i}@example.org"], sent_seconds_ago=1000 - i) for i in range(7)]
    record_batch(rt, [open_hit(made[2])], networks=NETWORKS)
    first = client.get("/api/v1/messages?limit=3", headers=auth).get_json()
    assert [m["subject"] for m in first["messages"]] == ["Offer 6", "Offer 5", "Offer 4"]
    second = client.get(f"/api/v1/messages?limit=3&cursor={first['next_cursor']}", headers=auth).get_json()
    assert [m["subject"] for m in second["messages"]] == ["Offer 3", "Offer 2", "Offer 1"]
    third = client.get(f"/api/v1/messages?limit=3&cursor={second['next_cursor']}", headers=auth).get_json()
    assert [m["subject"] for m in third["messages"]] == ["Offer 0"] and third["next_cursor"] is None
    opened = client.get("/api/v1/messages?filter=opened", headers=auth).get_json()["messages"]
    assert [m["subject"] for m in opened] == ["Offer 2"]
    not_opened = client.get("/api/v1/messages?filter=not_opened", headers=auth).get_json()["messages"]
    assert len(not_opened) == 6
    found = client.get("/api/v1/messages?q=BUYER5", headers=auth).get_json()["messages"]
    assert [m["subject"] for m in found] == ["Offer 5"]
    assert client.get("/api/v1/messages?q=100%25_off", headers=auth).get_json()["messages"] == []
    assert client.get("/api/v1/messages?cursor=garbage", headers=auth).status_code == 400
    assert client.get("/api/v1/messages?filter=nope", headers=auth).status_code == 400


def test_detail_has_the_timeline_links_and_honest_wording_for_shared_pixels(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    record_batch(rt, [open_hit(mine), {**open_hit(mine, at=time.time() + 30), "method": "HEAD"}],
                 networks=NETWORKS)
    detail = client.get(f"/api/v1/messages/{mine.public_id}", headers=alice).get_json()
    assert detail["wording"].startswith("Opened — we can't tell by whom")
    assert detail["shared_pixel"] is True
    kinds = [(e["kind"], e["machine"]) for e in detail["timeline"]]
    assert ("human", False) in kinds and ("scanner", True) in kinds
    assert all("ip" not in e for e in detail["timeline"])
    assert detail["links"] == [{"index": 0, "url": "https://example.com/a", "clicks": 0, "machine_clicks": 0,
                                "first_clicked_at": None, "last_clicked_at": None}]


def test_row_status_answers_for_every_row_in_one_call(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    record_batch(rt, [open_hit(mine)], networks=NETWORKS)
    ids = ["18c2f0aa00000001", "18c2f0cc00000003"]
    rows = client.post("/api/v1/messages/status", headers=alice, json={"thread_ids": ids}).get_json()["rows"]
    assert rows["18c2f0aa00000001"]["tracked"] and rows["18c2f0aa00000001"]["opened"]
    assert rows["18c2f0aa00000001"]["open_count"] == 1 and rows["18c2f0aa00000001"]["last_opened_at"]
    assert rows["18c2f0cc00000003"] == {"tracked": False}
    too_many = client.post("/api/v1/messages/status", headers=alice, json={"thread_ids": [str(i) for i in range(101)]})
    assert too_many.status_code == 400


def test_viewing_signal_makes_the_next_hit_the_senders_own(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    assert client.post(f"/api/v1/messages/{mine.public_id}/viewing", headers=alice).status_code == 204
    record_batch(rt, [open_hit(mine)], networks=NETWORKS)
    detail = client.get(f"/api/v1/messages/{mine.public_id}", headers=alice).get_json()
    assert detail["timeline"][0]["kind"] == "self" and detail["opens"]["count"] == 0
    by_thread = client.post("/api/v1/viewing", headers=alice, json={"thread_id": "18c2f0aa00000001"})
    assert by_thread.get_json() == {"messages": 1}


def test_settings_round_trip_and_reject_nonsense(client, rt, two_users):
    alice = two_users["alice"]
    assert client.get("/api/v1/settings", headers=alice).get_json()["tracking"]["opens"] is True
    changed = client.patch("/api/v1/settings", headers=alice, json={
        "tracking": {"opens": False}, "notifications": {"every_open": True, "quiet_hours":
                                                        {"start": "22:00", "end": "07:30"},
                                                        "timezone": "Europe/Istanbul"}}).get_json()
    assert changed["tracking"]["opens"] is False
    assert changed["composer_defaults"]["show_opens_toggle"] is False and changed["composer_defaults"]["track_opens"] is False
    assert changed["notifications"]["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    for bad in ({"tracking": {"opens": "yes"}}, {"nope": {}}, {"notifications": {"timezone": "Mars/Base"}},
                {"notifications": {"quiet_hours": {"start": "25:00", "end": "07:00"}}}, [1, 2]):
        assert client.patch("/api/v1/settings", headers=alice, json=bad).status_code == 400, bad


def test_marking_notifications_read_one_or_all(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    from mailbeacon.storage.users import settings_for

    with rt.db.transaction() as s:
        settings_for(s, mine.user_id).notify_every_open = True
    t0 = time.time()
    record_batch(rt, [open_hit(mine, at=t0), open_hit(mine, at=t0 + 100, ip="198.51.100.77"),
                      open_hit(mine, at=t0 + 200, ip="198.51.100.78")], networks=NETWORKS)
    listing = client.get("/api/v1/notifications", headers=alice).get_json()
    assert listing["unread"] == 3 and len(listing["notifications"]) == 3
    first = listing["notifications"][-1]["id"]
    assert client.post("/api/v1/notifications/read", headers=alice, json={"ids": [first]}).get_json()["unread"] == 2
    assert client.post("/api/v1/notifications/read", headers=alice, json={"all": True}).get_json()["unread"] == 0
    catch_up = client.get(f"/api/v1/notifications?after={first}", headers=alice).get_json()["notifications"]
    assert [n["id"] for n in catch_up] == sorted(n["id"] for n in listing["notifications"][:-1])


def test_deleting_the_user_deletes_their_tracking_data(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    record_batch(rt, [open_hit(mine)], networks=NETWORKS)
    assert client.delete("/api/v1/me", headers=alice).status_code == 204
    with rt.db.session() as s:
        assert s.get(TrackedMessage, mine.id) is None
        assert s.scalar(select(Notification).where(Notification.user_id == mine.user_id)) is None
        assert s.scalar(select(User).where(User.email == "bob@example.com")) is not None
    assert client.get("/api/v1/me", headers=alice).status_code == 401


def test_rate_limit_per_token(rt, session):
    from mailbeacon.runtime import Runtime
    from mailbeacon.web.app import build_app

    limited = Runtime(rt.config.replace(api_rate_per_minute=3))
    app = build_app(runtime=limited)
    _uid, auth = user_with_token(limited, "busy@example.com")
    codes = [app.test_client().get("/api/v1/me", headers=auth).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    response = app.test_client().get("/api/v1/me", headers=auth)
    assert response.headers["Retry-After"].isdigit()
    limited.close()


def test_cors_allows_only_the_configured_client_origins(rt):
    from mailbeacon.runtime import Runtime
    from mailbeacon.web.app import build_app

    configured = Runtime(rt.config.replace(extension_ids=("abcdefghijklmnopabcdefghijklmnop",),
                                           cors_origins=("https://addin.example.com",)))
    client = build_app(runtime=configured).test_client()
    ok = client.options("/api/v1/me", headers={"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
                                                "Access-Control-Request-Method": "GET"})
    assert ok.headers.get("Access-Control-Allow-Origin") == "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    assert "Access-Control-Allow-Credentials" not in ok.headers
    evil = client.options("/api/v1/me", headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    configured.close()


def test_quiet_hours_mark_notifications_quiet_but_still_store_them(client, rt, two_users):
    mine, alice = two_users["mine"], two_users["alice"]
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    start, end = f"{(now.hour - 1) % 24:02d}:00", f"{(now.hour + 1) % 24:02d}:00"
    client.patch("/api/v1/settings", headers=alice, json={"notifications": {"quiet_hours": {"start": start, "end": end},
                                                                             "timezone": "UTC"}})
    record_batch(rt, [open_hit(mine)], networks=NETWORKS)
    [note] = client.get("/api/v1/notifications", headers=alice).get_json()["notifications"]
    assert note["quiet"] is True


def test_first_requests_of_a_new_user_racing_for_settings_both_succeed(rt):
    import threading

    from mailbeacon.web.app import build_app

    _uid, auth = user_with_token(rt, "racer@example.com")
    app = build_app(runtime=rt)
    codes = []

    def call(path):
        codes.append(app.test_client().get(path, headers=auth).status_code)

    threads = [threading.Thread(target=call, args=(p,)) for p in ("/api/v1/me", "/api/v1/settings") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8


def test_me_tells_the_client_where_tracking_urls_point(client, rt, two_users):
    assert client.get("/api/v1/me", headers=two_users["alice"]).get_json()["tracking_base_url"] == rt.config.public_url


def test_nul_characters_are_refused_before_any_query(client, two_users):
    alice = two_users["alice"]
    assert client.post("/api/v1/messages/status", headers=alice,
                       json={"thread_ids": ["18c2\u0000aa"]}).status_code == 400
    assert client.get("/api/v1/messages?q=a%00b", headers=alice).status_code == 400
    assert client.get("/api/v1/messages/ab%00cd", headers=alice).status_code == 400
    assert client.post("/api/v1/viewing", headers=alice, data=b'{"thread_id": "x\\u0000"}',
                       content_type="application/json").status_code == 400
