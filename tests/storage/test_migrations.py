import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from mailbeacon.storage import migrate
from mailbeacon.storage.models import Base


def test_migrations_build_exactly_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_schema_is_at_head(database_url):
    engine = create_engine(database_url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_downgrade_to_base_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    assert "tracked_messages" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.fixture
def scratch_url(database_template, tmp_path):
    """An empty database of our own on the backend under test, to migrate up and down."""
    if database_template["kind"] == "sqlite":
        yield f"sqlite:///{tmp_path}/scratch.db"
        return
    parts = urlsplit(database_template["url"])
    name = f"mb_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(urlunsplit(parts._replace(path="/postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(parts._replace(path="/" + name))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _list_indexes(url):
    engine = create_engine(url)
    found = {ix["name"]: (ix["column_names"], ix.get("column_sorting"))
             for ix in inspect(engine).get_indexes("tracked_messages") if "user_" in ix["name"]}
    engine.dispose()
    return found


def test_0005_puts_the_list_index_in_the_lists_order_and_downgrades_back(scratch_url):
    migrate.upgrade(scratch_url, "0004")
    assert _list_indexes(scratch_url)["ix_tracked_messages_user_sent"][0] == ["user_id", "created_at"]
    migrate.upgrade(scratch_url, "0005")
    after = _list_indexes(scratch_url)
    assert "ix_tracked_messages_user_sent" not in after
    columns, sorting = after["ix_tracked_messages_user_created"]
    assert columns == ["user_id", "created_at", "id"]
    if scratch_url.startswith("postgresql"):  # SQLite's reflection doesn't report the order; its schema does
        assert sorting == {"created_at": ("desc",), "id": ("desc",)}
    else:
        engine = create_engine(scratch_url)
        with engine.connect() as conn:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_tracked_messages_user_created'"))
            assert sql.scalar_one().endswith("(user_id, created_at DESC, id DESC)")
        engine.dispose()
    migrate.downgrade(scratch_url, "0004")
    back = _list_indexes(scratch_url)
    assert "ix_tracked_messages_user_created" not in back and "ix_tracked_messages_user_sent" in back
