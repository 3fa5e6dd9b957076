"""What bench/api.py starts and owns: the benchmark database, the Redis db it flushes, the mailbeacon processes.

Every child runs in its own session, so stopping it stops its whole group (granian's and gunicorn's workers too)
by that one id; nothing is ever stopped by name.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

# The worker as `mailbeacon worker` runs it, with the enricher's reverse-DNS look-ups switched off first.
_OFFLINE_WORKER = ("from mailbeacon.jobs import context; from mailbeacon.services.enrich import Enricher; "
                   "context.set_enricher(Enricher(dns=False)); from mailbeacon.cli import main; main()")
_CLI = "from mailbeacon.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class BenchDatabase:
    server: str   # postgresql://user@host:port, no database
    name: str

    @property
    def url(self) -> str:
        return f"{self.server.rstrip('/')}/{self.name}"

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(f"{self.server.rstrip('/')}/postgres", autocommit=True)

    def recreate(self) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def database_admin(server: str, name: str) -> BenchDatabase:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--database {name!r}: letters, digits and _ only")
    return BenchDatabase(server, name)


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start_mailbeacon(self, name: str, argv: list[str], env: dict[str, str], port: int | None, *,
                         dns: bool = True) -> subprocess.Popen:
        env = dict(env)
        if port is not None:
            env["MAILBEACON_PORT"] = str(port)
        code = _CLI if dns or argv[0] != "worker" else _OFFLINE_WORKER
        log = open(self.logs / f"{name}.log", "ab")
        try:
            proc = subprocess.Popen([sys.executable, "-c", code, *argv], env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.children.append((name, proc))
        return proc

    def running(self, name: str) -> bool:
        return any(n == name and p.poll() is None for n, p in self.children)

    def tail(self, name: str, chars: int = 3000) -> str:
        try:
            return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @staticmethod
    def _stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.children):
            self._stop(proc)
        self.children.clear()


def wait_http(port: int, path: str, procs: Processes, name: str, timeout: float = 60.0) -> None:
    """Until the server answers 200 on `path`; a server that died on the way says why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.running(name):
            raise RuntimeError(f"`mailbeacon {name}` exited:\n{procs.tail(name)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"`mailbeacon {name}` did not answer on port {port} in {timeout:.0f} s:\n{procs.tail(name)}")
