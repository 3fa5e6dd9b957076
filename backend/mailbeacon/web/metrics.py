"""Prometheus metrics. Request latencies are observed in-process (multi-process aware when the server runs
several workers); queue, spool and hit counts are read from their source at scrape time."""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
import weakref
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

log = logging.getLogger(__name__)

# Buckets sized for the hit endpoints, whose goal is a p99 under 10 ms.
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REQUEST_SECONDS = Histogram("mailbeacon_request_duration_seconds", "Time to answer a request, by endpoint.",
                            ["endpoint"], buckets=_BUCKETS)
HIT_REQUESTS = Counter("mailbeacon_hit_requests_total", "Requests to the hit endpoints, by endpoint and outcome.",
                       ["endpoint", "outcome"])

FLUSH_SECONDS = 0.25
FOLD_SLICE = 200


class RequestMetrics:
    """The hit endpoints' latency histogram and outcome counter, recorded with one deque append per event and
    folded into prometheus in bulk a few times a second (and before every scrape).

    With several server workers every prometheus update takes one process-wide lock and writes an mmap'd file;
    at thousands of hits a second across dozens of request threads, that lock is fought over on every request.
    deque.append needs no lock of ours, and a fold costs one update per bucket touched, not one per request.
    """

    def __init__(self, histogram: Histogram = REQUEST_SECONDS, counter: Counter = HIT_REQUESTS, *,
                 flush_seconds: float = FLUSH_SECONDS) -> None:
        self.histogram = histogram
        self.counter = counter
        self.flush_seconds = flush_seconds
        self._pending: deque[tuple[str, str, float]] = deque()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _FORK_RESETS.add(self)

    # Events are tuples, cheapest to make: a latency is ("", endpoint, seconds), an outcome (endpoint, outcome, 0).
    def observe(self, endpoint: str, seconds: float) -> None:
        self._pending.append(("", endpoint, seconds))
        if self._thread is None:
            self._start()

    def count(self, endpoint: str, outcome: str) -> None:
        self._pending.append((endpoint, outcome, 0.0))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._flush_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="mailbeacon-metrics", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the folding thread (what is recorded afterwards waits for an explicit flush())."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:
                log.exception("folding request metrics failed")

    def flush(self) -> int:
        """Apply everything recorded so far; returns how many events were applied.

        In slices of FOLD_SLICE events with the GIL let go between them: at thousands of hits a second a fold is
        thousands of events, and done in one go it held the GIL for 5-14 ms, stalling every request in flight.
        """
        with self._flush_lock:
            pending = self._pending
            n = len(pending)  # only what is there now: appends during the fold wait for the next one
            done = 0
            while done < n:
                self._fold(pending, min(FOLD_SLICE, n - done))
                done += FOLD_SLICE
                if done < n:
                    time.sleep(0)  # let the request threads (or the event loop) run between slices
            return n

    def _fold(self, pending: deque, n: int) -> None:
        counts: dict[tuple[str, str], int] = {}
        latencies: dict[str, list[float]] = {}
        for _ in range(n):
            first, second, seconds = pending.popleft()
            if first:
                counts[(first, second)] = counts.get((first, second), 0) + 1
            else:
                latencies.setdefault(second, []).append(seconds)
        for (endpoint, outcome), k in counts.items():
            self.counter.labels(endpoint, outcome).inc(k)
        for endpoint, values in latencies.items():
            _observe_many(self.histogram.labels(endpoint), values)

    def _reset_after_fork(self) -> None:
        self._pending = deque()
        self._flush_lock = threading.Lock()
        self._thread = None


def _observe_many(child, values: list[float]) -> None:
    """observe() for each value, in one update per bucket where the client's layout is the one we know
    (non-cumulative bucket values, a sum, the upper bounds); one observe() per value otherwise."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            child.observe(value)
        return
    per_bucket = [0] * len(bounds)
    for value in values:
        # prometheus counts a value in the first bucket whose upper bound is >= it, as observe() does.
        per_bucket[bisect.bisect_left(bounds, value)] += 1
    total.inc(sum(values))
    for index, k in enumerate(per_bucket):
        if k:
            buckets[index].inc(k)


_FORK_RESETS: "weakref.WeakSet[RequestMetrics]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked server worker inherits the deque and the lock, but not the thread that empties them.
    for metrics in list(_FORK_RESETS):
        metrics._reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)

HIT_METRICS = RequestMetrics()


class _LiveCollector:
    def __init__(self, rt, pipeline) -> None:
        self.rt, self.pipeline = rt, pipeline

    def collect(self):
        from ..jobs.metrics import read_counts

        spool = GaugeMetricFamily("mailbeacon_spool_batches", "Hit batches waiting in the local spool.")
        spool.add_metric([], self.pipeline.spool.size())
        yield spool
        spooled_hits = GaugeMetricFamily("mailbeacon_spool_hits", "Hits waiting in the local spool.")
        spooled_hits.add_metric([], self.pipeline.spool.hits_waiting())
        yield spooled_hits
        try:
            kinds, dropped = read_counts(self.rt)
        except Exception:
            kinds, dropped = {}, {}
        by_kind = CounterMetricFamily("mailbeacon_hits_recorded", "Hits stored, by kind.", labels=["kind"])
        for kind, n in sorted(kinds.items()):
            by_kind.add_metric([kind], n)
        yield by_kind
        drops = CounterMetricFamily("mailbeacon_hits_not_recorded", "Hits not stored, by reason.", labels=["reason"])
        for reason, n in sorted(dropped.items()):
            drops.add_metric([reason], n)
        yield drops
        depth = GaugeMetricFamily("mailbeacon_queue_depth", "Jobs waiting, by queue.", labels=["queue"])
        failed = GaugeMetricFamily("mailbeacon_failed_jobs", "Jobs in the failed registry, by queue.",
                                   labels=["queue"])
        lag = GaugeMetricFamily("mailbeacon_hits_queue_lag_seconds", "Age of the oldest waiting hit batch.")
        workers = GaugeMetricFamily("mailbeacon_workers", "Workers with a live heartbeat.")
        if self.rt.redis is not None:
            try:
                from ..jobs.status import queue_status

                status = queue_status(self.rt.redis)
                for name, n in status["depth"].items():
                    depth.add_metric([name], n)
                for name, n in status["failed"].items():
                    failed.add_metric([name], n)
                lag.add_metric([], status["hits_lag_seconds"])
                workers.add_metric([], status["workers"])
            except Exception as exc:
                log.warning("queue metrics unavailable (%s)", exc.__class__.__name__)
        else:
            depth.add_metric(["hits"], self.pipeline.spool.size())
            failed.add_metric(["hits"], len(self.pipeline.spool.failed()))
            workers.add_metric([], 1 if self.pipeline.worker_alive() else 0)
        yield depth
        yield failed
        yield lag
        yield workers


def render_metrics(rt, pipeline) -> tuple[bytes, str]:
    HIT_METRICS.flush()  # this process's latest requests; the other workers fold theirs within FLUSH_SECONDS
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        output = generate_latest(REGISTRY)
    live = CollectorRegistry()
    live.register(_LiveCollector(rt, pipeline))
    return output + generate_latest(live), CONTENT_TYPE_LATEST
