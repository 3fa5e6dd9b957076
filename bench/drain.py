"""The hit worker's drain rate into one hot message: does a batch cost more as the message collects hits?

    python bench/drain.py [--database sqlite|postgres|both] [--levels 0,10000,50000] [--batch-sizes 25,100]
                          [--hits-per-block 1000] [--rounds 3] [--postgres-url postgresql://postgres@127.0.0.1:5432/]

For each level it makes a message that already holds that many hits (written straight into the table, shaped as
the worker stores them, dense in time so the classifier's look-back window is full of them), then runs
`record_batch` (the job's work: policy, classification in the message's context, de-dup, insert, summary) on
batches of realistic hits: people opening and clicking from many networks, repeats within seconds, HEAD
scanners, Gmail's proxy, and every few batches a gateway's burst that re-classifies the hits around it. Two batch
sizes by default: 100, and 25, about what the request path's group commit hands on under load (a batch is what
arrived while the previous one was being written, at most one per request thread).

Two workers run side by side on the same message, in alternating blocks (old, new, new, old, ...) so that drift
on a shared machine falls on both. "Old" is the worker before the incremental summary: the full recompute on
every batch (storage/summary.py `recompute_summary`) and the look-back query left to the planner. "New" is the
worker as it is: `apply_summary_change` and the index walk of storage/hits.py. Everything else in the batch is the
same code. The ratio is worked out per round and its median printed.

SQLite runs on a file in a temporary directory; PostgreSQL on a throw-away database (`--pg-database`, default
mb_drain) created on the server and dropped afterwards. No Redis is needed: `record_batch` is called directly, as
the RQ job does (the job adds publishing and metrics, whose cost doesn't depend on the message).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from mailbeacon.config import Config  # noqa: E402
from mailbeacon.runtime import Runtime  # noqa: E402
from mailbeacon.services import record_hits  # noqa: E402
from mailbeacon.storage import hits as storage_hits, migrate  # noqa: E402
from mailbeacon.storage.models import Hit, Link, TrackedMessage, User  # noqa: E402
from mailbeacon.storage.summary import recompute_summary  # noqa: E402
from mailbeacon.tracking.networks import Networks  # noqa: E402

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
LINKS = 3
HITS_PER_SECOND = 500.0  # how densely the message's hits lie in time: a hot message's look-back window is full
SUMMARY_FIELDS = ("human_open_count", "machine_open_count", "first_opened_at", "last_opened_at",
                  "human_click_count", "machine_click_count", "first_clicked_at", "last_clicked_at")


@contextlib.contextmanager
def the_worker_before():
    """The worker as it was: the whole summary recomputed from every hit of the message on every batch, and the
    look-back query left to the planner (on PostgreSQL it may bitmap-scan and sort the whole window)."""
    incremental, walking = record_hits.apply_summary_change, storage_hits.walking_the_index

    def recompute(session, message, links, change, kinds):
        session.flush()
        recompute_summary(session, message, kinds)

    record_hits.apply_summary_change = recompute
    storage_hits.walking_the_index = lambda session: contextlib.nullcontext()
    try:
        yield
    finally:
        record_hits.apply_summary_change, storage_hits.walking_the_index = incremental, walking


class Workload:
    """Hits as the request path hands them on, generated from a seed so both paths get the same kind of load."""

    def __init__(self, message_id: int, start: float, seed: int) -> None:
        self.message_id = message_id
        self.clock = start
        self.rng = random.Random(seed)
        self.batches = 0

    def _hit(self, kind: str, at: float, *, ip: str, link: int | None = None, ua: str = CHROME,
             method: str = "GET") -> dict:
        return {"uid": secrets.token_hex(16), "at": at, "type": kind, "message_id": self.message_id, "link": link,
                "method": method, "user_agent": ua, "ip": ip, "headers": {"Accept": "image/*"}}

    def batch(self, size: int) -> list[dict]:
        rng, hits = self.rng, []
        self.batches += 1
        burst_at = rng.randrange(size) if self.batches % 5 == 0 else -1
        while len(hits) < size:
            self.clock += rng.expovariate(HITS_PER_SECOND)
            at = self.clock
            if len(hits) == burst_at:  # a gateway clicks every link within a second
                hits += [self._hit("click", at + 0.2 * i, ip="192.0.2.66", link=i) for i in range(LINKS)]
                continue
            roll = rng.random()
            ip = f"{rng.randrange(11, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if roll < 0.05:
                hits.append(self._hit("open", at, ip="192.0.2.80", method="HEAD"))
            elif roll < 0.10:
                hits.append(self._hit("open", at, ip="66.249.84.10", ua=GMAIL_PROXY))
            elif roll < 0.15 and hits:
                repeat = dict(hits[-1], uid=secrets.token_hex(16), at=at)  # the same client again, seconds later
                hits.append(repeat)
            elif roll < 0.30:
                hits.append(self._hit("click", at, ip=ip, link=rng.randrange(LINKS)))
            else:
                hits.append(self._hit("open", at, ip=ip))
        return hits[:size]


def make_message(rt: Runtime, label: str) -> int:
    with rt.db.transaction() as s:
        user = s.scalar(select(User).where(User.email == "drain@example.com"))
        if user is None:
            user = User(email="drain@example.com")
            s.add(user)
            s.flush()
        sent = datetime.now(timezone.utc) - timedelta(days=2)
        message = TrackedMessage(user_id=user.id, subject=f"drain {label}", recipients=["reader@example.org"],
                                 track_opens=True, track_clicks=True, status="sent", sent_at=sent, created_at=sent)
        s.add(message)
        s.flush()
        for i in range(LINKS):
            s.add(Link(message_id=message.id, position=i, url=f"https://example.com/{i}"))
        s.add(Link(message_id=message.id, position=LINKS, url="https://honeypot.invalid/", is_honeypot=True))
        return message.id


def prefill(rt: Runtime, message_id: int, count: int, end: float) -> None:
    """`count` stored hits ending at `end`, as the worker writes them (a tenth machine, a few repeats)."""
    rng = random.Random(count)
    with rt.db.transaction() as s:
        links = [l.id for l in s.scalars(select(Link).where(Link.message_id == message_id, Link.is_honeypot.is_(False))
                                         .order_by(Link.position))]
        message = s.get(TrackedMessage, message_id)
        sent = message.sent_at.timestamp()
        rows = []
        for i in range(count):
            at = end - (count - i) / HITS_PER_SECOND
            click = rng.random() < 0.15
            link = rng.randrange(LINKS) if click else None
            kind = "scanner" if rng.random() < 0.1 else ("human" if click or rng.random() < 0.9 else "proxy_open")
            rows.append({
                "hit_uid": secrets.token_hex(16), "message_id": message_id,
                "link_id": links[link] if click else None, "hit_type": "click" if click else "open",
                "method": "GET", "kind": kind, "reason": "prefilled by bench/drain.py", "user_agent": CHROME,
                "ip_prefix": f"{rng.randrange(11, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
                "device_class": "desktop", "client": "Chrome", "counted": rng.random() > 0.03,
                "occurred_at": datetime.fromtimestamp(at, tz=timezone.utc),
                "recorded_at": datetime.now(timezone.utc),
                "facts": {"at": at, "link": link, "links_in_message": LINKS, "honeypot": False,
                          "seconds_since_sent": at - sent, "headers": {"Accept": "image/*"}, "reverse_dns": None,
                          "forward_confirmed": None, "asn": None, "sender_viewing_seconds_ago": None,
                          "sender_cookie": False},
            })
            if len(rows) == 5000:
                s.execute(insert(Hit), rows)
                rows = []
        if rows:
            s.execute(insert(Hit), rows)
        s.flush()
        recompute_summary(s, message, record_hits.SUMMARY_KINDS)


def run_block(rt: Runtime, workload: Workload, batches: int, size: int, networks: Networks) -> tuple[int, float]:
    hits, elapsed = 0, 0.0
    for _ in range(batches):
        batch = workload.batch(size)
        started = time.perf_counter()
        result = record_hits.record_batch(rt, batch, networks=networks)
        elapsed += time.perf_counter() - started
        hits += result.stored
    return hits, elapsed


def summary_matches_recompute(rt: Runtime, message_id: int) -> bool:
    s = rt.db.session()
    try:
        message = s.get(TrackedMessage, message_id)
        links = s.scalars(select(Link).where(Link.message_id == message_id).order_by(Link.position)).all()
        kept = [getattr(message, f) for f in SUMMARY_FIELDS] + [
            (l.human_click_count, l.machine_click_count, l.first_clicked_at, l.last_clicked_at) for l in links]
        recompute_summary(s, message, record_hits.SUMMARY_KINDS)
        s.flush()
        again = [getattr(message, f) for f in SUMMARY_FIELDS] + [
            (l.human_click_count, l.machine_click_count, l.first_clicked_at, l.last_clicked_at) for l in links]
        return kept == again
    finally:
        s.rollback()
        s.close()


def bench_backend(name: str, url: str, args, spool: Path) -> list[dict]:
    rows = []
    migrate.upgrade(url)
    rt = Runtime(Config.from_env({"MAILBEACON_DATABASE_URL": url, "MAILBEACON_PUBLIC_URL": "https://t.example.test",
                                  "MAILBEACON_SECRET_KEY": "drain-bench-secret-0123456789abcdef",
                                  "MAILBEACON_SPOOL_DIR": str(spool)}))
    try:
        for size in args.batch_sizes:
            for level in args.levels:
                rows.append(bench_level(rt, name, level, size, args))
    finally:
        rt.db.dispose()
    return rows


def bench_level(rt: Runtime, name: str, level: int, size: int, args) -> dict:
    networks = Networks.load(None)
    batches = max(1, args.hits_per_block // size)
    message_id = make_message(rt, f"{name} {level} by {size}")
    start = time.time() - 3600
    prefill(rt, message_id, level, start)
    workload = Workload(message_id, start, seed=level + size)
    run_block(rt, workload, 2, size, networks)  # warm caches and connections on this message
    rates: dict[str, list[float]] = {"old": [], "new": []}
    ratios = []
    for round_no in range(args.rounds):
        order = ("old", "new") if round_no % 2 == 0 else ("new", "old")
        this_round = {}
        for path in order:
            with the_worker_before() if path == "old" else contextlib.nullcontext():
                hits, elapsed = run_block(rt, workload, batches, size, networks)
            this_round[path] = hits / elapsed
            rates[path].append(hits / elapsed)
        ratios.append(this_round["new"] / this_round["old"])
    with rt.db.session() as s:
        total = s.scalar(select(func.count()).select_from(Hit).where(Hit.message_id == message_id))
    row = {"backend": name, "level": level, "size": size, "old": statistics.median(rates["old"]),
           "new": statistics.median(rates["new"]), "ratio": statistics.median(ratios), "total": total,
           "exact": summary_matches_recompute(rt, message_id)}
    print(f"  {name}, batches of {size}: {level:>6,} hits before: old {row['old']:7,.0f} hits/s, "
          f"new {row['new']:7,.0f} hits/s, new/old {row['ratio']:.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)});"
          f" {total:,} hits after; summary equals the recompute: {row['exact']}", flush=True)
    return row


@contextlib.contextmanager
def postgres_database(server_url: str, name: str):
    server = server_url if "+psycopg" in server_url else server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server)._replace(path="/" + name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[0, 10_000, 50_000])
    p.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[25, 100])
    p.add_argument("--hits-per-block", type=int, default=1000, help="hits per path per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/")
    p.add_argument("--pg-database", default="mb_drain")
    args = p.parse_args()

    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[0]}; {args.hits_per_block} hits per path per round, "
              f"{args.rounds} rounds", flush=True)
    began = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mb-drain-") as tmp:
        if args.database in ("sqlite", "both"):
            rows += bench_backend("SQLite", f"sqlite:///{tmp}/drain.db", args, Path(tmp) / "spool")
        if args.database in ("postgres", "both"):
            with postgres_database(args.postgres_url, args.pg_database) as url:
                rows += bench_backend("PostgreSQL", url, args, Path(tmp) / "spool")
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[0]}; {time.perf_counter() - began:.0f} s in all")
    print("\n| database | batch | hits in the message | old: full recompute, hits/s | new: incremental, hits/s "
          "| new ÷ old |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['backend']} | {row['size']} | {row['level']:,} | {row['old']:,.0f} | {row['new']:,.0f} "
              f"| {row['ratio']:.1f} |")
    return 0 if all(row["exact"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
