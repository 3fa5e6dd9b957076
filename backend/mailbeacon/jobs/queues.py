"""Queue names live here and only here; docker-compose's workers and a test are checked against this list."""

from __future__ import annotations

from rq import Queue, Retry

HITS = "hits"          # batches of hits from the request path: classify, store, summarise, notify
SEND = "send"          # sending tracked mail through Gmail / Graph
NOTIFY = "notify"      # side effects of notifications (e.g. Outlook categories)
MAINTENANCE = "maintenance"  # retention purge, network list refresh, abandoned-job recovery

ALL_QUEUES = (HITS, SEND, NOTIFY, MAINTENANCE)

# RQ's default (pickle), because RQ's own CronScheduler enqueues with it and one worker reads one format. Job
# payloads are plain lists and dicts written by our own processes into our own Redis.
SERIALIZER = None

# Retries with backoff: a database outage of several minutes must not lose a batch. A batch that exhausts them lands
# in the failed registry, where the admin API can retry it.
HIT_RETRY = Retry(max=12, interval=[1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800])
# How long a failed hit batch waits for an admin's retry. It holds the hits' full client addresses (the retry needs
# them for the network look-ups), so it is kept for days, not months: a week covers a long weekend's outage.
FAILED_HIT_BATCH_SECONDS = 7 * 24 * 3600


def queue(name: str, connection) -> Queue:
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=SERIALIZER)
