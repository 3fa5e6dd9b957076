"""Engine and sessions. Nothing connects at import time; `Database(url)` connects lazily on first use."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_recycle=1800,
                         connect_args={"connect_timeout": 5})


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

    def is_empty(self) -> bool:
        return not inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
