"""The pool asks PostgreSQL whether a connection is alive only after it sat idle; the call scope's reads are in
autocommit and its transactions still commit or roll back as one."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from mailbeacon.storage import db as db_module
from mailbeacon.storage.db import Database
from mailbeacon.storage.models import User

from ..conftest import ENV_DATABASE_URL, LOCAL_POSTGRES, _psycopg_url, service_missing



@pytest.fixture
def postgres():
    """Any PostgreSQL database will do (no tables are used): the configured one, else the local default."""
    url = _psycopg_url(ENV_DATABASE_URL) if ENV_DATABASE_URL.startswith("postg") else LOCAL_POSTGRES
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the service is absent
        db.dispose()
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    yield db
    db.dispose()


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(db: Database, pid: int) -> None:
    """What a server restart or a proxy's idle timeout does to a pooled connection."""
    killer = create_engine(db.url)
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_idle_for_seconds_is_pinged_and_replaced_when_dead(postgres, monkeypatch):
    pid = _backend_pid(postgres)
    _kill(postgres, pid)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # as if it had been idle long enough
    assert _backend_pid(postgres) != pid  # no error: the ping found it dead and the pool connected afresh


def test_a_connection_back_in_the_pool_a_moment_ago_is_used_without_a_ping(postgres):
    from sqlalchemy.exc import OperationalError

    pid = _backend_pid(postgres)
    _kill(postgres, pid)
    # Not pinged, so the dead connection is used: that call fails (the API answers 503), and the pool drops it ...
    with pytest.raises(OperationalError) as failed:
        _backend_pid(postgres)
    assert failed.value.connection_invalidated
    # ... so the next call connects afresh.
    assert _backend_pid(postgres) != pid


def test_reads_in_a_scope_run_in_autocommit_around_a_real_transaction(rt):
    scope = rt.db.scope()
    other = rt.db.session()
    try:
        scope.session().add(User(email="reader@example.com"))
        scope.session().flush()  # autocommit: the row is there for everyone at once, no COMMIT needed
        assert other.scalar(select(User.id).where(User.email == "reader@example.com")) is not None
        other.rollback()
        with pytest.raises(RuntimeError):
            with scope.transaction() as session:
                session.add(User(email="first@example.com"))
                session.flush()
                session.add(User(email="second@example.com"))
                session.flush()
                raise RuntimeError("half way")
        assert other.scalars(select(User.email).order_by(User.email)).all() == ["reader@example.com"]
        other.rollback()
        with scope.transaction() as session:
            session.add(User(email="together@example.com"))
        scope.session().add(User(email="after@example.com"))
        scope.session().flush()  # back in autocommit on the same connection
        assert sorted(other.scalars(select(User.email)).all()) == ["after@example.com", "reader@example.com",
                                                                    "together@example.com"]
    finally:
        other.close()
        scope.close()
