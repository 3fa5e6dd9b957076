"""Seeding PostgreSQL for bench/api.py: users, tracked messages, links, hits and notifications in realistic shapes.

Rows are made in Python with a seeded random generator and written with COPY (psycopg's cursor.copy()), with
foreign-key triggers off for the load (session_replication_role = replica) since every reference is made
consistent here. The shapes follow what the product stores:

- each user has one mail account (three in four Gmail, the rest Outlook) and sends over the last 90 days;
- messages carry subjects, one to four recipients and thread ids, some threads hold follow-ups, a few sends
  failed and a few went out untracked;
- ids rise with time across users, as they do in production, so one user's rows are spread over the heap;
- hits arrive over hours to days (machines within minutes), are a mix of every kind the classifier gives, and
  are written in arrival order; each message's summary columns and each link's counts are computed from its
  hits the way storage/summary.py computes them; the first human open and every human click notified.
"""

from __future__ import annotations

import base64
import gc
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg

from mailbeacon.crypto import hash_api_token
from mailbeacon.services.api_tokens import TOKEN_PREFIX

DAY = 86400.0
OPEN_KINDS = ("human", "proxy_open")  # what storage/summary.py counts as a real open
UNOPENED_SHARE = 0.35

FIRST = ("alex", "maria", "sam", "li", "noah", "emma", "ravi", "chloe", "omar", "ines", "jonas", "sofia", "yuki",
         "tom", "ana", "lucas", "mia", "ethan", "zoe", "hugo")
LAST = ("martin", "garcia", "chen", "smith", "muller", "rossi", "kowalski", "silva", "nguyen", "dubois", "khan",
        "novak", "tanaka", "olsen", "moreau", "brown")
COMPANIES = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell", "soylent",
             "cyberdyne", "wonka", "oscorp", "aperture", "blackmesa", "massive", "pied-piper", "gringotts")
TOPICS = ("Quick question about your {x} rollout", "Following up: {x} pricing", "Proposal for {x}",
          "Re: {x} onboarding next steps", "Intro: {x} for your team", "Your {x} trial is ending",
          "Invoice {n} for {x}", "Can we talk {x} this week?", "{x} case study you asked for",
          "Re: Re: {x} contract redlines", "Meeting notes — {x} review", "Last chance: {x} renewal")
PRODUCTS = ("analytics", "CRM", "billing", "security audit", "data pipeline", "support desk", "payroll",
            "inventory", "forecasting", "compliance")
LINK_URLS = ("https://calendly.com/{u}/30min", "https://{c}.example.com/pricing?plan=pro&ref=mail",
             "https://docs.example.org/case-studies/{c}.pdf", "https://www.example.com/demo#book",
             "https://meet.example.net/j/{n}?pwd=Zx9%2Fq")

CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148")
OUTLOOK = ("Mozilla/4.0 (compatible; ms-office; MSOffice 16) Microsoft Outlook 16.0.17928; Pro")
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
SCANNER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0 Safari/537.36"

# kind -> (weight, user agent, device class, client, reason, seconds-after-send scale)
HIT_KINDS = {
    "open": (
        ("human", 40, CHROME, "desktop", "Chrome", "opened in Chrome on macOS", 1.5 * DAY),
        ("human", 12, IPHONE, "mobile", "Apple Mail", "opened in Apple Mail on iPhone", 1.0 * DAY),
        ("proxy_open", 22, GMAIL_PROXY, None, "Gmail", "opened in Gmail (Google image proxy)", 1.5 * DAY),
        ("prefetch", 10, "Mozilla/5.0", None, None, "Apple Mail Privacy Protection prefetch", 300.0),
        ("self", 6, CHROME, "desktop", "Chrome", "the sender viewing their own message", 600.0),
        ("unknown", 6, "", None, None, "no user agent", 3600.0),
        ("human", 4, OUTLOOK, "desktop", "Outlook", "opened in Outlook on Windows", 1.0 * DAY),
    ),
    "click": (
        ("human", 45, CHROME, "desktop", "Chrome", "clicked in Chrome on macOS", 1.5 * DAY),
        ("scanner", 40, SCANNER, None, None, "security gateway: link fetched 4 s after delivery", 60.0),
        ("preview", 15, "Mozilla/5.0 (compatible; LinkPreview/1.0)", None, None, "link preview fetch", 30.0),
    ),
}
PLACES = ("Paris, FR", "Berlin, DE", "Austin, US", "London, GB", "Toronto, CA", None, None)


@dataclass(frozen=True)
class SeedShape:
    users: int = 1000
    messages_per_user: int = 100
    hits_per_message: float = 10.0
    days: int = 90
    seed: int = 20240601


@dataclass
class BenchUser:
    id: int
    email: str
    token: str
    message_ids: list[int] = field(default_factory=list)
    public_ids: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)       # distinct, oldest first
    # Sent with open tracking: fair game for a live hit that must notify.
    open_targets: list[tuple[int, str]] = field(default_factory=list)
    last_notification_id: int = 0


@dataclass
class Seeded:
    users: list[BenchUser]
    counts: dict[str, int]
    seconds: float
    subject_words: tuple[str, ...] = PRODUCTS
    recipient_domains: tuple[str, ...] = COMPANIES


_DAYS: dict[int, str] = {}


def _ts(epoch: float) -> str:
    """A UTC timestamp as PostgreSQL reads it; a million of these, so the date part is worked out once a day."""
    day, micros = divmod(round(epoch * 1_000_000), 86_400_000_000)  # whole microseconds: no "60.000000"
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = datetime.fromtimestamp(day * DAY, tz=timezone.utc).strftime("%Y-%m-%d")
    seconds, micros = divmod(micros, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}.{micros:06d}+00"


def _b(value: bool) -> str:
    return "t" if value else "f"


def _opt(value) -> str:
    return "\\N" if value is None else str(value)


def _json(value) -> str:
    # COPY's text format treats a backslash as an escape; none of the generated values contain one or a tab.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert "\\" not in text and "\t" not in text and "\n" not in text
    return text


class _Rows:
    """Buffered COPY rows for one table."""

    def __init__(self, table: str, columns: str) -> None:
        self.table, self.columns = table, columns
        self.lines: list[str] = []

    def add(self, *values: str) -> None:
        self.lines.append("\t".join(values))

    def copy(self, cur: psycopg.Cursor) -> int:
        with cur.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
            for start in range(0, len(self.lines), 20000):
                copy.write("\n".join(self.lines[start:start + 20000]) + "\n")
        return len(self.lines)


@dataclass
class _Message:
    id: int
    user: BenchUser
    created: float
    provider: str
    account_id: int
    thread_id: str
    public_id: str
    subject: str
    recipients: list[str]
    status: str
    track_opens: bool
    track_clicks: bool
    link_ids: list[int] = field(default_factory=list)     # position -> link id; the last one is the honeypot
    link_urls: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


class _Generator:
    def __init__(self, shape: SeedShape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.now = time.time()

    def token_text(self, nbytes: int) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(nbytes)).rstrip(b"=").decode()

    def hexid(self) -> str:
        return self.rng.randbytes(8).hex()

    def users(self, rows: dict[str, _Rows]) -> list[BenchUser]:
        users = []
        for uid in range(1, self.shape.users + 1):
            email = f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}.{uid}@seller{uid % 37}.example.com"
            user = BenchUser(uid, email, TOKEN_PREFIX + self.token_text(32))
            users.append(user)
            created = self.now - (self.shape.days + 30) * DAY
            provider = "gmail" if uid % 4 else "outlook"
            rows["users"].add(str(uid), email, email.split("@")[0].replace(".", " ").title(), "f", _ts(created))
            rows["mail_accounts"].add(str(uid), str(uid), provider, email, f"sub-{uid}", "connected", _ts(created),
                                      _ts(created))
            rows["user_settings"].add(str(uid), "t", "t", "t", "t", "t", "t", "t", "UTC", "f", _ts(created))
            rows["api_tokens"].add(str(uid), str(uid), hash_api_token(user.token), "bench", "extension",
                                   _ts(created), _ts(self.now + 30 * DAY))
        return users

    def messages(self, users: list[BenchUser]) -> list[_Message]:
        span = self.shape.days * DAY
        drafts = []
        for user in users:
            provider = "gmail" if user.id % 4 else "outlook"
            threads: list[str] = []
            for created in sorted(self.now - 600 - self.rng.random() * span
                                  for _ in range(self.shape.messages_per_user)):
                if threads and self.rng.random() < 0.3:
                    thread = self.rng.choice(threads[-10:])  # a follow-up in a recent conversation
                else:
                    thread = self.hexid() if provider == "gmail" else "AAQkAG" + self.token_text(33)
                    threads.append(thread)
                drafts.append((created, user, provider, thread))
            user.thread_ids = threads
        drafts.sort(key=lambda d: d[0])  # ids rise with time across all users, as in production
        messages = []
        for mid, (created, user, provider, thread) in enumerate(drafts, start=1):
            company = self.rng.choice(COMPANIES)
            recipients = [f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}@{company}.com"
                          for _ in range(1 if self.rng.random() < 0.8 else self.rng.randint(2, 4))]
            subject = self.rng.choice(TOPICS).format(x=self.rng.choice(PRODUCTS), n=self.rng.randint(1000, 9999))
            status = "failed" if self.rng.random() < 0.02 else "sent"
            tracked = self.rng.random() >= 0.05
            message = _Message(mid, user, created, provider, user.id, thread, self.token_text(12), subject,
                               recipients, status, tracked, tracked and self.rng.random() < 0.9)
            user.message_ids.append(mid)
            user.public_ids.append(message.public_id)
            if status == "sent" and tracked:
                user.open_targets.append((mid, message.public_id))
            messages.append(message)
        return messages

    def links(self, messages: list[_Message]) -> None:
        link_id = 0
        for m in messages:
            if not m.track_clicks:
                continue
            count = self.rng.choice((0, 1, 1, 2, 2, 2, 3, 4))
            urls = [self.rng.choice(LINK_URLS).format(u=m.user.email.split("@")[0], c=self.rng.choice(COMPANIES),
                                                      n=self.rng.randint(10**8, 10**9)) for _ in range(count)]
            if count:
                urls.append(f"https://t.example.com/hp/{m.public_id}")  # the hidden honeypot link, last
            for url in urls:
                link_id += 1
                m.link_ids.append(link_id)
                m.link_urls.append(url)

    def hits(self, messages: list[_Message]) -> list[tuple]:
        eligible = [m for m in messages if m.status == "sent" and (m.track_opens or m.track_clicks)]
        mean = self.shape.hits_per_message * len(messages) / max(1, len(eligible))
        out = []
        rng = self.rng
        open_weights = [k[1] for k in HIT_KINDS["open"]]
        click_weights = [k[1] for k in HIT_KINDS["click"]]
        for m in eligible:
            # About a third of sent mail is never opened; the rest shares the hits, a few messages very many.
            count = 0 if rng.random() < UNOPENED_SHARE or mean <= 0 else \
                int(rng.expovariate((1.0 - UNOPENED_SHARE) / mean) + 0.5)
            real_links = len(m.link_ids) - 1
            for _ in range(count):
                is_click = real_links > 0 and (not m.track_opens or rng.random() < 0.25)
                if not is_click and not m.track_opens:
                    continue
                if is_click:
                    spec = rng.choices(HIT_KINDS["click"], click_weights)[0]
                    # Scanners follow the honeypot too; people never see it.
                    position = (real_links if spec[0] == "scanner" and rng.random() < 0.3
                                else rng.randrange(real_links))
                else:
                    spec = rng.choices(HIT_KINDS["open"], open_weights)[0]
                    position = None
                at = m.created + 2 + rng.expovariate(1.0 / spec[6])
                if at > self.now - 600:
                    continue  # not happened yet; nor, for the live hits to come, a burst a moment ago
                counted = rng.random() >= 0.08  # a repeat seconds later: kept, not counted
                out.append((at, m, "click" if is_click else "open", spec, position, counted))
        out.sort(key=lambda h: h[0])  # written in arrival order, so one message's hits are spread out
        return out


_FACTS = ('{{"at":{at},"link":{link},"links_in_message":{links},"honeypot":{honeypot},"seconds_since_sent":{since},'
          '"headers":{{"accept":"image/avif,image/webp,*/*"}},"reverse_dns":null,"forward_confirmed":null,'
          '"asn":null,"sender_viewing_seconds_ago":null,"sender_cookie":false}}')


def _hit_rows(g: _Generator, hits: list[tuple], rows: dict[str, _Rows]) -> None:
    rng = g.rng
    notification_id = 0
    for hit_id, (at, m, hit_type, spec, position, counted) in enumerate(hits, start=1):
        kind, _w, agent, device, client, reason, _scale = spec
        link_id = m.link_ids[position] if position is not None else None
        occurred = _ts(at)
        a, b, c = rng.randbytes(3)
        prefix = f"{a % 223 + 1}.{b}.{c}.0/24"
        # The facts record_hits.py keeps, written out directly: json.dumps was a third of the seeding time.
        facts = _FACTS.format(at=at, link="null" if position is None else position,
                              links=(len(m.link_ids) - 1) or "null",
                              honeypot="true" if position is not None and position == len(m.link_ids) - 1
                              else "false", since=round(at - m.created, 3))
        rows["hits"].add(str(hit_id), rng.randbytes(16).hex(), str(m.id), _opt(link_id), hit_type, "GET", kind,
                         reason if counted else reason + "; repeat within 10 s", agent or "\\N", prefix,
                         _opt(device), _opt(client), _opt(rng.choice(PLACES) if device else None), _b(counted),
                         facts, occurred, occurred)
        if not counted or kind == "self":
            continue
        s = m.stats
        if hit_type == "open":
            if kind in OPEN_KINDS:
                s["opens"] = s.get("opens", 0) + 1
                s.setdefault("first_open", at)
                s["last_open"] = at
                notify = s["opens"] == 1
            else:
                s["machine_opens"] = s.get("machine_opens", 0) + 1
                notify = False
        else:
            per_link = s.setdefault("links", {}).setdefault(position, [0, 0, None, None])
            if kind == "human":
                s["clicks"] = s.get("clicks", 0) + 1
                s.setdefault("first_click", at)
                s["last_click"] = at
                per_link[0] += 1
                per_link[2] = per_link[2] or at
                per_link[3] = at
                notify = True
            else:
                s["machine_clicks"] = s.get("machine_clicks", 0) + 1
                per_link[1] += 1
                notify = False
        if notify:
            notification_id += 1
            payload = {"event": hit_type, "message_id": m.public_id, "subject": m.subject,
                       "recipients": m.recipients, "kind": kind, "at": occurred,
                       "link": m.link_urls[position] if position is not None else None, "thread_id": m.thread_id}
            read_at = _ts(at + 3600) if at < g.now - DAY else "\\N"
            rows["notifications"].add(str(notification_id), str(m.user.id), str(m.id), str(hit_id), hit_type,
                                      _json(payload), occurred, read_at)
            m.user.last_notification_id = notification_id


def _message_rows(messages: list[_Message], rows: dict[str, _Rows]) -> None:
    for m in messages:
        s = m.stats
        sent = m.created + 1.5 if m.status == "sent" else None
        detail = "Gmail answered 400: invalid recipient" if m.status == "failed" else None
        skipped = None if (m.track_opens or m.track_clicks) else "user_choice"
        rows["tracked_messages"].add(
            str(m.id), m.public_id, str(m.user.id), str(m.account_id), m.provider, m.thread_id[:16] + "m",
            m.thread_id, f"<{m.public_id}@mail.bench.example>", m.subject, _json(m.recipients),
            _opt(_ts(sent) if sent else None), _ts(m.created), m.status, _opt(detail), _b(m.track_opens),
            _b(m.track_clicks), _opt(skipped), _b(m.track_opens), _b(m.track_clicks), "{}",
            str(s.get("opens", 0)), str(s.get("machine_opens", 0)),
            _opt(_ts(s["first_open"]) if "first_open" in s else None),
            _opt(_ts(s["last_open"]) if "last_open" in s else None),
            str(s.get("clicks", 0)), str(s.get("machine_clicks", 0)),
            _opt(_ts(s["first_click"]) if "first_click" in s else None),
            _opt(_ts(s["last_click"]) if "last_click" in s else None))
        per_link = s.get("links", {})
        honeypot = len(m.link_ids) - 1
        for position, (link_id, url) in enumerate(zip(m.link_ids, m.link_urls)):
            human, machine, first, last = per_link.get(position, [0, 0, None, None])
            rows["links"].add(str(link_id), str(m.id), str(position), url, _b(position == honeypot), str(human),
                              str(machine), _opt(_ts(first) if first else None), _opt(_ts(last) if last else None))


TABLES = {
    "users": "id, email, display_name, is_local, created_at",
    "mail_accounts": "id, user_id, provider, address, subject_id, status, created_at, updated_at",
    "user_settings": "user_id, open_tracking_enabled, click_tracking_enabled, notifications_enabled, "
                     "default_track_opens, default_track_clicks, notify_every_open, notify_clicks, timezone, "
                     "outlook_opened_category, updated_at",
    "api_tokens": "id, user_id, token_hash, name, client, created_at, expires_at",
    "tracked_messages": "id, public_id, user_id, account_id, provider, provider_message_id, provider_thread_id, "
                        "internet_message_id, subject, recipients, sent_at, created_at, status, status_detail, "
                        "track_opens, track_clicks, tracking_skipped_reason, requested_opens, requested_clicks, "
                        "client_seen, human_open_count, machine_open_count, first_opened_at, last_opened_at, "
                        "human_click_count, machine_click_count, first_clicked_at, last_clicked_at",
    "links": "id, message_id, position, url, is_honeypot, human_click_count, machine_click_count, "
             "first_clicked_at, last_clicked_at",
    "hits": "id, hit_uid, message_id, link_id, hit_type, method, kind, reason, user_agent, ip_prefix, "
            "device_class, client, place, counted, facts, occurred_at, recorded_at",
    "notifications": "id, user_id, message_id, hit_id, event, payload, created_at, read_at",
}


def seed(conninfo: str, shape: SeedShape) -> Seeded:
    """Fill an empty, migrated database. Returns the users (with their API tokens) and what was written."""
    started = time.perf_counter()
    g = _Generator(shape)
    rows = {table: _Rows(table, columns) for table, columns in TABLES.items()}
    # Millions of small live objects: the cyclic collector would rescan them all, over and over, for nothing.
    gc.disable()
    try:
        users = g.users(rows)
        messages = g.messages(users)
        g.links(messages)
        hits = g.hits(messages)
        _hit_rows(g, hits, rows)
        _message_rows(messages, rows)
        del hits, messages
    finally:
        gc.enable()
    counts = {}
    with psycopg.connect(conninfo) as conn:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # FK triggers off: references made consistent
            for table in TABLES:
                counts[table] = rows[table].copy(cur)
                rows[table].lines.clear()
            cur.execute("SET session_replication_role = DEFAULT")
            for table in TABLES:
                if table != "user_settings":
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # statistics and the visibility map, as a database that has run a while
    return Seeded(users, counts, time.perf_counter() - started)


def reuse(conninfo: str, shape: SeedShape) -> Seeded:
    """The users of a database seeded earlier with the same shape (and kept): the generator is deterministic, so
    making the users and messages again gives the same ids and tokens without writing anything."""
    g = _Generator(shape)
    rows = {table: _Rows(table, columns) for table, columns in TABLES.items()}
    users = g.users(rows)
    g.messages(users)
    with psycopg.connect(conninfo) as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
        found = conn.execute("SELECT count(*) FROM api_tokens WHERE token_hash = %s",
                             (hash_api_token(users[0].token),)).fetchone()[0]
        if counts["users"] != shape.users or not found:
            raise SystemExit("--reuse: the database was not seeded with this shape; run once with --keep first")
        last = dict(conn.execute("SELECT user_id, max(id) FROM notifications GROUP BY user_id").fetchall())
    for user in users:
        user.last_notification_id = last.get(user.id, 0)
    return Seeded(users, counts, -1.0)


# Every message's summary columns against its stored hits, recomputed the way storage/summary.py does.
_SUMMARY_CHECK = """
WITH s AS (
  SELECT message_id,
         count(*) FILTER (WHERE hit_type = 'open' AND kind IN ('human', 'proxy_open')) AS opens,
         count(*) FILTER (WHERE hit_type = 'open' AND kind NOT IN ('human', 'proxy_open', 'self')) AS machine_opens,
         min(occurred_at) FILTER (WHERE hit_type = 'open' AND kind IN ('human', 'proxy_open')) AS first_open,
         max(occurred_at) FILTER (WHERE hit_type = 'open' AND kind IN ('human', 'proxy_open')) AS last_open,
         count(*) FILTER (WHERE hit_type = 'click' AND kind = 'human') AS clicks,
         count(*) FILTER (WHERE hit_type = 'click' AND kind NOT IN ('human', 'self')) AS machine_clicks
  FROM hits WHERE counted GROUP BY message_id)
SELECT count(*) FROM tracked_messages m LEFT JOIN s ON s.message_id = m.id
WHERE coalesce(s.opens, 0) <> m.human_open_count OR coalesce(s.machine_opens, 0) <> m.machine_open_count
   OR s.first_open IS DISTINCT FROM m.first_opened_at OR s.last_open IS DISTINCT FROM m.last_opened_at
   OR coalesce(s.clicks, 0) <> m.human_click_count OR coalesce(s.machine_clicks, 0) <> m.machine_click_count
"""


def check_summaries(conninfo: str) -> int:
    """How many messages' summaries disagree with their hits (0 for a database this module seeded)."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(_SUMMARY_CHECK).fetchone()[0]
