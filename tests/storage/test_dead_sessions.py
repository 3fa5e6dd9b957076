"""A client that vanished mid-transaction can't stall the workers: on PostgreSQL our sessions wait a bounded time for
a lock, and the server ends a session left idle in a transaction, releasing what it held.

Without these bounds a worker whose connection died without a word (a partition, a killed host) leaves its session
holding the message's row lock until PostgreSQL notices, hours with the OS's keepalive defaults, and every worker that
reaches that message waits behind it: the fault test saw both workers stop for good after a database outage."""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from mailbeacon.config import Config
from mailbeacon.runtime import Runtime
from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage import db as db_module
from mailbeacon.storage.db import Database, unavailable
from mailbeacon.storage.models import Hit
from mailbeacon.tracking.networks import Networks

from ..factories import CHROME_UA, make_message, wait_until


def _open(message, ip="198.51.100.7"):
    return {"uid": secrets.token_hex(16), "at": time.time(), "type": "open", "message_id": message.id,
            "method": "GET", "user_agent": CHROME_UA, "ip": ip, "headers": {}}


def test_our_sessions_carry_the_bounds_and_keep_options_given_in_the_url(postgres_url):
    db = Database(postgres_url + "?options=-c%20statement_timeout%3D4321&keepalives_idle=77")
    try:
        with db.engine.connect() as conn:
            shown = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                     for name in ("lock_timeout", "idle_in_transaction_session_timeout", "statement_timeout")}
            keepalives_idle = conn.connection.dbapi_connection.info.get_parameters().get("keepalives_idle")
    finally:
        db.dispose()
    assert shown == {"lock_timeout": "30s", "idle_in_transaction_session_timeout": "1min",
                     "statement_timeout": "4321ms"}
    assert keepalives_idle == "77"  # the URL's own connection parameter, not our default of 30


def test_a_batch_behind_a_vanished_workers_lock_fails_to_be_retried_instead_of_waiting_forever(
        config_env, postgres_url, monkeypatch):
    monkeypatch.setattr(db_module, "LOCK_TIMEOUT_MS", 400)
    rt = Runtime(Config.from_env({**config_env, "MAILBEACON_DATABASE_URL": postgres_url}))
    # The other worker's session: it locked the message's row, then its client was gone (no keepalive, no timeouts:
    # a plain engine, not ours).
    stranger = create_engine(postgres_url)
    held = stranger.connect()
    try:
        with rt.db.session() as s:
            message = make_message(s, sender="locked@example.com")
        tx = held.begin()
        held.execute(text("SELECT id FROM tracked_messages WHERE id = :id FOR UPDATE"), {"id": message.id})

        outcome: dict = {}

        def run() -> None:
            try:
                outcome["result"] = record_batch(rt, [_open(message)], networks=Networks.load(None))
            except Exception as err:  # noqa: BLE001 - handed to the test thread
                outcome["error"] = err

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the batch is still waiting for a lock whose holder is gone"
        err = outcome.get("error")
        assert isinstance(err, OperationalError) and "lock timeout" in str(err), outcome
        assert unavailable(err)  # a failure to retry later (RQ's backoff), not a batch to throw away

        tx.rollback()  # the holder's session ends
        result = record_batch(rt, [_open(message)], networks=Networks.load(None))
        assert result.stored == 1
        with rt.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Hit).where(Hit.message_id == message.id)) == 1
    finally:
        held.close()
        stranger.dispose()
        rt.close()


def test_the_server_ends_a_session_left_idle_in_a_transaction_and_its_lock_comes_free(postgres_url, monkeypatch):
    monkeypatch.setattr(db_module, "IDLE_IN_TRANSACTION_MS", 300)
    db = Database(postgres_url)
    other = create_engine(postgres_url)
    key = secrets.randbelow(2**31)
    try:
        idle = db.engine.connect()
        idle.begin()
        idle.execute(text("SELECT pg_advisory_xact_lock(7, :key)"), {"key": key})
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_try_advisory_lock(7, :key)"), {"key": key}).scalar_one() is False

            def free() -> bool:
                got = conn.execute(text("SELECT pg_try_advisory_lock(7, :key)"), {"key": key}).scalar_one()
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(7, :key)"), {"key": key})
                return got

            wait_until(free, timeout=20, describe=lambda: "the idle session still holds its lock")
        with pytest.raises(DBAPIError) as ended:
            idle.execute(text("SELECT 1"))
        assert "idle-in-transaction timeout" in str(ended.value)
        assert unavailable(ended.value)  # a job that met it is retried; an API call answers 503
        idle.close()
    finally:
        other.dispose()
        db.dispose()
