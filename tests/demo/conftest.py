"""A running demo per test, on the suite's database (SQLite here, PostgreSQL on CI's second pass)."""

from __future__ import annotations

import pytest
import requests

from mailbeacon.demo import run_demo


@pytest.fixture
def demo(database_url, tmp_path):
    handle = run_demo(workdir=tmp_path / "demo", database_url=database_url)
    yield handle
    handle.stop()


@pytest.fixture
def http():
    """A client that never uses a proxy from the environment: all traffic here is loopback."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()
