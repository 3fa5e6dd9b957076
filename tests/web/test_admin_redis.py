"""The admin API and /readyz on Redis: hit batches that RQ gave up on are listed and retried, and a hits queue whose
oldest batch has waited too long makes the backend unready."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rq import SimpleWorker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select

from mailbeacon.jobs import context, queues
from mailbeacon.jobs.handoff import RedisBatchWriter
from mailbeacon.runtime import Runtime
from mailbeacon.services.enrich import Enricher
from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens
from mailbeacon.web.admin import QUEUE_LAG_LIMIT_SECONDS
from mailbeacon.web.app import build_app, pipeline_of

from ..factories import CHROME_UA, make_message

ADMIN = {"Authorization": "Bearer admin-secret-token-123"}
GONE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


@pytest.fixture
def redis_app(config, redis_url):
    rt = Runtime(config.replace(redis_url=redis_url, admin_token="admin-secret-token-123"))
    app = build_app(runtime=rt)
    yield app
    pipeline_of(app).stop()
    rt.close()


def use_worker_runtime(rt) -> None:
    """What an RQ worker process has: its own Runtime, and (here) no real DNS."""
    context.use_runtime(rt)
    context.set_enricher(Enricher(dns=False))


def work_until_rq_gives_up(connection, queue) -> None:
    """Work the hits queue the way a worker does until its batches have used up their retries.

    The retry schedule spans hours; the clock is the only thing skipped: each scheduled retry is made due at once,
    and the worker's own scheduler puts it back on the queue, as it would when its time came."""
    scheduled = ScheduledJobRegistry(queue=queue)
    for _ in range(queues.HIT_RETRY.max + 1):
        for job_id in scheduled.get_job_ids():
            connection.zadd(scheduled.key, {job_id: 0})
        SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)
    assert queue.count == 0 and scheduled.count == 0


def stored_hits(rt) -> tuple[int, int]:
    with rt.db.session() as s:
        return s.execute(select(func.count(), func.count(Hit.hit_uid.distinct())).select_from(Hit)).one()


def test_admin_lists_and_retries_hit_batches_that_failed_in_rq_and_each_hit_is_stored_once(redis_app, config,
                                                                                            redis_url, session):
    rt = redis_app.extensions["mailbeacon"]
    client = redis_app.test_client()
    message = make_message(session, urls=["https://example.com/pricing"])
    assert client.get("/o/" + tokens.sign("open", message.id, keyring=rt.keyring),
                      headers={"User-Agent": CHROME_UA}).status_code == 200
    assert client.get("/c/" + tokens.sign("click", message.id, 0, keyring=rt.keyring),
                      headers={"User-Agent": CHROME_UA}).status_code == 302
    hits_queue = queues.queue(queues.HITS, rt.redis)

    # The workers' database is unreachable for longer than the whole retry schedule.
    gone = Runtime(config.replace(redis_url=redis_url, database_url=GONE_DATABASE))
    use_worker_runtime(gone)
    try:
        work_until_rq_gives_up(rt.redis, hits_queue)
    finally:
        gone.close()
    assert stored_hits(rt) == (0, 0)

    listed = client.get("/admin/api/failed-jobs", headers=ADMIN).get_json()["failed_jobs"]
    assert {job["id"] for job in listed} == set(FailedJobRegistry(queue=hits_queue).get_job_ids())
    assert sum(job["hits"] for job in listed) == 2
    for job in listed:
        assert job["queue"] == "hits" and job["kind"] == "mailbeacon.jobs.hits.process_hit_batch"
        assert job["failed_at"]
        assert job["error"].startswith("sqlalchemy.exc.OperationalError"), job["error"]

    assert client.post(f"/admin/api/failed-jobs/{listed[0]['id']}/retry").status_code == 401
    for job in listed:
        assert client.post(f"/admin/api/failed-jobs/{job['id']}/retry", headers=ADMIN).status_code == 202
    assert client.get("/admin/api/failed-jobs", headers=ADMIN).get_json()["failed_jobs"] == []
    # Retried once: asking again finds nothing to retry, so a double click cannot queue a batch twice.
    assert client.post(f"/admin/api/failed-jobs/{listed[0]['id']}/retry", headers=ADMIN).status_code == 404
    assert hits_queue.count == len(listed)

    use_worker_runtime(rt)  # the database is back
    SimpleWorker([hits_queue], connection=rt.redis).work(burst=True)
    assert stored_hits(rt) == (2, 2)
    with rt.db.session() as s:
        assert sorted(s.scalars(select(Hit.hit_type))) == ["click", "open"]
    assert client.get("/admin/api/failed-jobs", headers=ADMIN).get_json()["failed_jobs"] == []


@pytest.fixture
def a_worker_on_every_queue(redis_app):
    """A worker that has announced itself on every queue, as `mailbeacon worker` does; it takes no job here."""
    rt = redis_app.extensions["mailbeacon"]
    worker = SimpleWorker([queues.queue(name, rt.redis) for name in queues.ALL_QUEUES], connection=rt.redis)
    worker.register_birth()
    yield worker
    worker.register_death()


def wait_in_queue(connection, job_id: str, seconds: float) -> None:
    """Backdate when a job was enqueued: how long it has waited is all /readyz looks at."""
    then = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    connection.hset(f"rq:job:{job_id}", "enqueued_at", then.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def test_readyz_names_the_queue_when_the_oldest_hit_batch_has_waited_too_long(redis_app, a_worker_on_every_queue):
    rt = redis_app.extensions["mailbeacon"]
    client = redis_app.test_client()
    writer = RedisBatchWriter(rt.redis)
    writer([{"uid": "oldest", "type": "open", "message_id": 1}])
    writer([{"uid": "newer", "type": "open", "message_id": 1}])
    oldest, newer = queues.queue(queues.HITS, rt.redis).get_job_ids()
    wait_in_queue(rt.redis, oldest, QUEUE_LAG_LIMIT_SECONDS - 20)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()

    wait_in_queue(rt.redis, oldest, QUEUE_LAG_LIMIT_SECONDS + 20)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["queue"]
    assert body["checks"]["queue"]["lag_seconds"] >= QUEUE_LAG_LIMIT_SECONDS
    assert body["checks"]["queue"]["depth"]["hits"] == 2
