"""The real-time stream with a real client over a real socket: live events, reconnect-and-resume, Redis fan-out."""

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from mailbeacon.jobs import context
from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.runtime import Runtime
from mailbeacon.web.app import build_app, pipeline_of

from ..api_support import user_with_token
from ..factories import CHROME_UA, make_message, wait_until


class Served:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class EventReader:
    """Reads SSE events from a real socket in a background thread (http.client decodes the chunked body)."""

    def __init__(self, url, headers):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.request("GET", parts.path, headers=headers)
        self.sock = self.conn.sock  # the response takes the socket over; keep it to hang up like a client does
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        current: dict = {}
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if "data" in current:
                        self.events.append({"id": current.get("id"), "event": current.get("event"),
                                            "data": json.loads(current["data"])})
                    current = {}
                elif not line.startswith(":") and ":" in line:
                    key, _, value = line.partition(":")
                    current[key] = value.lstrip()
        except Exception:
            pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def hit(message, ip="198.51.100.31", at=None):
    return {"uid": f"h{time.time_ns()}", "at": at or time.time(), "type": "open", "message_id": message.id,
            "method": "GET", "user_agent": CHROME_UA, "ip": ip, "headers": {}}


@pytest.fixture(params=["embedded", "redis"])
def served(request, config, session):
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_url")
        rt = Runtime(config.replace(redis_url=redis_url))
    else:
        rt = Runtime(config)
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    server = Served(app)
    yield rt, server
    server.close()
    pipeline_of(app).stop()
    rt.close()


def test_a_connected_client_gets_each_human_open_live_and_resumes_after_reconnect(served, session):
    from mailbeacon.storage.users import settings_for

    rt, server = served
    user_id, auth = user_with_token(rt, "live@example.com")
    message = make_message(session, sender="live@example.com")
    with rt.db.transaction() as s:
        settings_for(s, user_id).notify_every_open = True
    reader = EventReader(server.url + "/api/v1/stream", auth)
    time.sleep(0.3)  # the subscription is made when the response starts
    t0 = time.time()
    process_hit_batch([hit(message, at=t0)])
    wait_until(lambda: any(e["event"] == "notification" for e in reader.events), timeout=10)
    first = next(e for e in reader.events if e["event"] == "notification")
    assert first["data"]["message_id"] == message.public_id and first["data"]["kind"] == "human"
    reader.close()

    # While disconnected, two more opens happen; reconnecting with the last id delivers exactly those.
    process_hit_batch([hit(message, ip="198.51.100.32", at=t0 + 100)])
    process_hit_batch([hit(message, ip="198.51.100.33", at=t0 + 200)])
    resumed = EventReader(server.url + "/api/v1/stream", {**auth, "Last-Event-ID": first["id"]})
    wait_until(lambda: len([e for e in resumed.events if e["event"] == "notification"]) >= 2, timeout=10)
    ids = [int(e["id"]) for e in resumed.events if e["event"] == "notification"]
    assert len(ids) == 2 and min(ids) > int(first["id"])
    resumed.close()


def test_machine_hits_never_reach_the_stream(served, session):
    rt, server = served
    _uid, auth = user_with_token(rt, "quiet@example.com")
    message = make_message(session, sender="quiet@example.com")
    reader = EventReader(server.url + "/api/v1/stream", auth)
    time.sleep(0.3)
    process_hit_batch([{**hit(message), "method": "HEAD"}, {**hit(message, ip="203.0.113.9"), "user_agent": ""}])
    time.sleep(1.0)
    assert [e for e in reader.events if e["event"] == "notification"] == []
    reader.close()


def test_one_users_stream_never_carries_another_users_events(served, session):
    rt, server = served
    _a, alice = user_with_token(rt, "alice.s@example.com")
    _b, _bob = user_with_token(rt, "bob.s@example.com")
    bobs = make_message(session, sender="bob.s@example.com")
    reader = EventReader(server.url + "/api/v1/stream", alice)
    time.sleep(0.3)
    process_hit_batch([hit(bobs)])
    time.sleep(1.0)
    assert [e for e in reader.events if e["event"] == "notification"] == []
    reader.close()


def test_the_stream_service_on_gevent_delivers_live_events(config_env, redis_url, session, tmp_path):
    """`mailbeacon stream` (gunicorn, gevent worker, one Redis subscriber per process) as production runs it."""
    from mailbeacon.config import Config

    from ..conftest import free_port
    from ..servers import MailbeaconProcess, wait_for_port

    port = free_port()
    env = {**config_env, "MAILBEACON_REDIS_URL": redis_url, "MAILBEACON_PORT": str(port)}
    rt = Runtime(Config.from_env(env))
    context.use_runtime(rt)
    _uid, auth = user_with_token(rt, "gevent@example.com")
    message = make_message(session, sender="gevent@example.com")
    import redis

    def pattern_subscribers():
        return sum(1 for c in redis.Redis.from_url(redis_url).client_list(_type="pubsub") if int(c["psub"]) > 0)

    before = pattern_subscribers()
    stream = MailbeaconProcess(["stream", "--workers", "1"], env, tmp_path / "stream.log").start()
    try:
        wait_for_port(port, timeout=30)
        readers = [EventReader(f"http://127.0.0.1:{port}/api/v1/stream", auth) for _ in range(20)]
        time.sleep(0.5)
        # Twenty clients, one Redis subscription: a connection per client would run out at the pool's limit.
        assert pattern_subscribers() - before == 1
        process_hit_batch([hit(message)])
        for reader in readers:
            wait_until(lambda: any(e["event"] == "notification" for e in reader.events), timeout=10,
                       describe=stream.log)
        for reader in readers:
            reader.close()
    finally:
        stream.kill()
        rt.close()


def test_events_after_a_quiet_spell_still_arrive_live(config, redis_url, session):
    """The fan-out's subscription must survive idle periods longer than the Redis client's socket timeout."""
    rt = Runtime(config.replace(redis_url=redis_url))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    server = Served(app)
    from mailbeacon.storage.users import settings_for

    user_id, auth = user_with_token(rt, "patient@example.com")
    message = make_message(session, sender="patient@example.com")
    with rt.db.transaction() as s:
        settings_for(s, user_id).notify_every_open = True
    reader = EventReader(server.url + "/api/v1/stream", auth)
    try:
        t0 = time.time()
        for n in range(3):
            time.sleep(2.6)  # longer than the client's 2 s socket timeout
            process_hit_batch([hit(message, ip=f"198.51.100.{40 + n}", at=t0 + 100 * n)])
            wait_until(lambda: len([e for e in reader.events if e["event"] == "notification"]) == n + 1, timeout=5)
    finally:
        reader.close()
        server.close()
        pipeline_of(app).stop()
        rt.close()
