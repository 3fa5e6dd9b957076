"""A database that can't be reached makes the API answer 503 with Retry-After, and the first call after it is back
works; a query the database rejects is still our bug, a 500."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from mailbeacon.config import Config
from mailbeacon.runtime import Runtime
from mailbeacon.storage import migrate
from mailbeacon.web.app import build_app, pipeline_of

from ..api_support import user_with_token
from ..conftest import PUBLIC_URL, TEST_SECRET, scratch_postgres_database
from ..servers import CuttableProxy


def _runtime(url: str, tmp_path) -> Runtime:
    return Runtime(Config.from_env({"MAILBEACON_DATABASE_URL": url, "MAILBEACON_PUBLIC_URL": PUBLIC_URL,
                                    "MAILBEACON_SECRET_KEY": TEST_SECRET,
                                    "MAILBEACON_SPOOL_DIR": str(tmp_path / "spool")}))


@pytest.fixture
def scratch_postgres():
    yield from scratch_postgres_database("mb_down")


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"].isdigit() and int(response.headers["Retry-After"]) > 0


def test_postgresql_going_away_answers_503_until_it_is_back(scratch_postgres, tmp_path):
    parts = urlsplit(scratch_postgres)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"))
    rt = _runtime(proxied, tmp_path)
    app = build_app(runtime=rt)
    client = app.test_client()
    try:
        _uid, auth = user_with_token(rt, "outage@example.com")
        assert client.get("/api/v1/messages", headers=auth).status_code == 200
        proxy.cut()
        # The pooled connection is dead (it was used a moment ago, so it isn't pinged) ...
        _assert_unavailable(client.get("/api/v1/messages", headers=auth))
        # ... and a new one is refused.
        _assert_unavailable(client.post("/api/v1/messages/status", headers=auth, json={"thread_ids": ["t"]}))
        proxy.heal()
        assert client.get("/api/v1/messages", headers=auth).status_code == 200
        assert client.post("/api/v1/messages/status", headers=auth, json={"thread_ids": ["t"]}).status_code == 200
    finally:
        pipeline_of(app).stop()
        rt.close()
        proxy.close()


def test_a_sqlite_file_that_cannot_be_opened_answers_503_until_it_is_back(tmp_path):
    path = tmp_path / "mailbeacon.db"
    migrate.upgrade(f"sqlite:///{path}")
    rt = _runtime(f"sqlite:///{path}", tmp_path)
    app = build_app(runtime=rt)
    client = app.test_client()
    try:
        _uid, auth = user_with_token(rt, "disk@example.com")
        assert client.get("/api/v1/messages", headers=auth).status_code == 200
        # The volume is gone: the pool's open files are closed, and where the file was there is no file to open.
        rt.db.dispose()
        shutil.move(path, tmp_path / "away.db")
        path.mkdir()
        _assert_unavailable(client.get("/api/v1/messages", headers=auth))
        path.rmdir()
        shutil.move(tmp_path / "away.db", path)
        assert client.get("/api/v1/messages", headers=auth).status_code == 200
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_a_query_the_database_rejects_is_still_a_500(client, rt, monkeypatch):
    """SQLite raises its syntax errors as OperationalError too: that must not pass for an outage."""
    from mailbeacon.web import api_views

    _uid, auth = user_with_token(rt, "bug@example.com")

    def broken(session, *_args, **_kwargs):
        session.execute(text("SELEC nothing"))

    monkeypatch.setattr(api_views, "list_messages", broken)
    response = client.get("/api/v1/messages", headers=auth)
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert "Retry-After" not in response.headers
