"""Handing hits from the request path to the pipeline, with group commit.

Each request puts its hit on a shared list and waits; one flusher thread per process takes everything waiting and
writes it in a single round trip — one RQ job per batch, in one Redis pipeline — then wakes every request whose
hit was in that batch. Under load batches grow by themselves (no timer: a batch is whatever arrived while the last
one was being written), so the cost per hit falls as traffic rises.

When Redis can't be reached the batch goes to the local spool instead, and a replayer moves spooled batches to
Redis once it answers again. In embedded mode (no Redis) the spool is the queue and an in-process thread runs the
same job function on it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from typing import Callable

from .spool import Spool

log = logging.getLogger(__name__)

WAIT_FOR_BATCH_SECONDS = 2.0  # a stuck flusher must never hold an answer longer than this
MAX_BATCH = 500


class _Batch:
    """Hits waiting for one round trip, and one lock per waiting request (held until the batch is written).

    A lock per waiter rather than one threading.Event per batch: Event.set() wakes every waiter into a fight for
    the Event's own lock, one after another, before each can go back to the server; a released private lock
    wakes its one thread and nothing else.
    """

    __slots__ = ("hits", "waiters")

    def __init__(self) -> None:
        self.hits: list[dict] = []
        self.waiters: list = []


class _Counted:
    """What a committer has written and spooled, read by tests and the admin API."""

    _stats: "_BatchStats"

    @property
    def batches_written(self) -> int:
        return self._stats.batches

    @property
    def hits_written(self) -> int:
        return self._stats.hits_written

    @property
    def hits_spooled(self) -> int:
        return self._stats.hits_spooled


class GroupCommitter(_Counted):
    """submit() returns once the hit's batch has been written by `write_batch` (or spooled, if that failed)."""

    def __init__(self, write_batch: Callable[[list[dict]], None], spool: Spool, *, name: str = "hits") -> None:
        self._write_batch = write_batch
        self._spool = spool
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._current = _Batch()
        self._thread: threading.Thread | None = None
        self._name = name
        self._stats = _BatchStats()
        # A forked server worker inherits this object (its lock perhaps held, the parent's waiting hits) but not the
        # flusher thread: a fork hook gives the child a clean one, rather than an os.getpid() check on every hit.
        _register_fork_reset(self)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._current = _Batch()
        self._thread = None

    def _ensure_thread(self) -> None:
        # Called with the lock held. Started lazily: server workers are forked from a parent that may have imported us.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=f"mailbeacon-{self._name}-flusher", daemon=True)
            self._thread.start()

    def submit(self, hit: dict) -> bool:
        """True when the hit was written before the answer goes out."""
        done = threading.Lock()
        done.acquire()
        with self._lock:
            self._ensure_thread()
            batch = self._current
            batch.hits.append(hit)
            batch.waiters.append(done)
            if len(batch.hits) == 1:
                self._wake.notify()
        return done.acquire(timeout=WAIT_FOR_BATCH_SECONDS)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._current.hits:
                    self._wake.wait()
                batch = self._current
                self._current = _Batch()
            self._flush(batch)

    def _flush(self, batch: _Batch) -> None:
        try:
            self._stats.write(self._write_batch, self._spool, batch.hits)
        finally:
            for done in batch.waiters:
                done.release()


class _BatchStats:
    """Writes a batch in chunks of MAX_BATCH, spooling what Redis refuses, and counts what went where."""

    __slots__ = ("batches", "hits_written", "hits_spooled")

    def __init__(self) -> None:
        self.batches = self.hits_written = self.hits_spooled = 0

    def write(self, write_batch: Callable[[list[dict]], None], spool: Spool, hits: list[dict]) -> None:
        for start in range(0, len(hits), MAX_BATCH):
            chunk = hits[start:start + MAX_BATCH]
            try:
                write_batch(chunk)
                self.hits_written += len(chunk)
            except Exception as exc:  # Redis unreachable or refusing: the disk keeps the hits
                log.warning("hit hand-off failed (%s); spooling %d hits", exc.__class__.__name__, len(chunk))
                self.spool(spool, chunk)
            self.batches += 1

    def spool(self, spool: Spool, chunk: list[dict]) -> None:
        try:
            spool.write(chunk)
            self.hits_spooled += len(chunk)
        except Exception:
            # Disk full as well: nothing more can be done here, but say so loudly.
            log.critical("could not spool %d hits: they are lost", len(chunk), exc_info=True)


class AsyncGroupCommitter(_Counted):
    """Group commit for the asyncio front (web/asgi.py): `await submit(hit)` returns once the hit's batch is
    written (or spooled).

    A waiting request is a future on the event loop rather than a parked thread: with a thread per waiting request,
    dozens of threads fight over the GIL and the slowest answers wait several switch intervals (5 ms each). The
    batch itself is written by one writer thread, so the loop keeps taking requests while Redis answers; whatever
    arrives meanwhile is the next batch.
    """

    def __init__(self, write_batch: Callable[[list[dict]], None], spool: Spool) -> None:
        self._write_batch = write_batch
        self._spool = spool
        self._stats = _BatchStats()
        self._loop = None
        self._executor = None
        self._wake = None
        self._hits: list[dict] = []
        self._futures: list = []
        self._task = None
        _register_fork_reset(self)

    def _reset_after_fork(self) -> None:
        self._loop = self._executor = self._wake = self._task = None
        self._hits, self._futures = [], []

    def _bind(self, loop) -> None:
        # Bound to the loop that first submits (a server worker has one); a new loop (a test's) starts afresh.
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="mailbeacon-hits-writer")
        self._loop = loop
        self._wake = asyncio.Event()
        self._hits, self._futures = [], []
        self._task = loop.create_task(self._run())
        self._task.add_done_callback(self._flusher_ended)

    def _flusher_ended(self, task) -> None:
        # Only when the loop is closing or something unforeseen broke: no waiting request may hang on it.
        if not task.cancelled() and task.exception() is not None:
            log.error("hit flusher stopped", exc_info=task.exception())
        _resolve(self._futures, False)

    async def submit(self, hit: dict) -> bool:
        """True when the hit was written before the answer goes out (False: the writer took too long)."""
        import asyncio

        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._task is None or self._task.done():
            self._bind(loop)
        future = loop.create_future()
        self._hits.append(hit)
        self._futures.append(future)
        self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = self._loop
        while True:
            await self._wake.wait()
            self._wake.clear()
            hits, futures = self._hits, self._futures
            if not hits:
                continue
            self._hits, self._futures = [], []
            # One timer per batch, not per request: a stuck writer must never hold an answer past the limit.
            timer = loop.call_later(WAIT_FOR_BATCH_SECONDS, _resolve, futures, False)
            try:
                if getattr(self._write_batch, "is_async", False):
                    await self._write_on_loop(loop, hits)
                else:  # the embedded spool: a file write and fsync, in the writer thread
                    await loop.run_in_executor(self._executor, self._stats.write, self._write_batch, self._spool,
                                               hits)
            except Exception:  # the writers spool and log; this is only the machinery itself failing
                log.exception("hit batch writer failed")
            finally:
                timer.cancel()
                _resolve(futures, True)

    async def _write_on_loop(self, loop, hits: list[dict]) -> None:
        for start in range(0, len(hits), MAX_BATCH):
            chunk = hits[start:start + MAX_BATCH]
            try:
                await self._write_batch(chunk)
                self._stats.hits_written += len(chunk)
            except Exception as exc:  # Redis unreachable or refusing: the disk keeps the hits (off the loop)
                log.warning("hit hand-off failed (%s); spooling %d hits", exc.__class__.__name__, len(chunk))
                await loop.run_in_executor(self._executor, self._stats.spool, self._spool, chunk)
            self._stats.batches += 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


def _resolve(futures: list, written: bool) -> None:
    for future in futures:
        if not future.done():
            future.set_result(written)


_FORK_RESETS: "weakref.WeakSet" = weakref.WeakSet()
_pid = os.getpid()


def _register_fork_reset(committer) -> None:
    _FORK_RESETS.add(committer)


def _process_id() -> int:
    """os.getpid() without a system call per request: kept current by the fork hook below."""
    return _pid


def _after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()
    for committer in list(_FORK_RESETS):
        committer._reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class CircuitBreaker:
    """After a failure, skip straight to the fallback for a moment instead of paying a timeout per batch."""

    def __init__(self, open_seconds: float = 1.0) -> None:
        self.open_seconds = open_seconds
        self._open_until = 0.0

    def allow(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.open_seconds


class RedisBatchWriter:
    """Writes one hit batch as one RQ job (JSON payload) in one pipeline round trip."""

    def __init__(self, redis_client, *, breaker: CircuitBreaker | None = None) -> None:
        from . import queues

        self._redis = redis_client
        self._queue = queues.queue(queues.HITS, redis_client)
        self._retry = queues.HIT_RETRY
        self._failure_ttl = queues.FAILED_HIT_BATCH_SECONDS
        self.breaker = breaker or CircuitBreaker()

    def commands(self, batch: list[dict]) -> list:
        """The Redis commands that enqueue `batch` as one RQ job, as RQ itself builds them, without sending them.

        RQ writes everything through the pipeline it is given; a pipeline that is never executed records the
        commands, so the asyncio front can send the very same ones on its own connection.
        """
        pipe = self._redis.pipeline(transaction=True)
        try:
            self._queue.enqueue_call(
                "mailbeacon.jobs.hits.process_hit_batch",
                args=(batch,),
                job_id=f"hits-{uuid.uuid4().hex}",
                # RQ's default description is repr() of the arguments: the whole batch a second time, built
                # while every request in it waits, and stored beside the payload.
                description=f"hit batch of {len(batch)}",
                retry=self._retry,
                result_ttl=0,
                failure_ttl=self._failure_ttl,
                timeout=300,
                pipeline=pipe,
            )
            return list(pipe.command_stack)
        finally:
            pipe.reset()

    def __call__(self, batch: list[dict]) -> None:
        if not self.breaker.allow():
            raise ConnectionError("redis circuit open")
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                for args, options in self.commands(batch):
                    pipe.execute_command(*args, **options)
                pipe.execute()
        except Exception:
            self.breaker.trip()
            raise


class AsyncRedisBatchWriter:
    """RedisBatchWriter for the event loop: RQ builds the commands (a little CPU, on the loop) and redis.asyncio
    sends them in one MULTI/EXEC round trip, so no thread has to take the GIL from the loop to write a batch."""

    is_async = True

    def __init__(self, sync_writer: RedisBatchWriter, redis_url: str, *, timeout: float = 0.25) -> None:
        self._sync = sync_writer
        self._url = redis_url
        self._timeout = timeout
        self.breaker = sync_writer.breaker  # one view of Redis's health for the loop and the replayer
        self._client = None
        self._loop = None

    def _client_for(self, loop):
        if self._client is None or self._loop is not loop:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(self._url, socket_timeout=self._timeout,
                                                        socket_connect_timeout=self._timeout)
            self._loop = loop
        return self._client

    async def __call__(self, batch: list[dict]) -> None:
        import asyncio

        if not self.breaker.allow():
            raise ConnectionError("redis circuit open")
        client = self._client_for(asyncio.get_running_loop())
        try:
            async with client.pipeline(transaction=True) as pipe:
                for args, options in self._sync.commands(batch):
                    pipe.execute_command(*args, **options)
                await pipe.execute()
        except Exception:
            self.breaker.trip()
            raise


SET_ASIDE_SWEEP_SECONDS = 3600.0


class SpoolReplayer:
    """Moves spooled batches on (to Redis, or in embedded mode into the job function) in a background thread."""

    def __init__(self, spool: Spool, handler: Callable[[list[dict]], None], *, interval: float = 0.5,
                 name: str = "replayer", max_attempts: int | None = None, max_backoff: float = 30.0) -> None:
        self.spool = spool
        self.handler = handler
        self.interval = interval
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self._delay = interval
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._name = name
        self.last_error: str | None = None
        self._swept_at: float | None = None

    def start(self) -> None:
        if self._thread is None or self._pid != _process_id() or not self._thread.is_alive():
            self._pid = _process_id()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"mailbeacon-{self._name}", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        self._kick.set()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == _process_id()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None and self._pid == _process_id():
            self._thread.join(timeout=5)

    def run_once(self) -> int:
        self._expire_set_aside()
        try:
            done = self.spool.replay(self.handler, max_attempts=self.max_attempts)
            self.last_error = None
            self._delay = self.interval
            return done
        except Exception as exc:  # the target is still down: the batch stays spooled, try again later
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("replaying spooled hits failed (%s); will retry", exc.__class__.__name__)
            self._delay = min(self.max_backoff, self._delay * 2)
            return 0

    def _expire_set_aside(self) -> None:
        """Batches set aside here hold full client addresses. The spool is on this host's disk, where the retention
        purge (run by whichever worker the scheduler picks) may never look, so the process that spools sweeps it."""
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < SET_ASIDE_SWEEP_SECONDS:
            return
        self._swept_at = now
        from .queues import FAILED_HIT_BATCH_SECONDS

        try:
            self.spool.expire_set_aside(FAILED_HIT_BATCH_SECONDS)
        except OSError:
            log.warning("could not sweep the spool's expired batches", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            failing = self.run_once() == 0 and self.last_error is not None
            # While the target is failing, a kick (new hits) must not turn the back-off into a busy loop.
            if failing:
                self._stop.wait(self._delay)
            else:
                self._kick.wait(self._delay)
            self._kick.clear()
