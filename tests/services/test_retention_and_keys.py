import base64
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from mailbeacon.config import Config
from mailbeacon.runtime import Runtime
from mailbeacon.services.keys import rotate_secrets
from mailbeacon.services.record_hits import record_batch
from mailbeacon.services.retention import purge_expired
from mailbeacon.storage.models import Hit, Link, MailAccount, Notification, TrackedMessage, User
from mailbeacon.tracking.networks import Networks

from ..factories import CHROME_UA, make_message


def test_purge_deletes_old_hits_and_notifications_but_keeps_links_working(rt, session):
    message = make_message(session, urls=["https://example.com/a"])
    old = time.time() - 200 * 86400
    record_batch(rt, [{"uid": "old", "at": old, "type": "open", "message_id": message.id, "method": "GET",
                       "user_agent": CHROME_UA, "ip": "198.51.100.1", "headers": {}},
                      {"uid": "new", "at": time.time(), "type": "open", "message_id": message.id, "method": "GET",
                       "user_agent": CHROME_UA, "ip": "198.51.100.2", "headers": {}}], networks=Networks.load(None))
    with rt.db.transaction() as s:  # notifications carry the hit's time
        for note in s.scalars(select(Notification)):
            note.created_at = datetime.now(timezone.utc) - timedelta(days=200)
    result = purge_expired(rt, days=180)
    assert result["hits"] == 1 and result["notifications"] >= 1
    with rt.db.session() as s:
        assert [h.hit_uid for h in s.scalars(select(Hit))] == ["new"]
        assert s.scalar(select(func.count()).select_from(Link)) == 1


def test_failed_hit_batches_holding_full_addresses_expire_after_a_week(config, tmp_path):
    import os

    from mailbeacon.jobs.queues import FAILED_HIT_BATCH_SECONDS
    from mailbeacon.jobs.spool import Spool

    rt = Runtime(config.replace(spool_dir=str(tmp_path / "spool")))
    spool = Spool(rt.config.spool_dir)
    spool.write([{"uid": "a", "ip": "198.51.100.77", "type": "open", "message_id": 1}])

    def refuse(batch):
        raise RuntimeError("database refused")

    for _ in range(2):  # the second failure sets it aside
        try:
            spool.replay(refuse, max_attempts=2)
        except RuntimeError:
            pass
    [kept] = spool.failed()
    set_aside = spool.failed_directory / f"{kept['id']}.batch"
    corrupt = spool.directory / "0000-unreadable.corrupt"
    corrupt.write_bytes(b"198.51.100.78 {")
    assert purge_expired(rt)["failed_batches"] == 0 and set_aside.exists()  # a fresh failure waits for a retry
    week_ago = time.time() - FAILED_HIT_BATCH_SECONDS - 60
    for path in (set_aside, corrupt):
        os.utime(path, (week_ago, week_ago))
    assert purge_expired(rt)["failed_batches"] == 2
    assert spool.failed() == [] and not corrupt.exists()
    rt.close()


def test_the_spool_replayer_sweeps_expired_set_aside_batches_on_its_own_host(tmp_path, monkeypatch):
    """In Redis mode the retention purge runs on a worker's host; the spool is on the web host's disk."""
    import os

    from mailbeacon.jobs import handoff
    from mailbeacon.jobs.queues import FAILED_HIT_BATCH_SECONDS
    from mailbeacon.jobs.spool import Spool

    spool = Spool(str(tmp_path / "spool"))
    replayer = handoff.SpoolReplayer(spool, lambda batch: None)
    spool.directory.mkdir(parents=True)
    old, fresh = spool.directory / "0001-old.corrupt", spool.directory / "0002-fresh.corrupt"
    for path in (old, fresh):
        path.write_bytes(b"198.51.100.79 {")
    week_ago = time.time() - FAILED_HIT_BATCH_SECONDS - 60
    os.utime(old, (week_ago, week_ago))
    replayer.run_once()
    assert not old.exists() and fresh.exists()
    os.utime(fresh, (week_ago, week_ago))
    replayer.run_once()  # within the hour: no second sweep yet
    assert fresh.exists()
    monkeypatch.setattr(handoff, "SET_ASIDE_SWEEP_SECONDS", 0.0)
    replayer.run_once()
    assert not fresh.exists()


def test_a_failed_hit_batch_in_redis_expires_after_a_week_too():
    from mailbeacon.jobs.handoff import RedisBatchWriter
    from mailbeacon.jobs.queues import FAILED_HIT_BATCH_SECONDS

    import redis

    writer = RedisBatchWriter(redis.Redis())  # builds the commands only; nothing is sent
    commands = writer.commands([{"uid": "a", "ip": "198.51.100.79"}])
    job_hash = next(args for args, _options in commands if args[0] == "HSET" and "failure_ttl" in args)
    fields = dict(zip(job_hash[2::2], job_hash[3::2]))
    assert int(fields["failure_ttl"]) == FAILED_HIT_BATCH_SECONDS <= 8 * 24 * 3600


def test_rotation_reencrypts_stored_secrets_and_the_old_key_can_go(config_env, database_url):
    old_key = base64.urlsafe_b64encode(b"o" * 32).decode()
    new_key = base64.urlsafe_b64encode(b"n" * 32).decode()
    old_rt = Runtime(Config.from_env({**config_env, "MAILBEACON_ENCRYPTION_KEYS": f"1:{old_key}"}))
    with old_rt.db.transaction() as s:
        user = User(email="rot@example.com")
        s.add(user)
        s.flush()
        s.add(MailAccount(user_id=user.id, provider="gmail", address="rot@example.com",
                          encrypted_secret=old_rt.secrets.encrypt("1//refresh")))
    old_rt.close()
    both = Runtime(Config.from_env({**config_env, "MAILBEACON_ENCRYPTION_KEYS": f"2:{new_key},1:{old_key}"}))
    assert rotate_secrets(both) == {"accounts": 1, "stashed_drafts": 0}
    assert rotate_secrets(both) == {"accounts": 0, "stashed_drafts": 0}
    both.close()
    new_only = Runtime(Config.from_env({**config_env, "MAILBEACON_ENCRYPTION_KEYS": f"2:{new_key}"}))
    with new_only.db.session() as s:
        assert new_only.secrets.decrypt(s.scalar(select(MailAccount.encrypted_secret))) == "1//refresh"
    new_only.close()
