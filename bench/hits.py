"""Hit endpoints against nginx, side by side: how fast are /o and /c next to a static GIF on the same machine?

    python bench/hits.py [--duration 10] [--rounds 3] [--connections 64] [--workers N]
                         [--database sqlite|postgres] [--no-drain]

Starts its own nginx (a temporary config serving a 43-byte GIF), its own redis-server (AOF, as in compose) and
its own `mailbeacon serve` with MAILBEACON_REDIS_URL set (the production path), registers messages with links,
and drives nginx, /o/<token> and /c/<token> in turn (A/B/C, A/B/C, ... several rounds, so drift on a shared
machine hits all three alike) with wrk --latency. Then it runs `mailbeacon worker --burst` to drain the queue and
counts the hits in the database against the hits wrk was answered for. Every process it starts is stopped on the
way out, whatever happens.

Without wrk it says so and falls back to a small asyncio load generator; its figures are labelled as such and are
bounded by the generator itself, not the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))

PIXEL_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
             b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
BENCH_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

# wrk's done() hook gives exact percentiles (microseconds) and counters, rather than its rounded text report.
WRK_REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""

NGINX_CONF = """
worker_processes auto;
daemon off;
master_process on;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp-body;
  proxy_temp_path {root}/tmp-proxy;
  fastcgi_temp_path {root}/tmp-fastcgi;
  uwsgi_temp_path {root}/tmp-uwsgi;
  scgi_temp_path {root}/tmp-scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      root {root}/www;
      default_type image/gif;
      add_header Cache-Control "no-store, no-cache, must-revalidate, max-age=0";
      try_files /pixel.gif =404;
    }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


class Processes:
    """Every child this script starts, each in its own session so its whole group can be stopped by id."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.children.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 15.0) -> None:
        """SIGTERM to the child itself (granian's master stops its own workers in order), then its whole group."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):  # whatever of its group is left
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
                time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.children):
            self.stop(proc)
        self.children.clear()

    def tail(self, name: str, chars: int = 2000) -> str:
        try:
            return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Run:
    target: str
    requests: int
    seconds: float
    bad_status: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    message_id: int | None = None  # each /o and /c run hits a message of its own
    stored: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        return self.requests - self.bad_status


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def add(self, run: Run) -> None:
        self.runs.setdefault(run.target, []).append(run)


# ---------------------------------------------------------------------------------------------- load generators

def run_wrk(url: str, *, target: str, duration: float, connections: int, threads: int, script: Path) -> Run:
    argv = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
            "--timeout", "5s", "-s", str(script), "-H", f"User-Agent: {BENCH_UA}", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    line = next((l for l in out.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no report for {target}:\n{out[-2000:]}")
    r = json.loads(line[len("WRKJSON "):])
    return Run(target, r["requests"], r["duration_us"] / 1e6, r["status_errors"],
               r["connect"] + r["read"] + r["write"] + r["timeout"], r["p50_us"] / 1000, r["p99_us"] / 1000)


async def _python_connection(host: str, port: int, path: str, deadline: float, latencies: list[float],
                             counts: dict[str, int]) -> None:
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {BENCH_UA}\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            counts["requests"] += 1
            if not 200 <= status < 400:
                counts["bad"] += 1
    except (OSError, asyncio.IncompleteReadError):
        counts["errors"] += 1
    finally:
        writer.close()


def run_python_load(url: str, *, target: str, duration: float, connections: int) -> Run:
    """Fallback when wrk is missing: keep-alive GETs on `connections` connections from one asyncio loop."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    counts = {"requests": 0, "bad": 0, "errors": 0}

    async def main() -> float:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(_python_connection(parts.hostname, parts.port, parts.path, deadline, latencies,
                                                  counts) for _ in range(connections)))
        return time.perf_counter() - started

    seconds = asyncio.run(main())
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (
        lambda q: float("nan"))
    return Run(target, counts["requests"], seconds, counts["bad"], counts["errors"], pick(0.50), pick(0.99))


# ---------------------------------------------------------------------------------------------- the services

def start_nginx(procs: Processes, root: Path) -> tuple[int, subprocess.Popen]:
    www = root / "nginx" / "www"
    www.mkdir(parents=True)
    (www / "pixel.gif").write_bytes(PIXEL_GIF)
    # Run as root, nginx's workers drop to `nobody`, who must be able to read the GIF.
    for directory in (root, root / "nginx", www):
        directory.chmod(0o755)
    port = free_port()
    conf = root / "nginx" / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root / "nginx", port=port))
    proc = procs.start("nginx", ["nginx", "-c", str(conf), "-p", str(root / "nginx")])
    wait_for_port(port)
    return port, proc


def start_redis(procs: Processes, root: Path) -> str:
    """A redis-server of the bench's own: the shared one's numbered databases are flushed by test sessions that
    pick one at random, which would take queued hits with them. AOF with fsync every second, as in compose."""
    port = free_port()
    (root / "redis").mkdir()
    procs.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(root / "redis")])
    wait_for_port(port)
    return f"redis://127.0.0.1:{port}/0"


def prepare_database(kind: str, root: Path, postgres_admin_url: str) -> tuple[str, callable]:
    """A database of the bench's own, and how to drop it afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{root / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from urllib.parse import urlsplit, urlunsplit

    name = f"mailbeacon_bench_{uuid.uuid4().hex[:8]}"
    admin_url = postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    parts = urlsplit(postgres_admin_url)
    return urlunsplit(parts._replace(path="/" + name)), drop


def register_messages(env: dict[str, str], pairs: int) -> list[tuple[int, int, str, str]]:
    """`pairs` times a message for opens and one with links for clicks: (open id, click id, /o path, /c path)."""
    from datetime import datetime, timedelta, timezone

    from mailbeacon.config import Config
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage.models import Link, TrackedMessage, User

    rt = Runtime(Config.from_env(env))
    try:
        with rt.db.transaction() as session:
            user = User(email="bench-sender@example.com")
            session.add(user)
            session.flush()
            sent = datetime.now(timezone.utc) - timedelta(hours=1)
            ids = []
            for n in range(pairs):
                for subject, urls in ((f"Bench opens {n}", ()),
                                      (f"Bench clicks {n}", ("https://example.com/pricing?plan=pro&x=%41",
                                                             "https://example.org/docs"))):
                    message = TrackedMessage(user_id=user.id, subject=subject, recipients=["reader@example.org"],
                                             track_opens=True, track_clicks=bool(urls), status="sent", sent_at=sent,
                                             created_at=sent)
                    session.add(message)
                    session.flush()
                    for i, url in enumerate(urls):
                        session.add(Link(message_id=message.id, position=i, url=url))
                    ids.append(message.id)
        path = lambda url: "/" + url.split("/", 3)[3]  # noqa: E731
        return [(ids[2 * n], ids[2 * n + 1], path(rt.open_url(ids[2 * n])), path(rt.click_url(ids[2 * n + 1], 0)))
                for n in range(pairs)]
    finally:
        rt.close()


def count_stored(env: dict[str, str]) -> dict[int, int]:
    """Hits in the database, by message."""
    from sqlalchemy import func, select

    from mailbeacon.config import Config
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage.models import Hit

    rt = Runtime(Config.from_env(env))
    try:
        with rt.db.session() as session:
            return dict(session.execute(select(Hit.message_id, func.count()).group_by(Hit.message_id)).all())
    finally:
        rt.close()


def queue_state(redis_url: str) -> dict[str, int]:
    """Jobs of the hits queue that are not done yet, by where they are (waiting, running, retry, failed)."""
    import redis
    from rq import Queue

    client = redis.Redis.from_url(redis_url)
    try:
        queue = Queue("hits", connection=client)
        return {"waiting": queue.count, "running": queue.started_job_registry.count,
                "retry": queue.scheduled_job_registry.count, "failed": queue.failed_job_registry.count}
    finally:
        client.close()


def spooled_files(spool: Path) -> int:
    return sum(1 for p in spool.glob("*") if p.suffix in (".batch", ".claimed")) if spool.exists() else 0


def drain(procs: Processes, env: dict[str, str], redis_url: str, workers: int, timeout: float) -> float:
    """Run burst workers until no hit job is waiting, running or waiting for a retry (a batch that met a busy
    SQLite is retried with back-off: a burst worker alone would stop before its retry is due)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        drainers = [procs.start(f"worker-{i}", [sys.executable, "-m", "mailbeacon.cli", "worker", "--burst",
                                                "--queues", "hits"], env=env) for i in range(workers)]
        next_note = time.monotonic() + 30
        while any(proc.poll() is None for proc in drainers) and time.monotonic() < deadline:
            time.sleep(0.5)
            if time.monotonic() >= next_note:
                next_note += 30
                print(f"  draining: {queue_state(redis_url)['waiting']:,} hit batches still waiting",
                      file=sys.stderr, flush=True)
        for proc in drainers:
            procs.stop(proc)
        state = queue_state(redis_url)
        if not (state["waiting"] or state["running"] or state["retry"]):
            break
        print(f"  still to do: {state}; waiting for retries to fall due", file=sys.stderr, flush=True)
        time.sleep(2.0)
    else:
        print("  drain timed out; stopping the workers", file=sys.stderr)
    return time.monotonic() - started


# ---------------------------------------------------------------------------------------------- report

def summarise(runs: list[Run]) -> dict[str, float]:
    return {"rate": statistics.median(r.rate for r in runs), "p50": statistics.median(r.p50_ms for r in runs),
            "p99": statistics.median(r.p99_ms for r in runs), "p99_worst": max(r.p99_ms for r in runs),
            "answered": sum(r.answered for r in runs), "requests": sum(r.requests for r in runs),
            "bad": sum(r.bad_status for r in runs), "errors": sum(r.socket_errors for r in runs)}


def print_report(results: Results, *, generator: str, args, drain_seconds: float | None,
                 left: dict[str, int], spooled: int) -> None:
    nginx = results.runs["nginx"]
    print()
    print(f"load generator: {generator}; {args.connections} connections, {args.rounds} rounds of "
          f"{args.duration:g} s each, A/B/C interleaved; mailbeacon serve --workers {args.workers}; "
          f"database {args.database}; {os.cpu_count()} CPUs")
    print()
    print(f"{'target':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'p99 worst':>10} {'÷ nginx':>8} "
          f"{'rounds (req/s)':<30}")
    for target in ("nginx", "/o", "/c"):
        runs = results.runs[target]
        s = summarise(runs)
        # The ratio per round (each run against the nginx run beside it), then the median: drift cancels out.
        ratio = statistics.median(r.rate / n.rate for r, n in zip(runs, nginx)) if target != "nginx" else 1.0
        rounds = " ".join(f"{r.rate:,.0f}" for r in runs)
        print(f"{target:<8} {s['rate']:>10,.0f} {s['p50']:>8.2f} {s['p99']:>8.2f} {s['p99_worst']:>10.2f} "
              f"{ratio:>7.1%} {rounds:<30}")
    print()
    if drain_seconds is None:
        print(f"hits: not drained (--no-drain), so not checked; batches left in the local spool {spooled}")
        return
    print("hits: answered 2xx/3xx as counted by the load generator (sent) versus rows in the database (stored);")
    print("      each run has a message of its own, so every run is checked on its own:")
    for target in ("/o", "/c"):
        runs = results.runs[target]
        s = summarise(runs)
        stored = sum(r.stored for r in runs)
        # Requests still in flight when a run's clock stops are answered and stored but not counted by wrk, so a
        # run may store up to one hit per connection more than it was counted for; fewer would be a loss.
        lost = sum(max(0, r.answered - r.stored) for r in runs)
        over = [r.stored - r.answered for r in runs]
        verdict = "nothing lost" if lost == 0 and max(over) <= args.connections else (
            f"LOST {lost:,}" if lost else "MORE STORED THAN SENT + IN FLIGHT?")
        print(f"  {target}: sent {s['answered']:,}  stored {stored:,}  (per run stored - sent: "
              f"{', '.join(f'{d:+,}' for d in over)}; allowed 0..{args.connections})  {verdict};  "
              f"non-2xx/3xx {s['bad']:,}, socket errors {s['errors']:,}")
    print(f"  drained by {args.drain_workers} worker(s) in {drain_seconds:.1f} s; hit jobs left: "
          + ", ".join(f"{k} {v}" for k, v in left.items()) + f"; batches left in the spool {spooled}")


# ---------------------------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per load run (default 10)")
    p.add_argument("--rounds", type=int, default=3, help="A/B/C rounds (default 3)")
    p.add_argument("--connections", type=int, default=64, help="concurrent connections (default 64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="`mailbeacon serve --workers` (default: one per CPU)")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="server on which a throw-away database is created and dropped")
    p.add_argument("--redis-url", default=None,
                   help="use this Redis database instead of a private redis-server; it is FLUSHED before and after")
    p.add_argument("--drain-workers", type=int, default=None,
                   help="`mailbeacon worker --burst` processes to drain (default 1 on SQLite, which has one writer; "
                        "else 2)")
    p.add_argument("--drain-timeout", type=float, default=3600.0, help="seconds (default 3600)")
    p.add_argument("--no-drain", action="store_true",
                   help="figures only: skip draining the queue and the stored-versus-sent check")
    p.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    return p.parse_args()


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def main() -> int:
    args = parse_args()
    if args.drain_workers is None:
        args.drain_workers = 1 if args.database == "sqlite" else 2
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    if not use_wrk and not args.python_load:
        print("wrk is not installed: falling back to the Python load generator (its figures are bounded by the "
              "generator, not the servers; install wrk for real ones)", file=sys.stderr)
    if shutil.which("nginx") is None:
        print("nginx is not installed: the side-by-side baseline needs it", file=sys.stderr)
        return 2
    generator = "wrk" if use_wrk else "PYTHON LOAD GENERATOR (wrk not used)"

    root = Path(tempfile.mkdtemp(prefix="mailbeacon-bench-"))
    procs = Processes(root)
    drop_database = lambda: None  # noqa: E731
    # SIGTERM (a CI timeout, a closed terminal) must clean up as surely as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if args.redis_url is None:
            if shutil.which("redis-server") is None:
                print("redis-server is not installed: pass --redis-url", file=sys.stderr)
                return 2
            args.redis_url = start_redis(procs, root)
        _flush_redis(args.redis_url)
        database_url, drop_database = prepare_database(args.database, root, args.postgres_url)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO / "backend") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "MAILBEACON_DATABASE_URL": database_url, "MAILBEACON_REDIS_URL": args.redis_url,
               "MAILBEACON_SECRET_KEY": "bench-secret-" + uuid.uuid4().hex,
               "MAILBEACON_PUBLIC_URL": f"http://127.0.0.1:{port}", "MAILBEACON_SPOOL_DIR": str(root / "spool"),
               "MAILBEACON_LOG_LEVEL": "WARNING"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        subprocess.run([sys.executable, "-m", "mailbeacon.cli", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        # A message per round and endpoint (round 0 is the warm-up): each run is checked against its own rows, and
        # no message collects every hit of the bench (the worker's per-batch cost grows with a message's hits).
        messages = register_messages(env, args.rounds + 1)

        nginx_port, nginx = start_nginx(procs, root)
        server = procs.start("serve", [sys.executable, "-m", "mailbeacon.cli", "serve", "--port", str(port),
                                       "--workers", str(args.workers)], env=env)
        try:
            wait_for_port(port)
        except RuntimeError:
            print(procs.tail("serve"), file=sys.stderr)
            raise
        bases = {"nginx": f"http://127.0.0.1:{nginx_port}", "/o": f"http://127.0.0.1:{port}",
                 "/c": f"http://127.0.0.1:{port}"}

        def url_for(target: str, round_no: int) -> tuple[str, int | None]:
            open_id, click_id, open_path, click_path = messages[round_no]
            if target == "/c":
                return bases[target] + click_path, click_id
            return bases[target] + open_path, (open_id if target == "/o" else None)

        _check_answers({target: url_for(target, 0)[0] for target in bases})

        script = root / "report.lua"
        script.write_text(WRK_REPORT_LUA)

        def load(target: str, duration: float, round_no: int) -> Run:
            url, message_id = url_for(target, round_no)
            if use_wrk:
                run = run_wrk(url, target=target, duration=duration, connections=args.connections,
                              threads=args.threads, script=script)
            else:
                run = run_python_load(url, target=target, duration=duration, connections=args.connections)
            run.message_id = message_id
            return run

        # Warm-up (page cache, connection pools, the destination cache); its hits are stored too and counted.
        warmup = Results()
        for target in ("nginx", "/o", "/c"):
            warmup.add(load(target, 2.0, 0))
        results = Results()
        for round_no in range(1, args.rounds + 1):
            for target in ("nginx", "/o", "/c"):
                run = load(target, args.duration, round_no)
                results.add(run)
                print(f"  round {round_no} {target:<5} {run.rate:>10,.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                      f"p99 {run.p99_ms:6.2f} ms  non-2xx/3xx {run.bad_status}  socket errors {run.socket_errors}",
                      file=sys.stderr, flush=True)

        # Let the server's spool replayer finish (it only has work if Redis refused a batch), then stop it so
        # that nothing more is written while the queue drains.
        deadline = time.monotonic() + 30
        while spooled_files(root / "spool") and time.monotonic() < deadline:
            time.sleep(0.5)
        procs.stop(server)
        procs.stop(nginx)
        spooled = spooled_files(root / "spool")
        if args.no_drain:
            print_report(results, generator=generator, args=args, drain_seconds=None, left={}, spooled=spooled)
            return 0
        drain_seconds = drain(procs, env, args.redis_url, args.drain_workers, args.drain_timeout)
        left = queue_state(args.redis_url)
        stored = count_stored(env)
        for target in ("/o", "/c"):
            for run in results.runs[target]:
                run.stored = stored.get(run.message_id, 0)
        print_report(results, generator=generator, args=args, drain_seconds=drain_seconds, left=left,
                     spooled=spooled)
        return 0
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if args.redis_url is not None:
            with contextlib.suppress(Exception):
                _flush_redis(args.redis_url)
        procs.stop_all()
        with contextlib.suppress(Exception):
            drop_database()
        if args.keep:
            print(f"logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _check_answers(urls: dict[str, str]) -> None:
    """One request each before the load: a bench of 404s would measure nothing."""
    import http.client
    from urllib.parse import urlsplit

    expected = {"nginx": 200, "/o": 200, "/c": 302}
    for target, url in urls.items():
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request("GET", parts.path, headers={"User-Agent": BENCH_UA})
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != expected[target]:
            raise RuntimeError(f"{target} answered {response.status}, expected {expected[target]}")


if __name__ == "__main__":
    sys.exit(main())
