"""What /readyz, /metrics and the admin API report about the queues and the workers."""

from __future__ import annotations

import time

from rq import Worker
from rq.job import Job
from rq.registry import FailedJobRegistry

from . import queues


def queue_status(redis_client) -> dict:
    depth = {}
    lag = 0.0
    for name in queues.ALL_QUEUES:
        q = queues.queue(name, redis_client)
        depth[name] = q.count
        if name == queues.HITS and depth[name]:
            oldest = q.get_job_ids(0, 1)  # (0, 0) is RQ's "to the end": every id of a backlog, on every probe
            job = Job.fetch(oldest[0], connection=redis_client, serializer=queues.SERIALIZER) if oldest else None
            if job is not None and job.enqueued_at is not None:
                lag = max(0.0, time.time() - job.enqueued_at.timestamp())
    workers = Worker.all(connection=redis_client)
    listening = {q for w in workers for q in w.queue_names()}
    return {
        "depth": depth,
        "hits_lag_seconds": round(lag, 3),
        "workers": len(workers),
        "queues_without_worker": [q for q in queues.ALL_QUEUES if q not in listening],
        "failed": {name: len(FailedJobRegistry(name, connection=redis_client)) for name in queues.ALL_QUEUES},
    }


def failed_jobs(redis_client, limit: int = 100) -> list[dict]:
    out = []
    for name in queues.ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=redis_client, serializer=queues.SERIALIZER)
        for job_id in registry.get_job_ids(0, limit - 1):
            try:
                job = Job.fetch(job_id, connection=redis_client, serializer=queues.SERIALIZER)
            except Exception:
                continue
            result = job.latest_result()
            exc = result.exc_string if result else None
            out.append({
                "id": job.id, "queue": name, "kind": job.func_name,
                "hits": len(job.args[0]) if name == queues.HITS and job.args else None,
                "failed_at": job.ended_at.isoformat() if job.ended_at else None,
                "error": _exception_line(exc)[:300] if exc else None,
            })
    return out


def _exception_line(exc_string: str) -> str:
    """The line naming the exception that ended the job: what went wrong, without dumping payloads.

    Not simply the traceback's last line: a message can run over several lines, and SQLAlchemy ends its own with a
    link to its documentation. The exception's line is the first at the margin after the last frame."""
    lines = exc_string.strip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    for line in lines[frames[-1] + 1:] if frames else lines:
        if line and not line[0].isspace():
            return line
    return lines[-1] if lines else ""


def retry_failed_job(redis_client, job_id: str) -> bool:
    for name in queues.ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=redis_client, serializer=queues.SERIALIZER)
        if job_id in registry.get_job_ids():
            registry.requeue(job_id)
            return True
    return False
