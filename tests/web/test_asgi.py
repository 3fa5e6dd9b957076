"""The asyncio front `mailbeacon serve` runs (web/asgi.py), driven through the ASGI interface itself.

The hit endpoints must answer exactly what the WSGI path answers, hand the hit on before the answer, and never
guess a destination; everything else must reach the Flask application intact through the WSGI bridge (bodies in
pieces, streamed answers, a client that leaves mid-stream).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from flask import Response, request, stream_with_context

from mailbeacon.config import Config
from mailbeacon.jobs import handoff
from mailbeacon.jobs.handoff import AsyncGroupCommitter
from mailbeacon.jobs.spool import Spool
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Link, TrackedMessage, User
from mailbeacon.tracking import tokens
from mailbeacon.web.app import build_app, pipeline_of
from mailbeacon.web.asgi import AsgiFront
from mailbeacon.web.destinations import CachedLookup
from mailbeacon.web.hits import NOT_FOUND_PAGE, PIXEL_GIF

from ..factories import CHROME_UA

URLS = ["https://example.com/reset?token=a%2Fb%3D&user=42", "https://bücher.example/straße?q=ü"]


@pytest.fixture
def message(session):
    user = User(email="sender@example.com")
    session.add(user)
    session.flush()
    msg = TrackedMessage(user_id=user.id, subject="Hi", recipients=["a@example.org"], track_opens=True,
                         track_clicks=True)
    session.add(msg)
    session.flush()
    for i, url in enumerate(URLS):
        session.add(Link(message_id=msg.id, position=i, url=url))
    session.commit()
    return msg


class Recorder:
    """A batch writer that keeps what it was handed; can hold batches back until released."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[list[dict]] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, batch: list[dict]) -> None:
        self.entered.set()
        self.release.wait(10)
        self.batches.append(list(batch))

    @property
    def hits(self) -> list[dict]:
        return [hit for batch in self.batches for hit in batch]


@pytest.fixture
def echo_app(rt):
    """The real application, plus two routes of the test's own to look at what the bridge hands over."""
    app = build_app(runtime=rt)
    closed = threading.Event()

    @app.route("/_echo/<path:rest>", methods=["GET", "POST", "HEAD"])
    def echo(rest):
        body = request.get_data()
        return {"rest": rest, "path_info": request.environ["PATH_INFO"], "query": request.query_string.decode(),
                "length": len(body), "head": body[:40].decode("latin-1"), "method": request.method,
                "forwarded": request.environ.get("HTTP_X_FORWARDED_FOR"),
                "cookie": request.environ.get("HTTP_COOKIE"), "remote": request.remote_addr,
                "content_type": request.content_type}

    @app.get("/_stream")
    def stream():
        def chunks():
            try:
                for n in range(100_000):
                    yield f"data: {n}\n\n".encode()
                    time.sleep(0.01)
            finally:
                closed.set()
        return Response(stream_with_context(chunks()), mimetype="text/event-stream")

    app.extensions["test.stream_closed"] = closed
    return app


def front_for(app, threads: int = 4) -> AsgiFront:
    """The front over the app, its hits kept by a Recorder (front.recorder) rather than stored: the embedded worker
    writing them to the database would race the test's own clean-up."""
    front = AsgiFront(app.wsgi_app, app.wsgi_app, pipeline_of(app), threads=threads)
    front.recorder = Recorder()
    front.pipeline.async_committer = AsyncGroupCommitter(front.recorder, Spool("/nonexistent-never-written"))
    return front


def http_scope(path: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None,
               query: bytes = b"", raw_path: bytes | None = None) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": raw_path if raw_path is not None else path.encode(), "query_string": query,
            "root_path": "", "client": ("198.51.100.7", 50123), "server": ("127.0.0.1", 8025),
            "headers": headers if headers is not None else [(b"host", b"t.mailbeacon.test"),
                                                            (b"user-agent", CHROME_UA.encode())]}


async def _call(front, scope, chunks=(b"",), *, disconnect_after_body=False, on_send=None, limit=None):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []
    gone = asyncio.Event()

    async def next_message():
        if messages:
            return messages.pop(0)
        if disconnect_after_body:
            return {"type": "http.disconnect"}
        await gone.wait()
        return {"type": "http.disconnect"}

    def receive():
        # An awaitable that is not a coroutine, as granian's receive() is.
        return asyncio.ensure_future(next_message())

    async def send(message):
        if on_send is not None:
            on_send(message)
        sent.append(message)
        if limit is not None and len(sent) >= limit:
            gone.set()

    await front(scope, receive, send)
    return sent


def call(front, scope, chunks=(b"",), **kwargs):
    return asyncio.run(_call(front, scope, chunks, **kwargs))


def answer(sent: list[dict]) -> tuple[int, dict[str, str], bytes]:
    start = sent[0]
    assert start["type"] == "http.response.start"
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def wsgi_answer(client, path, method="GET"):
    response = client.open(path, method=method, headers={"User-Agent": CHROME_UA})
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data()


# --- the hit endpoints -------------------------------------------------------------------------------------------

def test_the_pixel_is_the_wsgi_pixel_byte_for_byte(app, client, rt):
    path = "/o/" + tokens.sign("open", 41, keyring=rt.keyring)
    status, headers, body = answer(call(front_for(app), http_scope(path)))
    assert (status, body) == (200, PIXEL_GIF)
    assert headers["cache-control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert "set-cookie" not in headers
    assert (status, headers, body) == wsgi_answer(client, path)


@pytest.mark.parametrize("path", ["/o/forged", "/o/" + "A" * 26, "/o/"])
def test_a_bad_pixel_token_still_gets_the_gif_and_records_nothing(app, path):
    front = front_for(app)
    recorder = front.recorder
    if path == "/o/":
        return  # too short for the hit paths: covered by the bridge (404 from Flask) below
    status, _headers, body = answer(call(front, http_scope(path)))
    assert (status, body) == (200, PIXEL_GIF)
    assert recorder.hits == []


def test_head_is_answered_without_a_body_and_recorded(app, rt):
    front = front_for(app)
    recorder = front.recorder
    status, headers, body = answer(call(front, http_scope("/o/" + tokens.sign("open", 7, keyring=rt.keyring),
                                                          method="HEAD")))
    assert (status, body, headers["content-length"]) == (200, b"", "43")
    assert [(h["method"], h["message_id"]) for h in recorder.hits] == [("HEAD", 7)]


def test_other_methods_are_refused(app, rt):
    status, headers, _ = answer(call(front_for(app), http_scope("/o/" + tokens.sign("open", 7, keyring=rt.keyring),
                                                                method="POST")))
    assert (status, headers["allow"]) == (405, "GET, HEAD")


def test_the_hit_is_handed_on_before_the_answer_starts(app, rt):
    front = front_for(app)
    recorder = front.recorder
    seen_at_start = []
    path = "/o/" + tokens.sign("open", 99, keyring=rt.keyring)
    call(front, http_scope(path, headers=[(b"user-agent", b"ua-1"), (b"x-forwarded-for", b"203.0.113.9")]),
         on_send=lambda m: seen_at_start.append(len(recorder.hits)) if m["type"] == "http.response.start" else None)
    assert seen_at_start == [1]
    hit = recorder.hits[0]
    # No trusted proxy configured: the socket's address (truncated by the worker before anything is stored);
    # X-Forwarded-For is the client's to forge.
    assert (hit["message_id"], hit["user_agent"], hit["ip"]) == (99, "ua-1", "198.51.100.7")


@pytest.mark.parametrize("index", range(len(URLS)))
def test_a_click_redirects_exactly_as_the_wsgi_path_does(app, client, rt, message, index):
    path = "/c/" + tokens.sign("click", message.id, index, keyring=rt.keyring)
    status, headers, body = answer(call(front_for(app), http_scope(path)))
    assert status == 302
    assert (status, headers, body) == wsgi_answer(client, path)
    # The second time the process cache answers on the loop itself; still the same redirect.
    assert answer(call(front_for(app), http_scope(path)))[1]["location"] == headers["location"]


def _tampered(token: str) -> str:
    return token[:-2] + ("B" if token[-2] == "A" else "A") + token[-1]


@pytest.mark.parametrize("make_path", [
    lambda rt, m: "/c/" + tokens.sign("click", m.id, 9, keyring=rt.keyring),      # no such link
    lambda rt, m: "/c/" + tokens.sign("open", m.id, keyring=rt.keyring),          # an open token on /c
    lambda rt, m: "/c/" + _tampered(tokens.sign("click", m.id, 0, keyring=rt.keyring)),
    lambda rt, m: "/c/%2F%2Fevil.example",
])
def test_a_click_that_is_not_genuine_never_redirects(app, rt, message, make_path):
    status, headers, body = answer(call(front_for(app), http_scope(make_path(rt, message))))
    assert (status, body) == (404, NOT_FOUND_PAGE)
    assert "location" not in headers


def test_a_click_when_every_store_is_down_says_so_and_redirects_nowhere(app, rt, message, tmp_path):
    # A runtime whose database is a closed port and with no Redis: the destination cannot be known.
    down = Runtime(Config.from_env({"MAILBEACON_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
                                    "MAILBEACON_SECRET_KEY": rt.config.secret_key,
                                    "MAILBEACON_SPOOL_DIR": str(tmp_path / "spool")}))
    try:
        front = front_for(app)
        front.hits.lookup = CachedLookup(down)
        status, headers, _ = answer(call(front, http_scope("/c/" + tokens.sign("click", message.id, 0,
                                                                                keyring=rt.keyring))))
        assert (status, headers["retry-after"]) == (503, "5")
        assert "location" not in headers
    finally:
        down.close()


# --- group commit on the event loop ------------------------------------------------------------------------------

def test_concurrent_hits_share_a_round_trip_and_each_waits_for_its_own(tmp_path):
    recorder = Recorder(hold=True)
    committer = AsyncGroupCommitter(recorder, Spool(tmp_path / "spool"))

    async def main():
        first = asyncio.ensure_future(committer.submit({"n": 0}))
        while not recorder.entered.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(committer.submit({"n": n})) for n in range(1, 50)]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(f.done() for f in rest)  # nothing answered before its write
        recorder.release.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(main()) == [True] * 50
    assert [len(b) for b in recorder.batches] == [1, 49]
    assert committer.batches_written == 2 and committer.hits_written == 50


def test_a_batch_redis_refuses_is_spooled_before_the_answer(tmp_path):
    def refuse(batch):
        raise ConnectionError("redis down")

    spool = Spool(tmp_path / "spool")
    committer = AsyncGroupCommitter(refuse, spool)

    async def main():
        return await asyncio.gather(*(committer.submit({"n": n}) for n in range(5)))

    assert asyncio.run(main()) == [True] * 5
    spooled = sorted(hit["n"] for _path, batch in spool.claims() for hit in batch)
    assert spooled == [0, 1, 2, 3, 4] and committer.hits_spooled == 5


def test_a_stuck_writer_holds_no_answer_past_the_limit_and_its_hits_still_land(tmp_path, monkeypatch):
    monkeypatch.setattr(handoff, "WAIT_FOR_BATCH_SECONDS", 0.2)
    recorder = Recorder(hold=True)
    committer = AsyncGroupCommitter(recorder, Spool(tmp_path / "spool"))

    async def main():
        started = time.monotonic()
        written = await committer.submit({"n": 1})
        return written, time.monotonic() - started

    written, waited = asyncio.run(main())
    assert written is False and 0.15 < waited < 2.0
    recorder.release.set()
    deadline = time.monotonic() + 5
    while not recorder.hits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.hits == [{"n": 1}]


def test_a_new_event_loop_gets_a_flusher_of_its_own(tmp_path):
    recorder = Recorder()
    committer = AsyncGroupCommitter(recorder, Spool(tmp_path / "spool"))
    assert asyncio.run(committer.submit({"n": 1})) is True
    assert asyncio.run(committer.submit({"n": 2})) is True  # the first loop, and its flusher, are gone
    assert recorder.hits == [{"n": 1}, {"n": 2}]


# --- the WSGI bridge ---------------------------------------------------------------------------------------------

def test_a_body_sent_in_pieces_reaches_the_application_whole(echo_app):
    pieces = [b'{"name": "', b"x" * 70_000, b'"}']
    sent = call(front_for(echo_app), http_scope("/_echo/a", method="POST",
                                                headers=[(b"content-type", b"application/json")]), pieces)
    status, headers, body = answer(sent)
    data = __import__("json").loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert (data["length"], data["head"], data["method"], data["content_type"]) == (
        sum(map(len, pieces)), '{"name": "' + "x" * 30, "POST", "application/json")


def test_the_path_query_and_client_are_passed_as_a_wsgi_server_passes_them(echo_app):
    sent = call(front_for(echo_app), http_scope("/_echo/café d", raw_path=b"/_echo/caf%C3%A9%20d",
                                                query=b"q=%C3%BC&x=1"))
    data = __import__("json").loads(answer(sent)[2])
    assert data["rest"] == "café d"
    assert data["path_info"] == "/_echo/café d".encode().decode("latin-1")  # PEP 3333: bytes read as Latin-1
    assert (data["query"], data["remote"]) == ("q=%C3%BC&x=1", "198.51.100.7")


def test_a_header_spelled_with_underscores_cannot_pose_as_its_dashed_twin(echo_app):
    headers = [(b"x_forwarded_for", b"6.6.6.6"), (b"cookie", b"a=1"), (b"cookie", b"b=2"),
               (b"x-forwarded-for", b"203.0.113.1"), (b"x-forwarded-for", b"10.0.0.1")]
    data = __import__("json").loads(answer(call(front_for(echo_app), http_scope("/_echo/h", headers=headers)))[2])
    assert data["forwarded"] == "203.0.113.1,10.0.0.1"
    assert data["cookie"] == "a=1; b=2"


def test_head_through_the_bridge_sends_no_body(echo_app):
    status, headers, body = answer(call(front_for(echo_app), http_scope("/_echo/h", method="HEAD")))
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_api_errors_keep_their_json_shape_through_the_bridge(app):
    status, headers, body = answer(call(front_for(app), http_scope("/api/v1/messages")))
    assert status == 401 and headers["content-type"].startswith("application/json")
    assert b'"error"' in body


def test_a_streamed_answer_arrives_in_pieces_and_stops_when_the_client_leaves(echo_app):
    sent = call(front_for(echo_app), http_scope("/_stream"), limit=4)
    assert answer(sent)[0] == 200
    assert [m.get("more_body") for m in sent[1:4]] == [True, True, True]
    assert b"".join(m["body"] for m in sent[1:4]).startswith(b"data: 0\n\ndata: 1\n\n")
    # The generator is closed soon after the client goes, not left running for the rest of its 100,000 chunks.
    assert echo_app.extensions["test.stream_closed"].wait(5)


def test_lifespan_and_websocket_are_answered(app):
    front = front_for(app)

    async def lifespan():
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        out = []

        async def receive():
            return inbox.pop(0)

        async def send(message):
            out.append(message["type"])

        await front({"type": "lifespan"}, receive, send)
        return out

    assert asyncio.run(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    async def websocket():
        out = []

        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            out.append(message)

        await front_for(app)({"type": "websocket", "path": "/api/v1/stream", "headers": []}, receive, send)
        return out

    assert asyncio.run(websocket())[0]["type"] == "websocket.close"


# --- the loop's own Redis writer ---------------------------------------------------------------------------------

def _job_fields(job) -> tuple:
    return (job.func_name, job.args, job.description, job.timeout, job.result_ttl, job.failure_ttl,
            job.retries_left, job.retry_intervals, job.origin)


def test_the_loop_writes_the_same_rq_job_the_sync_path_writes(redis_url):
    import redis
    from rq import Queue

    from mailbeacon.jobs import queues
    from mailbeacon.jobs.handoff import AsyncRedisBatchWriter, RedisBatchWriter

    client = redis.Redis.from_url(redis_url)
    sync_writer = RedisBatchWriter(client)
    batch = [{"uid": "u1", "type": "open", "message_id": 3}, {"uid": "u2", "type": "click", "message_id": 3}]
    sync_writer(batch)
    asyncio.run(AsyncRedisBatchWriter(sync_writer, redis_url)(batch))
    queue = Queue(queues.HITS, connection=client, serializer=queues.SERIALIZER)
    jobs = queue.get_jobs()
    assert len(jobs) == 2 and jobs[0].id != jobs[1].id
    assert _job_fields(jobs[0]) == _job_fields(jobs[1])
    assert jobs[1].args == (batch,) and jobs[1].func_name == "mailbeacon.jobs.hits.process_hit_batch"
    client.close()


def test_when_redis_is_unreachable_the_loop_spools_and_stops_trying_for_a_moment(tmp_path):
    import redis

    from mailbeacon.jobs.handoff import AsyncRedisBatchWriter, RedisBatchWriter

    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    sync_writer = RedisBatchWriter(redis.Redis.from_url(closed))
    spool = Spool(tmp_path / "spool")
    committer = AsyncGroupCommitter(AsyncRedisBatchWriter(sync_writer, closed), spool)

    async def main():
        return [await committer.submit({"n": n}) for n in range(3)]

    assert asyncio.run(main()) == [True, True, True]
    assert sorted(h["n"] for _p, batch in spool.claims() for h in batch) == [0, 1, 2]
    assert not sync_writer.breaker.allow()  # shared with the replayer: it waits too


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_client_that_leaves_before_its_pixel_still_has_its_hit_recorded(app, rt):
    front = front_for(app)

    async def main():
        async def receive():
            return {"type": "http.disconnect"}

        async def send(message):
            raise OSError("connection reset by peer")

        await front(http_scope("/o/" + tokens.sign("open", 12, keyring=rt.keyring)), receive, send)

    asyncio.run(main())  # no exception escapes to the server
    assert [h["message_id"] for h in front.recorder.hits] == [12]


def test_the_first_clicks_of_a_link_share_one_look_up(app, rt, message):
    front = front_for(app)
    calls = []
    release = threading.Event()
    real = front.hits.lookup.destination

    def slow_destination(message_id, link_index):
        calls.append((message_id, link_index))
        release.wait(5)
        return real(message_id, link_index)

    front.hits.lookup.destination = slow_destination
    path = "/c/" + tokens.sign("click", message.id, 0, keyring=rt.keyring)

    async def main():
        clicks = [asyncio.ensure_future(_call(front, http_scope(path))) for _ in range(20)]
        await asyncio.sleep(0.1)
        release.set()
        return await asyncio.gather(*clicks)

    answers = asyncio.run(main())
    assert calls == [(message.id, 0)]
    assert {answer(sent)[1]["location"] for sent in answers} == {URLS[0]}
    assert len(front.recorder.hits) == 20  # one look-up, but every click is recorded
