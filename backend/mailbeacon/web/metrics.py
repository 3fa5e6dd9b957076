"""Prometheus metrics. Request latencies are observed in-process (multi-process aware when the server runs
several workers); queue, spool and hit counts are read from their source at scrape time."""

from __future__ import annotations

import logging
import os

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
