"""Shared fixtures.

The same suite runs on the embedded default (a SQLite file, in-process jobs) and, when MAILBEACON_DATABASE_URL
and MAILBEACON_REDIS_URL are set (as `.ci/run` does on its second pass), on the real PostgreSQL and Redis.
PostgreSQL gets a fresh database per test session, created on the given server and dropped afterwards; each
test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from mailbeacon.config import Config
from mailbeacon.runtime import Runtime
from mailbeacon.storage import migrate
from mailbeacon.storage.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
ENV_DATABASE_URL = os.environ.get("MAILBEACON_DATABASE_URL", "").strip()
ENV_REDIS_URL = os.environ.get("MAILBEACON_REDIS_URL", "").strip()
TEST_SECRET = "test-secret-key-0123456789abcdef"
PUBLIC_URL = "https://t.mailbeacon.test"


def pytest_report_header(config):
    db = "PostgreSQL " + ENV_DATABASE_URL if ENV_DATABASE_URL else "SQLite (embedded default)"
    queue = "Redis " + ENV_REDIS_URL if ENV_REDIS_URL else "embedded in-process queue"
    return [f"mailbeacon backends: {db}; {queue}"]


def service_missing(what: str, detail: str):
    """Skip when a service is truly absent; under CI nothing may skip, because .ci/run starts every service."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI but unavailable: {detail}")
    pytest.skip(f"{what} is not available here: {detail}")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A migrated database for the session: a SQLite file to copy, or a fresh PostgreSQL database."""
    if ENV_DATABASE_URL and not ENV_DATABASE_URL.startswith("sqlite"):
        database = scratch_postgres_database("mb_test")
        yield {"kind": "postgresql", "url": next(database)}
        next(database, None)  # dropped
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield {"kind": "sqlite", "path": path}


@pytest.fixture
def database_url(database_template, tmp_path):
    if database_template["kind"] == "sqlite":
        path = tmp_path / "mailbeacon.db"
        shutil.copyfile(database_template["path"], path)
        yield f"sqlite:///{path}"
        return
    url = database_template["url"]
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scratch_postgres_database(prefix: str):
    """A migrated database of its own on the configured (else the local) PostgreSQL server, dropped afterwards: a
    generator for fixtures to yield from."""
    server = _psycopg_url(ENV_DATABASE_URL) if ENV_DATABASE_URL.startswith("postg") else LOCAL_POSTGRES
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the service is absent
        admin.dispose()
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    url = _with_database(server, name)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(database_template):
    """A migrated PostgreSQL database in both CI passes, for what only PostgreSQL can show (a database to stop without
    stopping anyone else's, a session that vanished holding a lock): the configured one, else a fresh one on the local
    server."""
    if database_template["kind"] == "postgresql":
        yield database_template["url"]
        return
    yield from scratch_postgres_database("mb_fault")


@pytest.fixture
def config_env(database_url, tmp_path) -> dict[str, str]:
    """The environment a test's backend runs with (also handed to subprocesses)."""
    env = {
        "MAILBEACON_DATABASE_URL": database_url,
        "MAILBEACON_PUBLIC_URL": PUBLIC_URL,
        "MAILBEACON_SECRET_KEY": TEST_SECRET,
        "MAILBEACON_SPOOL_DIR": str(tmp_path / "spool"),
    }
    return env


@pytest.fixture
def config(config_env) -> Config:
    return Config.from_env(config_env)


@pytest.fixture
def rt(config):
    runtime = Runtime(config)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def app(rt):
    from mailbeacon.web.app import build_app, pipeline_of

    application = build_app(runtime=rt)
    yield application
    # The embedded worker may still be storing a hit the test made: it must not outlive the test and write into
    # the next one's database (on PostgreSQL it would deadlock that test's TRUNCATE).
    pipeline_of(application).stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(rt):
    s = rt.db.session()
    yield s
    s.rollback()
    s.close()


def _redis_reachable(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return None
    except OSError as exc:
        return str(exc)


@pytest.fixture
def redis_url():
    """A Redis for tests that need one whatever the pass: the configured one, else the local default."""
    url = ENV_REDIS_URL or "redis://127.0.0.1:6379/0"
    problem = _redis_reachable(url)
    if problem:
        service_missing("Redis", f"{url}: {problem}")
    import redis

    # A database number of our own per test session keeps parallel runs and the developer's data apart.
    db = 1 + secrets.randbelow(14)
    parts = urlsplit(url)
    test_url = urlunsplit(parts._replace(path=f"/{db}"))
    client = redis.Redis.from_url(test_url)
    client.flushdb()
    yield test_url
    client.flushdb()
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FIXTURES = Path(__file__).parent / "fixtures"
