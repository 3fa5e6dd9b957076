"""The request path's side of the hit pipeline, assembled for the configured mode.

Redis mode:    request -> group commit -> one RQ job per batch      (Redis down: -> spool -> replayed to Redis)
Embedded mode: request -> group commit -> spool file per batch -> in-process thread runs the same job function
"""

from __future__ import annotations

import logging
import threading
import time

from ..runtime import Runtime
from .handoff import AsyncGroupCommitter, AsyncRedisBatchWriter, GroupCommitter, RedisBatchWriter, SpoolReplayer
from .spool import Spool

log = logging.getLogger(__name__)


class HitPipeline:
    # The embedded stand-in for RQ's scheduler: how often it looks at the schedule, and how long after start a job
    # first runs (start-up is busy enough). Attributes, so that a test can run the real schedule without waiting.
    maintenance_tick_seconds = 5.0
    maintenance_first_run_seconds = 60.0

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.spool = Spool(rt.config.spool_dir)
        self.embedded = rt.config.embedded_queue
        self._maintenance: threading.Thread | None = None
        self._stopping = threading.Event()
        if self.embedded:
            from . import context

            context.use_runtime(rt)
            self.committer = GroupCommitter(self.spool.write, self.spool)
            self.async_committer = AsyncGroupCommitter(self.spool.write, self.spool)
            self.replayer = SpoolReplayer(self.spool, self._process_locally, name="embedded-worker", max_attempts=10)
        else:
            writer = RedisBatchWriter(rt.hit_redis)
            self.committer = GroupCommitter(writer, self.spool)
            self.async_committer = AsyncGroupCommitter(AsyncRedisBatchWriter(writer, rt.config.redis_url), self.spool)
            self.replayer = SpoolReplayer(self.spool, writer, interval=1.0, name="spool-replayer")

    @staticmethod
    def _process_locally(batch: list[dict]) -> None:
        from .hits import process_hit_batch

        process_hit_batch(batch)

    def submit(self, hit: dict) -> None:
        self.replayer.start()
        self.committer.submit(hit)
        if self.embedded:
            self.replayer.kick()

    async def submit_async(self, hit: dict) -> None:
        """submit() for the asyncio front: the request waits on the event loop, not in a thread of its own."""
        self.replayer.start()
        await self.async_committer.submit(hit)
        if self.embedded:
            self.replayer.kick()

    def start_background(self) -> None:
        """Start the threads a serving process needs before any hit arrives: the replayer (spooled batches from
        a previous run), and in embedded mode the scheduled maintenance that RQ's scheduler does otherwise."""
        self.replayer.start()
        if self.embedded and self._maintenance is None:
            self._maintenance = threading.Thread(target=self._maintain, name="mailbeacon-maintenance", daemon=True)
            self._maintenance.start()

    def _maintain(self) -> None:
        from . import maintenance

        # A job that has not run yet counts as last run so that it is due maintenance_first_run_seconds after start
        # (measured from the start, not from each look: from `now` it would never come due).
        never_ran = time.monotonic() + self.maintenance_first_run_seconds
        last_run: dict[str, float] = {}
        while not self._stopping.wait(self.maintenance_tick_seconds):
            now = time.monotonic()
            for func, _queue, interval in maintenance.SCHEDULE:
                if func is maintenance.recover_abandoned:
                    continue  # nothing is abandoned in-process: the spool keeps unfinished batches
                if now - last_run.get(func.__name__, never_ran - interval) >= interval:
                    last_run[func.__name__] = now
                    try:
                        func()
                    except Exception:
                        log.exception("scheduled %s failed", func.__name__)

    def worker_alive(self) -> bool:
        return self.replayer.alive()

    def stop(self) -> None:
        self._stopping.set()
        if self._maintenance is not None:
            # A purge still running must not outlive its pipeline and write into whatever uses the database next.
            self._maintenance.join(timeout=30)
        self.replayer.stop()
        self.async_committer.close()
