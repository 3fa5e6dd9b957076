"""Scheduled jobs: retention purge, network-list fetch and refresh, recovery of batches whose worker died mid-job."""

from __future__ import annotations

import logging
import os
import socket

from . import context, outlook, queues

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600
REFRESH_NETWORKS_EVERY_SECONDS = 6 * 3600
FETCH_NETWORKS_EVERY_SECONDS = 24 * 3600  # the publishers change their lists daily at most
RECOVER_EVERY_SECONDS = 30


def purge_expired() -> dict:
    from ..services.retention import purge_expired as purge

    result = purge(context.current_runtime())
    log.info("retention purge", extra={"purged": result})
    return result


def refresh_networks() -> dict:
    networks = context.reload_networks()
    return {"version": networks.version()}


def fetch_networks() -> dict:
    """Download the publishers' lists MAILBEACON_NETWORKS_FETCH names into MAILBEACON_NETWORKS_DIR, then reload.

    Off by default (nothing is fetched, nothing reloaded). A list that fails to download or to parse leaves the
    file in force as it was; this process reloads at once, the other workers within their minute's look.
    """
    from ..services.netfetch import fetcher_for, summarise
    from ..tracking.netsources import sources_named

    rt = context.current_runtime()
    if not rt.config.networks_fetch:
        return {"fetched": False}
    summary = summarise(fetcher_for(rt.config).fetch(sources_named(rt.config.networks_fetch)))
    if summary["installed"]:
        summary["version"] = context.reload_networks().version()
    log.info("network lists fetched", extra={"fetched": summary})
    return {"fetched": True, **summary}


def recover_abandoned() -> dict:
    """Requeue hit batches that a dead worker had started.

    RQ notices a dead worker only when its job's registry entry expires; a batch is idempotent (each hit has its
    id), so it is safe to put it back as soon as the worker that held it has no heartbeat any more.
    """
    from rq import Worker
    from rq.executions import Execution
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    rt = context.current_runtime()
    if rt.redis is None:
        return {"requeued": 0}
    here = socket.gethostname()
    # A worker on this host whose process is gone is dead now, not when its heartbeat key expires minutes later.
    alive = {w.name for w in Worker.all(connection=rt.redis)
             if not (w.hostname == here and w.pid and not _pid_alive(w.pid))}
    requeued = 0
    for name in queues.ALL_QUEUES:
        if name != queues.HITS:
            continue  # only hit batches are known to be safe to run twice
        q = queues.queue(name, rt.redis)
        registry = StartedJobRegistry(name, connection=rt.redis, serializer=queues.SERIALIZER)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            try:
                execution = Execution.fetch(execution_id, job_id, connection=rt.redis)
                worker_name = execution.worker_name
            except Exception:
                worker_name = ""
            if worker_name and worker_name in alive:
                continue
            try:
                job = Job.fetch(job_id, connection=rt.redis, serializer=queues.SERIALIZER)
            except Exception:
                rt.redis.zrem(registry.key, f"{job_id}:{execution_id}")
                continue
            rt.redis.zrem(registry.key, f"{job_id}:{execution_id}")
            q.enqueue_job(job)
            requeued += 1
            log.warning("requeued hit batch abandoned by a dead worker", extra={"job": job.id})
        requeued += _recover_intermediate(rt, q, registry)
        requeued += _recover_popped(rt, q, registry)
    return {"requeued": requeued}


POPPED_GRACE_SECONDS = 30


def _recover_popped(rt, q, registry) -> int:
    """A worker that listens on several queues takes a job with a plain pop (no intermediate list: BLMOVE has one
    source), so one killed between the pop and registering the job as started leaves the job's hash behind with
    status "queued" in no list at all. A queue is first in, first out: a queued batch enqueued before the job now at
    the head of the queue, that no worker has started, was popped and lost. Seen so on two passes in a row (and
    older than a grace period), it goes back on the queue; a batch is safe to run twice."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    head = rt.redis.lindex(q.key, 0)
    head_enqueued = rt.redis.hget(f"rq:job:{head.decode()}", "enqueued_at") if head else None
    started = {job_id for job_id, _ in registry.get_job_and_execution_ids(cleanup=False)}
    requeued = 0
    for key in rt.redis.scan_iter(match="rq:job:hits-*", count=1000):
        job_id = key.decode()[len("rq:job:"):]
        status, enqueued = rt.redis.hmget(key, "status", "enqueued_at")
        if status != b"queued" or not enqueued or job_id in started:
            continue
        try:
            enqueued_at = datetime.fromisoformat(enqueued.decode().replace("Z", "+00:00"))
        except ValueError:
            continue
        if now - enqueued_at < timedelta(seconds=POPPED_GRACE_SECONDS):
            continue
        if head_enqueued is not None and enqueued >= head_enqueued:
            continue  # still waiting its turn behind the head (ISO timestamps of one format compare as text)
        if rt.redis.set(f"mb:popped-seen:{job_id}", 1, nx=True, ex=600):
            continue  # first sighting: the next pass decides
        requeued += _requeue(rt, q, job_id, "requeued hit batch popped by a worker that died before starting it")
    return requeued


def _recover_intermediate(rt, q, registry) -> int:
    """A worker killed between taking a job off the queue and registering it as started leaves the job in RQ's
    intermediate list, where RQ would eventually mark it failed. A hit batch is safe to run twice, so a job seen
    there on two passes in a row (a live worker moves it on within milliseconds) goes back on the queue."""
    from rq.intermediate_queue import IntermediateQueue

    started = {job_id for job_id, _ in registry.get_job_and_execution_ids(cleanup=False)}
    intermediate = IntermediateQueue(q.key, connection=rt.redis)
    requeued = 0
    for job_id in intermediate.get_job_ids():
        if job_id in started:
            continue
        if rt.redis.set(f"mb:intermediate-seen:{job_id}", 1, nx=True, ex=600):
            continue  # first sighting: give a live worker its moment
        intermediate.remove(job_id)
        requeued += _requeue(rt, q, job_id, "requeued hit batch stuck between queue and worker")
    return requeued


def _requeue(rt, q, job_id: str, why: str) -> int:
    """Put a stored job back on its queue; 1 if it was, 0 if its hash is gone or unreadable."""
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=rt.redis, serializer=queues.SERIALIZER)
    except Exception:
        return 0
    q.enqueue_job(job)
    log.warning(why, extra={"job": job_id})
    return 1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


SCHEDULE = (
    (purge_expired, queues.MAINTENANCE, PURGE_EVERY_SECONDS),
    (refresh_networks, queues.MAINTENANCE, REFRESH_NETWORKS_EVERY_SECONDS),
    (fetch_networks, queues.MAINTENANCE, FETCH_NETWORKS_EVERY_SECONDS),
    (recover_abandoned, queues.MAINTENANCE, RECOVER_EVERY_SECONDS),
    (outlook.sweep_prepared_outlook, queues.MAINTENANCE, outlook.SWEEP_EVERY_SECONDS),
)
