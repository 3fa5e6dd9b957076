"""The `mailbeacon` command as a user runs it: real subprocesses, real files, real sockets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select

from mailbeacon.storage.models import Link, TrackedMessage

from .conftest import FIXTURES, free_port
from .servers import MailbeaconProcess, wait_for_port

GMAIL_NEW = (FIXTURES / "mail" / "gmail_new.eml").read_bytes()


def run(args, env, stdin=b"", cwd=None):
    return subprocess.run([sys.executable, "-m", "mailbeacon.cli", *args], input=stdin, capture_output=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=120)


def count(database_url, model):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model)).scalar()
    finally:
        engine.dispose()


def test_inject_tracks_registers_and_reports_on_one_line(config_env, database_url):
    result = run(["inject", "--sender", "seller@example.com"], config_env, GMAIL_NEW)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stderr.decode().strip().splitlines()[-1])
    assert report["tracked"] and report["pixels"] == 1 and report["message_id"]
    assert b"https://t.mailbeacon.test/o/" in result.stdout and b"https://t.mailbeacon.test/c/" in result.stdout
    assert count(database_url, TrackedMessage) == 1
    assert count(database_url, Link) == len(report["links"])


def test_inject_dry_run_registers_nothing(config_env, database_url):
    result = run(["inject", "--dry-run"], config_env, GMAIL_NEW)
    assert result.returncode == 0, result.stderr
    assert b"/c/" in result.stdout
    assert count(database_url, TrackedMessage) == 0


def test_inject_without_toggles_leaves_the_message_as_it_was(config_env):
    result = run(["inject", "--no-opens", "--no-clicks", "--dry-run"], config_env, GMAIL_NEW)
    assert result.returncode == 0 and result.stdout == GMAIL_NEW
    assert json.loads(result.stderr.decode().strip().splitlines()[-1])["skipped_reason"] == "not_requested"


@pytest.mark.parametrize("payload,needle", [
    (b"", "no message"),
    (b"this is not a message at all\x00\x01", "malformed"),
    (b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<a "
     b"href=\"https://x.example\">x</a>\r\n", "malformed"),
])
def test_inject_refuses_bad_input_with_one_line_and_no_traceback(config_env, payload, needle):
    result = run(["inject", "--sender", "s@example.com"], config_env, payload)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert result.stdout == b""


def test_inject_refuses_a_message_over_the_size_limit(config_env):
    big = GMAIL_NEW + b"x" * 5000
    result = run(["inject", "--sender", "s@example.com"], {**config_env, "MAILBEACON_MAX_MESSAGE_BYTES": "2048"}, big)
    assert result.returncode == 2 and b"too large" in result.stderr


def test_serve_upgrades_an_empty_sqlite_and_redirects_what_inject_registered(tmp_path):
    port = free_port()
    env = {"MAILBEACON_PORT": str(port), "MAILBEACON_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILBEACON_")}
    env_all = {**clean, **env}
    injected = subprocess.run([sys.executable, "-m", "mailbeacon.cli", "inject", "--sender", "me@example.com"],
                              input=GMAIL_NEW, capture_output=True, env=env_all, cwd=tmp_path, timeout=120)
    assert injected.returncode == 0, injected.stderr
    assert (tmp_path / "mailbeacon.db").exists() and (tmp_path / "mailbeacon.db.secret").exists()
    report = json.loads(injected.stderr.decode().strip().splitlines()[-1])
    import re

    first_click = re.search(rf"http://127\.0\.0\.1:{port}/c/([A-Za-z0-9_-]+)", injected.stdout.decode()).group(1)
    server = subprocess.Popen([sys.executable, "-m", "mailbeacon.cli", "serve"], env=env_all, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port)
        response = requests.get(f"http://127.0.0.1:{port}/c/{first_click}", allow_redirects=False, timeout=5)
        assert response.status_code == 302
        assert response.headers["Location"] in [link["url"] for link in report["links"]]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
    finally:
        os.killpg(server.pid, 15)
        output = server.communicate(timeout=20)[0].decode()
    assert f"listening on http://127.0.0.1:{port}" in output


def test_serve_on_a_fresh_directory_creates_the_schema(tmp_path):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILBEACON_")}
    server = subprocess.Popen([sys.executable, "-m", "mailbeacon.cli", "serve", "--port", str(port)],
                              env=clean, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for_port(port)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
    from mailbeacon.storage import migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'mailbeacon.db'}")
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_a_bad_setting_is_one_line_not_a_traceback(tmp_path):
    clean = {k: "" for k in os.environ if k.startswith("MAILBEACON_")}
    result = run(["db", "upgrade"], {**clean, "MAILBEACON_RETENTION_DAYS": "soon"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "mailbeacon: MAILBEACON_RETENTION_DAYS must be a whole number, not 'soon'"


def test_worker_without_redis_says_why(tmp_path):
    clean = {k: "" for k in os.environ if k.startswith("MAILBEACON_")}
    result = run(["worker"], clean, cwd=tmp_path)
    assert result.returncode == 2 and b"MAILBEACON_REDIS_URL" in result.stderr
