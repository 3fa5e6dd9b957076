"""Engine and sessions. Nothing connects at import time; `Database(url)` connects lazily on first use."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, exc, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from .scope import Scope

# A connection back in the pool for less than this is taken as alive without asking the server. pool_pre_ping
# asked on every checkout: one more round trip per API call for a failure that, within seconds of the last good
# query, is rare; such a call fails (503, see web/errors.py) and the pool drops the dead connections.
IDLE_PING_SECONDS = 5.0
# What a client that vanished mid-transaction can hold, and for how long. A worker whose connection died without a
# word (a partition, a killed host, a proxy dropping it) leaves its session idle in transaction with the message's
# row lock held until PostgreSQL notices, which with the OS's keepalive defaults takes hours, and every worker that
# reaches that message queues behind it. So no statement of ours waits longer than LOCK_TIMEOUT_MS for a lock (the
# job fails and is retried later), and the server ends a session idle in a transaction for IDLE_IN_TRANSACTION_MS
# (none of ours pauses that long between statements: the hit worker does its DNS look-ups before its transaction,
# and no code of ours calls Google or Microsoft with a transaction open), releasing its locks.
LOCK_TIMEOUT_MS = 30_000
IDLE_IN_TRANSACTION_MS = 60_000
# The client's side of the same: a server gone silent is noticed in about 30 + 3 x 10 s, and data the server stopped
# acknowledging fails the call after 30 s, instead of a worker waiting on a dead socket forever.
TCP_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
                 "tcp_user_timeout": 30_000}
# SQLite's result codes for "not now" (busy, locked, I/O error, disk full, can't open the file); a query it rejects
# is SQLITE_ERROR, which it raises as OperationalError too.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})


def unavailable(err: BaseException) -> bool:
    """True when the database is unreachable, going away or too busy (a later retry can work), False for a query it
    rejected. psycopg raises OperationalError for exactly the former: connection failures, a server shutting down,
    too many connections, a cancelled statement."""
    if isinstance(err, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(err, exc.DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    if not isinstance(err, exc.OperationalError):
        return False
    code = getattr(err.orig, "sqlite_errorcode", None)
    return code is None or code & 0xFF in _SQLITE_UNAVAILABLE


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            cursor = dbapi_conn.cursor()
            # WAL lets the hit worker write while the API reads; foreign keys make ON DELETE CASCADE real.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A connect that hangs (a database behind a dead proxy or a partition) must fail and be retried, not block a
    # worker forever: libpq waits indefinitely without connect_timeout.
    # LIFO: the connection used last is handed out next, so under load it is never idle long enough to be pinged,
    # and the spare ones age until pool_recycle replaces them.
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800, pool_use_lifo=True,
                           connect_args=_postgresql_connect_args(url))
    _ping_when_idle(engine)
    return engine


def _postgresql_connect_args(url: str) -> dict:
    # connect_args override the URL's own parameters, so ours are only defaults: a parameter the operator put in the
    # URL stays as given. The session bounds are sent as startup options (no round trip per connection), before
    # any options in the URL, so that an operator's own setting wins. (PgBouncer refuses startup options unless
    # told to ignore them: `ignore_startup_parameters = options`.)
    given = make_url(url).query
    args = {key: value for key, value in {"connect_timeout": 5, **TCP_KEEPALIVE}.items() if key not in given}
    ours = f"-c lock_timeout={LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
    theirs = given.get("options")
    if isinstance(theirs, tuple):
        theirs = " ".join(theirs)
    args["options"] = f"{ours} {theirs}" if theirs else ours
    return args


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        # A new connection has no idle_since (info is cleared when a connection is replaced): nothing to ask.
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                # As pool_pre_ping does: drop this and every older connection (a restarted server killed them all),
                # and let the pool connect afresh for this checkout.
                raise exc.InvalidatePoolError() from err
            raise


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = _make_engine(self.url)
            self._sessionmaker = sessionmaker(self._engine, expire_on_commit=False)
        return self._engine

    def session(self) -> Session:
        self.engine
        assert self._sessionmaker is not None
        return self._sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises."""
        session = self.session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def scope(self) -> Scope:
        """One connection for an API call (storage/scope.py); close() it when the call is done."""
        return Scope(self)

    def is_empty(self) -> bool:
        return not inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
