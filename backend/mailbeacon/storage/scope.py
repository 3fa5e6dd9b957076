"""One connection for the length of an API call: reads in autocommit, writes in a transaction on that connection.

A read used to cost more than its queries: a session of its own for the bearer token and another for the view,
each with a BEGIN and a COMMIT or ROLLBACK. In autocommit a statement is one round trip and nothing else is sent
(psycopg sends no COMMIT or ROLLBACK outside a transaction, and SQLite has nothing to send). A view that has to
change several rows together still gets a real transaction, on the same connection, for as long as it needs one.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .db import Database


class Scope:
    def __init__(self, db: "Database") -> None:
        self._db = db
        self._conn: Connection | None = None
        self._session: Session | None = None

    def connection(self) -> Connection:
        """Autocommit: every statement is atomic on its own. Checked out on first use."""
        if self._conn is None:
            self._conn = self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def session(self) -> Session:
        """For reads, and for single-statement writes; never for changes that must happen together."""
        if self._session is None:
            self._session = Session(bind=self.connection(), expire_on_commit=False)
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises (as Database.transaction)."""
        conn = self.connection()
        self._end_reads()
        conn.execution_options(isolation_level=conn.default_isolation_level)
        try:
            with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            if conn.invalidated:  # the server went away mid-transaction: a later use connects afresh
                self.close()
            else:
                conn.execution_options(isolation_level="AUTOCOMMIT")

    def _end_reads(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        assert self._conn is not None
        if self._conn.in_transaction():
            # Only SQLAlchemy's bookkeeping: in autocommit there is no transaction on the server to end.
            self._conn.commit()

    def close(self) -> None:
        session, conn, self._session, self._conn = self._session, self._conn, None, None
        if session is not None:
            session.close()
        if conn is not None:
            conn.close()
