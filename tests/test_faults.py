"""Fault tests: real server and worker processes under traffic while Redis, the database and a worker really go
away; afterwards every hit that was answered is stored exactly once."""

from __future__ import annotations

import signal
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from mailbeacon.jobs import context, maintenance
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens

from .conftest import free_port
from .factories import CHROME_UA, make_message, wait_until
from .servers import CuttableProxy, MailbeaconProcess, PrivateRedis, wait_for_port

pytestmark = pytest.mark.slow


class Traffic:
    """Threads sending pixel and click requests; counts the hits that were answered."""

    def __init__(self, base: str, paths: list[str], threads: int = 4) -> None:
        self.base, self.paths, self.threads = base, paths, threads
        self.answered = 0
        self.redirects_failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _run(self, offset: int) -> None:
        session = requests.Session()
        i = offset
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += self.threads
            try:
                response = session.get(self.base + path, headers={"User-Agent": f"{CHROME_UA} t{i}"},
                                       allow_redirects=False, timeout=5)
            except requests.RequestException:
                continue
            with self._lock:
                if response.status_code in (200, 302):
                    self.answered += 1
                elif path.startswith("/c/"):
                    self.redirects_failed += 1
            time.sleep(0.02)

    def start(self) -> "Traffic":
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> int:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=10)
        return self.answered


def _stored(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Hit)).scalar()
    finally:
        engine.dispose()


def _distinct(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT COUNT(*), COUNT(DISTINCT hit_uid) FROM hits")).one()
            return rows[0] == rows[1]
    finally:
        engine.dispose()


@pytest.fixture
def processes(tmp_path):
    started: list[MailbeaconProcess] = []

    def start(args, env, name):
        proc = MailbeaconProcess(args, env, tmp_path / f"{name}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def _paths(rt, message, links):
    paths = ["/o/" + tokens.sign("open", message.id, keyring=rt.keyring)]
    paths += ["/c/" + tokens.sign("click", message.id, i, keyring=rt.keyring) for i in range(links)]
    return paths


def test_redis_outage_and_a_killed_worker_lose_no_hit_and_store_none_twice(config_env, database_url, session,
                                                                            tmp_path, processes):
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    port = free_port()
    env = {**config_env, "MAILBEACON_REDIS_URL": redis_server.url, "MAILBEACON_PORT": str(port),
           "MAILBEACON_WORKER_TTL": "15"}
    messages = [make_message(session, urls=[f"https://example.com/{m}/{i}" for i in range(3)]) for m in range(4)]
    rt = Runtime(config_env_config(env))
    server = processes(["serve"], env, "serve")
    worker = processes(["worker"], env, "worker")
    try:
        wait_for_port(port)
        paths = [p for m in messages for p in _paths(rt, m, 3)]
        traffic = Traffic(f"http://127.0.0.1:{port}", paths).start()
        time.sleep(1.5)
        worker.kill(signal.SIGKILL)  # mid-job, most likely: batches arrive continuously
        time.sleep(0.5)
        redis_server.stop()
        time.sleep(2.0)
        redis_server.start()
        time.sleep(1.0)
        sent = traffic.stop()
        assert sent > 50, server.log()
        context.use_runtime(rt)
        maintenance.recover_abandoned()
        worker = processes(["worker"], env, "worker2")

        def all_stored():
            # What the scheduler does every 30 s in production: put back batches the killed worker held.
            maintenance.recover_abandoned()
            return _stored(database_url) >= sent

        wait_until(all_stored, timeout=150, interval=1.0,
                   describe=lambda: f"sent {sent}, stored {_stored(database_url)}")
        time.sleep(1.0)  # anything stored twice would show up now
        assert _stored(database_url) == sent
        assert _distinct(database_url)
    finally:
        rt.close()
        redis_server.stop()


def config_env_config(env):
    from mailbeacon.config import Config

    return Config.from_env(env)


def test_database_outage_keeps_pixels_and_redirects_answering_and_loses_nothing(config_env, postgres_url, redis_url,
                                                                                tmp_path, processes):
    parts = urlsplit(postgres_url)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"))
    port = free_port()
    env = {**config_env, "MAILBEACON_DATABASE_URL": proxied, "MAILBEACON_REDIS_URL": redis_url,
           "MAILBEACON_PORT": str(port)}
    rt = Runtime(config_env_config({**env, "MAILBEACON_DATABASE_URL": postgres_url}))
    with rt.db.session() as s:
        message = make_message(s, urls=["https://example.com/a?x=1&y=%20", "https://example.com/b"])
    server = processes(["serve"], env, "serve")
    # Two workers, as the compose file runs: batches of one message are serialised by a row lock, never doubled.
    processes(["worker"], env, "worker")
    processes(["worker"], env, "worker-b")
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        paths = _paths(rt, message, 2)
        for path in paths[1:]:  # the first click of each link warms the Redis destination cache
            assert requests.get(base + path, allow_redirects=False, timeout=5).status_code == 302
        traffic = Traffic(base, paths).start()
        time.sleep(1.0)
        proxy.cut()
        outage_start = traffic.answered
        time.sleep(3.0)
        answered_during_outage = traffic.answered - outage_start
        redirect = requests.get(base + paths[1], allow_redirects=False, timeout=5)
        assert redirect.status_code == 302 and redirect.headers["Location"] == "https://example.com/a?x=1&y=%20"
        proxy.heal()
        time.sleep(1.0)
        sent = traffic.stop() + 2 + 1  # the warm-up clicks and the redirect checked during the outage
        assert answered_during_outage > 20, server.log()
        assert traffic.redirects_failed == 0
        wait_until(lambda: _stored(postgres_url) >= sent, timeout=200,
                   describe=lambda: f"sent {sent}, stored {_stored(postgres_url)}")
        time.sleep(1.0)
        assert _stored(postgres_url) == sent
        assert _distinct(postgres_url)
    finally:
        proxy.close()
        rt.close()
