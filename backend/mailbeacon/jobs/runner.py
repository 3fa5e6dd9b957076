"""Enqueueing the non-hit jobs (sending): RQ with retries when Redis is configured, a small in-process pool with the
same retry schedule in embedded mode. Jobs take ids and reload everything from the database."""

from __future__ import annotations

import importlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from rq import Retry

from ..runtime import Runtime
from . import queues

log = logging.getLogger(__name__)

SEND_RETRY_INTERVALS = (5, 15, 30, 60, 120, 300)
_executor_lock = threading.Lock()
_executors: dict[int, ThreadPoolExecutor] = {}


class RetryLater(Exception):
    """Raised by a job that should run again later (a 429 storm, a 5xx, Gmail's copy still stale)."""

    def __init__(self, message: str, *, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def enqueue(rt: Runtime, func_path: str, *args, queue_name: str = queues.SEND) -> str:
    if rt.redis is not None:
        job = queues.queue(queue_name, rt.redis).enqueue_call(
            func_path, args=args, retry=Retry(max=len(SEND_RETRY_INTERVALS), interval=list(SEND_RETRY_INTERVALS)),
            timeout=300, result_ttl=3600, failure_ttl=30 * 24 * 3600)
        return job.id
    with _executor_lock:
        executor = _executors.get(id(rt))
        if executor is None:
            executor = _executors[id(rt)] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mailbeacon-job")
    executor.submit(_run_embedded, rt, func_path, args)
    return f"embedded-{func_path.rsplit('.', 1)[-1]}"


def _run_embedded(rt: Runtime, func_path: str, args: tuple, sleep=None) -> None:
    from . import context

    context.use_runtime(rt) if context._state.get("runtime") is None else None
    func = _resolve(func_path)
    wait = rt.closing.wait if sleep is None else sleep  # a test's sleep returns None: never "closing"
    for attempt, delay in enumerate((0,) + SEND_RETRY_INTERVALS):
        # Waiting on the runtime's closing event: a server that stops (or a test that ends) doesn't leave the job
        # sleeping towards another attempt; it is left as it stands (a send is resumed at the next start).
        if delay and wait(delay):
            log.info("job left for the next start", extra={"job": func_path, "attempt": attempt + 1})
            return
        try:
            func(*args)
            return
        except RetryLater as exc:
            log.warning("job will retry", extra={"job": func_path, "attempt": attempt + 1, "why": str(exc)})
        except Exception:
            log.exception("job failed", extra={"job": func_path})
            return
    log.error("job gave up after retries", extra={"job": func_path})
