"""What one API call costs the database: the token and its user in one query, the answer in one more, writes only
when due, and no transaction around a read. Plus the cursor's row-value comparison across equal timestamps."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update

from mailbeacon.storage.models import ApiToken, SenderActivity, TrackedMessage
from mailbeacon.web.apiauth import FOOTPRINT_EVERY_SECONDS

from ..api_support import user_with_token
from ..factories import make_message


@contextmanager
def statements(rt):
    """Every statement the app sends (BEGIN, COMMIT and pings go past cursors: see the PostgreSQL test below)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", record)


@pytest.fixture
def sender(rt, session):
    user_id, auth = user_with_token(rt, "counted@example.com")
    for i in range(3):
        message = make_message(session, sender="counted@example.com", subject=f"Offer {i}", sent_seconds_ago=100 - i)
        session.execute(update(TrackedMessage).where(TrackedMessage.id == message.id)
                        .values(provider_thread_id=f"thread-{i}"))
    session.commit()
    return user_id, auth


def _due_again(app, rt, user_id):
    """As if the token was last used, and the footprint last left, longer ago than either is written."""
    footprints = app.extensions["mailbeacon.footprints"]
    for key in [k for k in footprints if k[0] == user_id]:
        footprints[key] -= FOOTPRINT_EVERY_SECONDS + 1
    with rt.db.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == user_id)
                  .values(last_used_at=datetime.now(timezone.utc) - timedelta(minutes=6)))


def test_a_list_or_status_call_is_two_statements_when_no_write_is_due(client, rt, sender):
    _uid, auth = sender
    assert client.get("/api/v1/messages", headers=auth).status_code == 200  # the first call writes both
    with statements(rt) as listed:
        assert len(client.get("/api/v1/messages", headers=auth).get_json()["messages"]) == 3
    with statements(rt) as status:
        rows = client.post("/api/v1/messages/status", headers=auth,
                           json={"thread_ids": ["thread-0", "unknown"]}).get_json()["rows"]
    assert rows["thread-0"]["tracked"] and rows["unknown"] == {"tracked": False}
    for sent in (listed, status):
        assert len(sent) == 2, sent
        assert "JOIN users" in sent[0] and "api_tokens.token_hash" in sent[0]
        assert sent[1].startswith("SELECT") and "FROM tracked_messages" in sent[1]
    # Only the columns the answer shows: not the client's JSON, not the send job's stash.
    assert "client_seen" not in listed[1] and "stashed_original" not in listed[1]


def test_last_use_and_the_senders_footprint_are_still_written_when_due(app, client, rt, sender):
    user_id, auth = sender
    with statements(rt) as first:
        client.get("/api/v1/messages", headers=auth)
    assert [s.split()[0] for s in first] == ["SELECT", "UPDATE", "INSERT", "SELECT"]
    with rt.db.session() as s:
        used = s.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == user_id))
        footprints = s.scalars(select(SenderActivity.at_epoch).where(SenderActivity.user_id == user_id,
                                                                     SenderActivity.activity == "api")).all()
    assert datetime.now(timezone.utc) - used < timedelta(seconds=30) and len(footprints) == 1

    _due_again(app, rt, user_id)
    with statements(rt) as again:
        client.get("/api/v1/messages", headers=auth)
    assert [s.split()[0] for s in again] == ["SELECT", "UPDATE", "INSERT", "SELECT"]
    with rt.db.session() as s:
        used_now = s.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == user_id))
        assert s.query(SenderActivity).filter_by(user_id=user_id, activity="api").count() == 2
    assert datetime.now(timezone.utc) - used_now < timedelta(seconds=30)


def test_a_view_that_writes_still_commits_on_the_calls_connection(client, rt, sender):
    user_id, auth = sender
    with rt.db.session() as s:
        public_id = s.scalar(select(TrackedMessage.public_id).where(TrackedMessage.subject == "Offer 1"))
    assert client.post(f"/api/v1/messages/{public_id}/viewing", headers=auth).status_code == 204
    assert client.post("/api/v1/viewing", headers=auth, json={"thread_id": "thread-2"}).get_json() == {"messages": 1}
    with rt.db.session() as s:
        assert s.query(SenderActivity).filter_by(user_id=user_id, activity="viewing").count() == 2
    # A refused change leaves nothing half done, and the next read on a fresh call still works.
    assert client.patch("/api/v1/settings", headers=auth,
                        json={"tracking": {"opens": False, "clicks": "no"}}).status_code == 400
    assert client.get("/api/v1/settings", headers=auth).get_json()["tracking"]["opens"] is True


def test_cursor_pages_cross_equal_timestamps_without_losing_or_repeating_a_message(client, rt, session):
    _uid, auth = user_with_token(rt, "ties@example.com")
    made = [make_message(session, sender="ties@example.com", subject=f"m{i}", sent_seconds_ago=500) for i in range(9)]
    same = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=timezone.utc)
    earlier = same - timedelta(microseconds=1)
    # Seven messages sent in the same microsecond (a bulk send), one just before, one just after.
    stamps = [same + timedelta(seconds=1)] + [same] * 7 + [earlier]
    for message, stamp in zip(made, stamps):
        session.execute(update(TrackedMessage).where(TrackedMessage.id == message.id).values(created_at=stamp))
    session.commit()
    newest_first = sorted(zip(stamps, made), key=lambda pair: (pair[0], pair[1].id), reverse=True)
    expected = [message.public_id for _stamp, message in newest_first]
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/messages?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth).get_json()
        seen += [m["id"] for m in page["messages"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 5


def test_a_read_sends_no_begin_commit_or_ping_to_postgresql(client, rt, sender, database_template, tmp_path):
    """The wire itself, as libpq traces it: a statement is one round trip (one Sync or simple Query)."""
    if database_template["kind"] != "postgresql":
        pytest.skip("round trips on the wire are PostgreSQL's; SQLite is in-process")
    _uid, auth = sender
    client.get("/api/v1/messages", headers=auth)  # connects, and writes last use and footprint
    trace = tmp_path / "libpq.trace"
    sink = trace.open("w")

    def traced(dbapi_conn, _record, _proxy):
        dbapi_conn.pgconn.trace(sink.fileno())

    def untraced(dbapi_conn, _record):
        if dbapi_conn is not None:
            dbapi_conn.pgconn.untrace()

    event.listen(rt.db.engine, "checkout", traced, insert=True)  # before the idle ping, to see one if it is sent
    event.listen(rt.db.engine, "checkin", untraced)
    try:
        for _ in range(3):
            assert client.get("/api/v1/messages", headers=auth).status_code == 200
            assert client.post("/api/v1/messages/status", headers=auth,
                               json={"thread_ids": ["thread-1"]}).status_code == 200
    finally:
        event.remove(rt.db.engine, "checkout", traced)
        event.remove(rt.db.engine, "checkin", untraced)
        sink.close()
    frontend = [line.split("\t")[1:] for line in trace.read_text().splitlines()]
    frontend = [fields for fields in frontend if fields and fields[0] == "F"]
    round_trips, current = [], []
    for _f, _length, kind, *rest in frontend:
        current.append((kind, " ".join(rest).strip()))
        if kind in ("Sync", "Query"):
            round_trips.append(current)
            current = []
    # psycopg prepares a statement on its fifth run on a connection: a one-off Parse, after which it sends less.
    queries = [trip for trip in round_trips if not (len(trip) == 2 and trip[0][0] == "Parse"
                                                     and trip[0][1].startswith('"_pg3_'))]
    described = "\n".join(" | ".join(f"{kind} {text[:60]}" for kind, text in trip) for trip in queries)
    assert len(queries) == 2 * 6, described
    assert all(trip[0][0] in ("Parse", "Bind") for trip in queries), described  # no BEGIN, COMMIT or ping
    assert all("SELECT" in trip[0][1] or trip[0][0] == "Bind" for trip in queries), described
