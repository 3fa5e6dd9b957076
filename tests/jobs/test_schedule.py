"""The scheduled jobs run: `mailbeacon scheduler` registers each with RQ's cron on a queue a worker serves, and in
embedded mode the server's own maintenance thread runs them."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest
import redis
import yaml
from rq.cron import CronScheduler, get_cron_job_ids
from rq.job import Job
from sqlalchemy import select

from mailbeacon.jobs import maintenance, queues
from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage.models import Hit
from mailbeacon.tracking.networks import Networks
from mailbeacon.web.app import pipeline_of

from ..factories import CHROME_UA, make_message, wait_until
from ..servers import MailbeaconProcess

ROOT = Path(__file__).resolve().parents[2]

# What must run, where, and how often. Written out rather than read from SCHEDULE, so one of these dropped from the
# schedule or moved to another queue or interval shows up here; a job added to SCHEDULE needs no change here.
REQUIRED_SCHEDULE = {
    # Retention is counted in days: hourly keeps expired hits from lingering more than an hour past their date.
    "mailbeacon.jobs.maintenance.purge_expired": (queues.MAINTENANCE, 3600),
    # Publishers change their network lists daily at most.
    "mailbeacon.jobs.maintenance.refresh_networks": (queues.MAINTENANCE, 6 * 3600),
    # Downloading them again (when MAILBEACON_NETWORKS_FETCH is on) once a day is enough; a 304 when unchanged.
    "mailbeacon.jobs.maintenance.fetch_networks": (queues.MAINTENANCE, 24 * 3600),
    # A batch a killed worker held is put back on the second sighting: within about a minute.
    "mailbeacon.jobs.maintenance.recover_abandoned": (queues.MAINTENANCE, 30),
    "mailbeacon.jobs.outlook.sweep_prepared_outlook": (queues.MAINTENANCE, 60),
}


def seed_an_expired_and_a_fresh_hit(rt, session):
    message = make_message(session)
    base = {"type": "open", "message_id": message.id, "method": "GET", "user_agent": CHROME_UA, "headers": {}}
    record_batch(rt, [{**base, "uid": "expired", "at": time.time() - 200 * 86400, "ip": "198.51.100.1"},
                      {**base, "uid": "fresh", "at": time.time(), "ip": "198.51.100.2"}],
                 networks=Networks.load(None))


def stored_uids(rt) -> list[str]:
    with rt.db.session() as s:
        return sorted(s.scalars(select(Hit.hit_uid)))


def compose_worker_commands() -> list[list[str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = []
    for service in services.values():
        command = service.get("command")
        command = shlex.split(command) if isinstance(command, str) else command
        if command and command[:2] == ["mailbeacon", "worker"]:
            commands.append(command[1:])
    return commands


def served_queues(worker_args: list[list[str]]) -> set[str]:
    served = set()
    for args in worker_args:
        served |= set(args[args.index("--queues") + 1].split(",")) if "--queues" in args else set(queues.ALL_QUEUES)
    return served


def registered_cron_jobs(connection) -> dict[str, tuple[str, int]]:
    schedulers = CronScheduler.all(connection)
    return {job.func_name: (job.queue_name, job.interval) for s in schedulers for job in s.get_jobs()}


@pytest.fixture
def connection(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_the_scheduler_registers_every_scheduled_job_and_the_compose_workers_run_them(
        config_env, redis_url, connection, rt, session, tmp_path):
    seed_an_expired_and_a_fresh_hit(rt, session)
    env = {**config_env, "MAILBEACON_REDIS_URL": redis_url}
    scheduler = MailbeaconProcess(["scheduler"], env, tmp_path / "scheduler.log").start()
    try:
        # RQ's cron enqueues an interval job as soon as it starts, then every interval.
        def every_job_enqueued_once():
            jobs = registered_cron_jobs(connection)
            return jobs and all(get_cron_job_ids(name, connection) for name in jobs)

        wait_until(every_job_enqueued_once, timeout=30, describe=scheduler.log)
        registered = registered_cron_jobs(connection)
    finally:
        scheduler.stop()
    assert registered == {f"{func.__module__}.{func.__name__}": (queue, interval)
                          for func, queue, interval in maintenance.SCHEDULE}
    assert registered.items() >= REQUIRED_SCHEDULE.items()

    commands = compose_worker_commands()
    assert {queue for queue, _ in registered.values()} <= served_queues(commands)
    for n, args in enumerate(commands):
        worker = MailbeaconProcess([*args, "--burst"], env, tmp_path / f"worker{n}.log").start()
        try:
            assert worker.process.wait(timeout=120) == 0, worker.log()
        finally:
            worker.kill()
    for name in registered:
        [job_id] = get_cron_job_ids(name, connection)
        status = Job.fetch(job_id, connection=connection).get_status()
        assert status == "finished", f"{name} is {status}"
    assert stored_uids(rt) == ["fresh"]


@pytest.fixture
def quick_maintenance(app):
    """The embedded app's maintenance thread, looking often and running each job a moment after start instead of a
    minute (a delay all the same: the first run must come due once that much time has passed, not be put off)."""
    pipeline = pipeline_of(app)
    pipeline.maintenance_tick_seconds = 0.05
    pipeline.maintenance_first_run_seconds = 0.2
    return pipeline


def test_the_embedded_maintenance_thread_purges_expired_hits(quick_maintenance, rt, session):
    assert rt.config.embedded_queue
    seed_an_expired_and_a_fresh_hit(rt, session)
    quick_maintenance.start_background()
    wait_until(lambda: stored_uids(rt) == ["fresh"], describe=lambda: stored_uids(rt))
