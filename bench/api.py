"""The sender API's figures: list, detail and batch status under a realistic database, and hit-to-notification.

    python bench/api.py [--users 1000] [--messages-per-user 100] [--hits-per-message 10] [--connections 1000]
                        [--keep] [--reuse]

Creates a PostgreSQL database (mb_bench on 127.0.0.1:5432), migrates it and seeds it with COPY (bench/api_seed.py:
users with ~100 tracked messages each over 90 days, ~10 hits per message of every kind, links, notifications),
then starts the production processes as subprocesses, on Redis db 15:

    mailbeacon serve  --workers N    the API and the hit endpoints (granian)
    mailbeacon stream --workers N    the real-time channel (gunicorn + gevent)
    mailbeacon worker                the hit pipeline (classify, store, notify)

It opens --connections idle stream connections (one per user, round robin), and with them open measures:

- list (first page; the next page by cursor; with filter=opened / not_opened; with q= on a subject word and on a
  recipient's domain), detail, and batch status (100 thread ids of one user), every request authenticated as a
  random user with that user's token;
- hit to notification: GET /o/<token> for a message of a connected user (a browser's User-Agent, a fresh client IP
  in X-Forwarded-For, so the worker judges it a human open and the user's every-open setting notifies), timed
  from the moment the request is written until that user's stream has read the event.

Each is sent three ways: one at a time (the latency of the call itself); arriving at random at --rate per second
(--hit-rate for hits) whether or not earlier ones were answered, timed from the planned start (what a population
of users does to the servers); and from --concurrency clients at once (--hit-concurrency), each calling again as
soon as it is answered (saturation: the throughput, and the latency once the machine is full). Hits are also sent
2-6 s apart with the pipeline idle between, which is how they really arrive.

Then it prints p50/p99 with the goals (list and batch status p99 < 50 ms, hit to notification p99 < 1 s), stops
every process it started and drops the database unless --keep. --reuse skips seeding and uses a database left by
an earlier --keep run of the same shape (the seed is deterministic, so the tokens are the same).

The worker's reverse-DNS look-ups are off by default (--worker-dns turns them on): this machine has no network,
and the figure should be the pipeline's, not a resolver's timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Awaitable, Callable

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_client import EventStream, HttpConnection, percentile  # noqa: E402
from api_processes import Processes, database_admin, free_port, redis_flush, wait_http  # noqa: E402
from api_seed import BenchUser, Seeded, SeedShape, check_summaries, seed  # noqa: E402

BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
LIST_GOAL_MS = 50.0
NOTIFY_GOAL_MS = 1000.0

# A call to measure: given a connection and the planned start (None: now), milliseconds or None for a failure.
Fire = Callable[[HttpConnection, "float | None"], Awaitable["float | None"]]


@dataclass
class Figure:
    name: str
    mode: str
    latencies_ms: list[float]
    seconds: float
    errors: int = 0
    goal_ms: float | None = None
    show_rate: bool = True

    def add(self, result: float | None) -> None:
        if result is None:
            self.errors += 1
        else:
            self.latencies_ms.append(result)

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def verdict(self) -> str:
        if self.goal_ms is None:
            return ""
        return "met" if self.p99 < self.goal_ms and not self.errors else "MISSED"


@dataclass
class Bench:
    args: argparse.Namespace
    seeded: Seeded
    api_port: int
    stream_port: int
    keyring: object
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    streams: list[EventStream] = field(default_factory=list)
    pending: dict[str, asyncio.Future] = field(default_factory=dict)
    cursors: dict[int, str] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    pixel_ms: list[float] = field(default_factory=list)

    # ------------------------------------------------------------------------------------------------ streams

    def on_event(self, event: str, data: dict, read_at: float) -> None:
        if event != "notification":
            return
        future = self.pending.pop(data.get("message_id"), None)
        if future is not None and not future.done():
            future.set_result(read_at)

    async def open_streams(self) -> float:
        users = self.seeded.users
        started = time.perf_counter()
        gate = asyncio.Semaphore(50)

        async def one(user: BenchUser) -> EventStream:
            stream = EventStream("127.0.0.1", self.stream_port, user.token, last_event_id=user.last_notification_id,
                                 on_event=self.on_event)
            async with gate:
                await stream.open()
            return stream

        self.streams = await asyncio.gather(*(one(users[i % len(users)]) for i in range(self.args.connections)))
        return time.perf_counter() - started

    @property
    def connected_users(self) -> list[BenchUser]:
        users = self.seeded.users
        return users[:min(len(users), self.args.connections)]

    # ------------------------------------------------------------------------------------------------ API calls

    def _request(self, kind: str) -> tuple[str, str, BenchUser, bytes | None]:
        user = self.rng.choice(self.seeded.users)
        if kind == "list":
            return "GET", "/api/v1/messages?limit=50", user, None
        if kind == "list_cursor":
            cursor = self.cursors.get(user.id)
            return "GET", f"/api/v1/messages?limit=50&cursor={cursor}" if cursor else "/api/v1/messages", user, None
        if kind == "list_opened":
            return "GET", "/api/v1/messages?limit=50&filter=opened", user, None
        if kind == "list_not_opened":
            return "GET", "/api/v1/messages?limit=50&filter=not_opened", user, None
        if kind == "list_q_subject":
            return "GET", f"/api/v1/messages?limit=50&q={self.rng.choice(self.seeded.subject_words)}".replace(
                " ", "%20"), user, None
        if kind == "list_q_recipient":
            return "GET", f"/api/v1/messages?limit=50&q={self.rng.choice(self.seeded.recipient_domains)}.com", \
                user, None
        if kind == "detail":
            return "GET", f"/api/v1/messages/{self.rng.choice(user.public_ids)}", user, None
        if kind == "status":
            threads = list(user.thread_ids)
            self.rng.shuffle(threads)
            # A Gmail inbox page shows tracked and untracked threads side by side: fill up to 100 with unknown ids.
            ids = threads[:100] + [f"{self.rng.getrandbits(64):016x}" for _ in range(100 - min(100, len(threads)))]
            return "POST", "/api/v1/messages/status", user, json.dumps({"thread_ids": ids}).encode()
        raise ValueError(kind)

    async def _call(self, conn: HttpConnection, kind: str, scheduled: float | None = None) -> float | None:
        """Milliseconds from `scheduled` (or from now) to the whole answer; None for anything but a 200."""
        method, path, user, body = self._request(kind)
        headers = {"Authorization": f"Bearer {user.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = scheduled if scheduled is not None else time.perf_counter()
        response = await conn.request(method, path, headers=headers, body=body)
        return (time.perf_counter() - started) * 1000 if response.status == 200 else None

    async def collect_cursors(self) -> None:
        conn = HttpConnection("127.0.0.1", self.api_port)
        for user in self.seeded.users:
            response = await conn.request("GET", "/api/v1/messages?limit=50",
                                          headers={"Authorization": f"Bearer {user.token}"})
            if response.status != 200:
                raise RuntimeError(f"list answered {response.status}: {response.body[:200]!r}")
            if response.json()["next_cursor"]:
                self.cursors[user.id] = response.json()["next_cursor"]
        await conn.close()

    async def three_ways(self, name: str, fire: Fire, *, count: int, rate: float, clients: int,
                         goal: float | None, gap: tuple[float, float] = (0.0, 0.0)) -> None:
        """The same call one at a time, then arriving at `rate` per second, then from `clients` clients at once."""
        conn = HttpConnection("127.0.0.1", self.api_port)
        figure = Figure(name, "1 at a time", [], 0.0, goal_ms=goal, show_rate=not gap[1])
        started = time.perf_counter()
        for _ in range(count):
            figure.add(await fire(conn, None))
            if gap[1]:
                await asyncio.sleep(self.rng.uniform(*gap))
        figure.seconds = time.perf_counter() - started
        self.figures.append(figure)
        await conn.close()
        self.figures.append(await self._open_loop(name, fire, count=count, rate=rate, goal=goal))
        self.figures.append(await self._closed_loop(name, fire, count=count, clients=clients, goal=goal))

    async def _open_loop(self, name: str, fire: Fire, *, count: int, rate: float, goal: float | None) -> Figure:
        """Arrivals at random (Poisson) times, whether or not earlier calls have been answered: what a population
        of users does. Latency counts from the planned start, so a client that fell behind can't hide a stall."""
        idle: list[HttpConnection] = []
        every: list[HttpConnection] = []
        figure = Figure(name, f"{rate:g}/s", [], 0.0, goal_ms=goal)

        async def one(planned: float) -> None:
            if idle:
                conn = idle.pop()
            else:
                conn = HttpConnection("127.0.0.1", self.api_port)
                every.append(conn)
            try:
                figure.add(await fire(conn, planned))
            finally:
                idle.append(conn)

        tasks = []
        started = planned = time.perf_counter()
        for _ in range(count):
            planned += self.rng.expovariate(rate)
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(planned)))
        await asyncio.gather(*tasks)
        figure.seconds = time.perf_counter() - started
        for conn in every:
            await conn.close()
        return figure

    async def _closed_loop(self, name: str, fire: Fire, *, count: int, clients: int, goal: float | None) -> Figure:
        """`clients` clients, each calling again as soon as it has its answer: the servers' saturation."""
        left = [count]
        figure = Figure(name, f"{clients} at once", [], 0.0, goal_ms=goal)

        async def client() -> None:
            conn = HttpConnection("127.0.0.1", self.api_port)
            while left[0] > 0:
                left[0] -= 1
                figure.add(await fire(conn, None))
            await conn.close()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        figure.seconds = time.perf_counter() - started
        return figure

    async def warm_up(self) -> None:
        """Every server process's connection pools, caches and code paths, before anything is timed."""
        for kind in ("list", "detail", "status", "list_q_subject"):
            async def fire(conn: HttpConnection, planned: float | None, kind: str = kind) -> float | None:
                return await self._call(conn, kind, planned)

            await self._closed_loop("warm-up", fire, count=50, clients=4, goal=None)

    async def measure_api(self, name: str, kind: str, goal: float | None) -> None:
        async def fire(conn: HttpConnection, planned: float | None) -> float | None:
            return await self._call(conn, kind, planned)

        await self.three_ways(name, fire, count=self.args.requests, rate=self.args.rate,
                              clients=self.args.concurrency, goal=goal)

    # ------------------------------------------------------------------------------------------ hit to notification

    def _targets(self, count: int) -> list[tuple[BenchUser, int, str]]:
        pool = [(u, mid, pid) for u in self.connected_users for mid, pid in u.open_targets]
        self.rng.shuffle(pool)
        if len(pool) < count:
            raise RuntimeError(f"only {len(pool)} messages can take a live hit; lower --samples")
        return pool[:count]

    async def _one_hit(self, conn: HttpConnection, target: tuple[BenchUser, int, str], ip: str,
                       planned: float | None) -> float | None:
        """Milliseconds from sending GET /o/<token> until the owner's stream has read the notification."""
        from mailbeacon.tracking import tokens

        _user, message_id, public_id = target
        token = tokens.sign("open", message_id, keyring=self.keyring)
        future = asyncio.get_running_loop().create_future()
        self.pending[public_id] = future
        headers = {"User-Agent": BROWSER_UA, "X-Forwarded-For": ip, "Accept-Language": "en-GB,en;q=0.9",
                   "Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                   "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"}
        started = planned if planned is not None else time.perf_counter()
        response = await conn.request("GET", f"/o/{token}", headers=headers)
        self.pixel_ms.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            self.pending.pop(public_id, None)
            return None
        try:
            read_at = await asyncio.wait_for(future, self.args.notify_timeout)
        except asyncio.TimeoutError:
            self.pending.pop(public_id, None)
            return None
        return (read_at - started) * 1000

    async def measure_notifications(self) -> None:
        samples = self.args.samples
        targets = iter(self._targets(samples * 3 + self.args.sparse_samples))  # each hit on a message of its own
        next_ip = _client_ips().__next__

        async def fire(conn: HttpConnection, planned: float | None) -> float | None:
            return await self._one_hit(conn, next(targets), next_ip(), planned)

        # One at a time, spaced a little at random so the samples don't fall in step with anything periodic.
        await self.three_ways("hit -> notification", fire, count=samples, rate=self.args.hit_rate,
                              clients=self.args.hit_concurrency, goal=NOTIFY_GOAL_MS, gap=(0.01, 0.05))
        # As hits really come: seconds apart, the pipeline idle in between (1,000 users' million hits over 90 days
        # are one every few seconds). Whatever only goes wrong when nothing has happened for a while shows here.
        sparse = Figure("hit -> notification", "2-6 s apart", [], 0.0, goal_ms=NOTIFY_GOAL_MS, show_rate=False)
        conn = HttpConnection("127.0.0.1", self.api_port)
        for _ in range(self.args.sparse_samples):
            await asyncio.sleep(self.rng.uniform(2.0, 6.0))
            sparse.add(await fire(conn, None))
        await conn.close()
        self.figures.append(sparse)
        self.figures.append(Figure("  /o pixel answer", "all of them", self.pixel_ms, 1.0, show_rate=False))


def _client_ips():
    """Recipients' addresses, from the documentation ranges only. Every live hit goes to a different message, so
    an address may come back for another message; within one message no two hits look like one client's repeat."""
    while True:
        for last in range(1, 255):
            for network in ("198.51.100", "203.0.113", "192.0.2"):
                yield f"{network}.{last}"


SCENARIOS = (
    ("list, first page", "list", LIST_GOAL_MS),
    ("list, next page (cursor)", "list_cursor", LIST_GOAL_MS),
    ("list, filter=opened", "list_opened", LIST_GOAL_MS),
    ("list, filter=not_opened", "list_not_opened", LIST_GOAL_MS),
    ("list, q=<subject word>", "list_q_subject", LIST_GOAL_MS),
    ("list, q=<recipient domain>", "list_q_recipient", LIST_GOAL_MS),
    ("detail (with timeline)", "detail", None),
    ("batch status, 100 threads", "status", LIST_GOAL_MS),
)


async def run_measurements(bench: Bench) -> dict[str, float]:
    info: dict = {"load_before": os.getloadavg()[0]}
    info["streams_open_s"] = await bench.open_streams()
    await bench.collect_cursors()
    await bench.warm_up()
    for name, kind, goal in SCENARIOS:
        await bench.measure_api(name, kind, goal)
    await bench.measure_notifications()
    info["streams_alive"] = sum(1 for s in bench.streams if s.alive)
    info["load_after"] = os.getloadavg()[0]
    for stream in bench.streams:
        await stream.close()
    return info


def print_report(bench: Bench, info: dict[str, float], machine: str) -> None:
    s = bench.seeded
    c = s.counts
    print()
    print(f"mailbeacon sender API — {date.today().isoformat()} — {machine}")
    print(f"data: {c['users']:,} users, {c['tracked_messages']:,} messages, {c['hits']:,} hits, {c['links']:,} links, "
          f"{c['notifications']:,} notifications; seeded in {s.seconds:.1f} s"
          if s.seconds >= 0 else "data: reused from an earlier --keep run")
    print(f"streams: {bench.args.connections:,} idle connections opened in {info['streams_open_s']:.1f} s, "
          f"{int(info['streams_alive']):,} still open at the end")
    print(f"servers: serve --workers {bench.args.serve_workers}, stream --workers {bench.args.stream_workers}, "
          f"{bench.args.hit_workers} worker(s){'' if bench.args.worker_dns else ' (reverse DNS off)'}; "
          f"PostgreSQL {info['postgres']}")
    print(f"load average (1 min) before the measurements {info['load_before']:.1f}, after {info['load_after']:.1f}"
          f" — anything well above 0 means other work shared these {os.cpu_count()} cores")
    print()
    header = f"{'call':<30} {'sent':<12} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'errors':>6}  goal"
    print(header)
    print("-" * len(header) + "-" * 14)
    for f in bench.figures:
        rate_text = f"{len(f.latencies_ms) / f.seconds:7.0f}" if f.show_rate and f.seconds else f"{'':>7}"
        goal = f"p99 < {f.goal_ms:g} ms: {f.verdict}" if f.goal_ms is not None else ""
        print(f"{f.name:<30} {f.mode:<12} {len(f.latencies_ms):>6} {f.p50:>8.1f} {f.p99:>8.1f} {rate_text} "
              f"{f.errors:>6}  {goal}")
    print()


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--messages-per-user", type=int, default=100)
    p.add_argument("--hits-per-message", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=1000, help="idle stream connections held open")
    p.add_argument("--keep", action="store_true", help="leave the database in place for a later --reuse")
    p.add_argument("--reuse", action="store_true", help="use the database a --keep run left (same shape)")
    p.add_argument("--database", default="mb_bench")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no database")
    # Not 13 as first planned: tests/conftest.py gives each test a random database from 1 to 14 and flushes it, and
    # a test's workers would take this run's jobs. 15 is outside that range.
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="flushed at the start and the end")
    p.add_argument("--requests", type=int, default=400, help="calls per kind and way of calling")
    p.add_argument("--rate", type=float, default=50.0, help="arrivals per second for the open-loop runs")
    p.add_argument("--concurrency", type=int, default=8, help="clients at once for the saturation runs")
    p.add_argument("--samples", type=int, default=300, help="hit-to-notification samples per way of sending")
    p.add_argument("--hit-rate", type=float, default=10.0, help="live hits per second for the open-loop run")
    p.add_argument("--hit-concurrency", type=int, default=10, help="hits in flight for the saturation run")
    p.add_argument("--hit-workers", type=int, default=1, help="`mailbeacon worker` processes")
    p.add_argument("--sparse-samples", type=int, default=20, help="hits sent 2-6 s apart, the pipeline idle between")
    p.add_argument("--backend", default=str(REPO / "backend"),
                   help="the package the servers run (a patched copy, to measure a change)")
    p.add_argument("--notify-timeout", type=float, default=10.0)
    p.add_argument("--serve-workers", type=int, default=2)
    p.add_argument("--stream-workers", type=int, default=1)
    p.add_argument("--worker-dns", action="store_true", help="let the worker look up reverse DNS for hit IPs")
    p.add_argument("--log-dir", help="keep the servers' logs here (default: a temporary directory)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shape = SeedShape(users=args.users, messages_per_user=args.messages_per_user,
                      hits_per_message=args.hits_per_message)
    admin = database_admin(args.postgres, args.database)
    from mailbeacon.config import Config
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage import migrate

    with tempfile.TemporaryDirectory(prefix="mb-bench-api-") as tmp:
        logs = Path(args.log_dir) if args.log_dir else Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        procs = Processes(logs)
        created = False
        try:
            if args.reuse:
                from api_seed import reuse

                seeded = reuse(admin.url, shape)
            else:
                admin.recreate()
                created = True
                migrate.upgrade(admin.sqlalchemy_url)
                print(f"seeding {args.users:,} users x {args.messages_per_user} messages x ~{args.hits_per_message:g}"
                      f" hits ...", file=sys.stderr)
                seeded = seed(admin.url, shape)
                wrong = check_summaries(admin.url)
                if wrong:
                    raise RuntimeError(f"seeding bug: {wrong} messages' summaries disagree with their hits")
            redis_flush(args.redis)
            api_port, stream_port = free_port(), free_port()
            env = {**os.environ, "PYTHONPATH": str(Path(args.backend).resolve()),
                   "MAILBEACON_DATABASE_URL": admin.url, "MAILBEACON_REDIS_URL": args.redis,
                   "MAILBEACON_SECRET_KEY": "bench-" + os.urandom(24).hex(), "MAILBEACON_TRUSTED_PROXIES": "1",
                   "MAILBEACON_API_RATE_PER_MINUTE": "100000000", "MAILBEACON_LOG_LEVEL": "WARNING",
                   "MAILBEACON_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
                   "MAILBEACON_STREAM_URL": f"http://127.0.0.1:{stream_port}",
                   "MAILBEACON_SPOOL_DIR": str(Path(tmp) / "spool"), "MAILBEACON_HOST": "127.0.0.1"}
            keyring = Runtime(Config.from_env(env)).keyring
            per_stream_process = args.connections // max(1, args.stream_workers) + 500
            procs.start_mailbeacon("serve", ["serve", "--workers", str(args.serve_workers)], env, api_port)
            procs.start_mailbeacon("stream", ["stream", "--workers", str(args.stream_workers), "--connections",
                                              str(max(2000, per_stream_process))], env, stream_port)
            for n in range(args.hit_workers):
                procs.start_mailbeacon(f"worker-{n + 1}", ["worker"], env, None, dns=args.worker_dns)
            wait_http(api_port, "/healthz", procs, "serve")
            wait_http(stream_port, "/healthz", procs, "stream")
            bench = Bench(args, seeded, api_port, stream_port, keyring)
            info = asyncio.run(run_measurements(bench))
            with psycopg.connect(admin.url) as conn:
                info["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            print_report(bench, info, machine_description())
            missed = [f for f in bench.figures if f.verdict == "MISSED"]
            return 1 if missed else 0
        finally:
            procs.stop_all()
            redis_flush(args.redis)
            if created and not args.keep:
                admin.drop()


if __name__ == "__main__":
    sys.exit(main())
