"""Embedded jobs (no Redis): retried in-process on RQ's schedule, and never left running past their runtime."""

import threading

from mailbeacon.jobs.runner import RetryLater, _run_embedded
from mailbeacon.runtime import Runtime

from ..factories import wait_until

CALLS: list[str] = []


def always_later(tag):
    CALLS.append(tag)
    raise RetryLater("Graph hasn't shown the sent copy yet")


def test_a_job_waiting_to_retry_gives_up_when_its_runtime_closes(config):
    rt = Runtime(config.replace(redis_url=None))
    job = threading.Thread(target=_run_embedded, args=(rt, f"{__name__}.always_later", ("closing",)), daemon=True)
    job.start()
    wait_until(lambda: CALLS.count("closing") == 1, timeout=5)
    rt.close()  # the server stops (or a test ends) while the job sleeps before its next attempt
    job.join(timeout=2)
    assert not job.is_alive() and CALLS.count("closing") == 1


def test_a_job_is_tried_again_on_the_schedule_while_its_runtime_lives(config):
    rt = Runtime(config.replace(redis_url=None))
    slept: list[float] = []
    _run_embedded(rt, f"{__name__}.always_later", ("living",), sleep=slept.append)
    assert CALLS.count("living") == 1 + len(slept) and slept == [5, 15, 30, 60, 120, 300]
    rt.close()
