"""A hit batch popped by a worker that died before starting it is put back on the queue (and only such a batch)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import redis
from rq import Queue

from mailbeacon.jobs import context, maintenance, queues
from mailbeacon.jobs.handoff import RedisBatchWriter
from mailbeacon.runtime import Runtime


def _age(client, job_id: str, seconds: int) -> None:
    then = (datetime.now(timezone.utc) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    client.hset(f"rq:job:{job_id}", "enqueued_at", then)


def test_a_batch_popped_by_a_dead_worker_is_requeued_and_a_waiting_one_is_not(config, redis_url):
    rt = Runtime(config.replace(redis_url=redis_url))
    context.use_runtime(rt)
    client = redis.Redis.from_url(redis_url)
    try:
        writer = RedisBatchWriter(client)
        writer([{"uid": "lost", "type": "open", "message_id": 1}])
        writer([{"uid": "waiting", "type": "open", "message_id": 1}])
        queue = Queue(queues.HITS, connection=client, serializer=queues.SERIALIZER)
        lost_id, waiting_id = queue.get_job_ids()
        client.lpop(queue.key)  # a worker took the first one and was killed before registering it as started
        _age(client, lost_id, 120)
        _age(client, waiting_id, 60)  # old, but still in the queue behind nothing: it waits its turn

        maintenance.recover_abandoned()  # first sighting: nothing yet
        assert queue.get_job_ids() == [waiting_id]
        maintenance.recover_abandoned()
        assert queue.get_job_ids() == [waiting_id, lost_id]
        maintenance.recover_abandoned()  # back in the queue: not put there twice
        assert queue.get_job_ids() == [waiting_id, lost_id]
    finally:
        client.close()
        rt.close()


def test_a_batch_popped_moments_ago_is_left_to_its_worker(config, redis_url):
    rt = Runtime(config.replace(redis_url=redis_url))
    context.use_runtime(rt)
    client = redis.Redis.from_url(redis_url)
    try:
        RedisBatchWriter(client)([{"uid": "fresh", "type": "open", "message_id": 1}])
        queue = Queue(queues.HITS, connection=client, serializer=queues.SERIALIZER)
        client.lpop(queue.key)  # a live worker between its pop and registering the job
        for _ in range(3):
            maintenance.recover_abandoned()
        assert queue.get_job_ids() == []
    finally:
        client.close()
        rt.close()
