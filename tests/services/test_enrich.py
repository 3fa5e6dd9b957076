"""The worker's look-ups, against a local resolver stand-in (no real DNS)."""

import socket
import threading
from dataclasses import replace

import pytest

from mailbeacon.services.enrich import Enricher
from mailbeacon.tracking.classify import HitFacts, classify
from mailbeacon.tracking.netlists import AsnTable
from mailbeacon.tracking.networks import Networks

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


class StandInResolver:
    """Answers from a table, like a tiny local DNS zone; counts the questions it is asked."""

    def __init__(self, ptr: dict[str, str], forward: dict[str, list[str]]) -> None:
        self.ptr, self.forward = ptr, forward
        self.calls: list[tuple[str, str]] = []
        self.block = threading.Event()
        self.blocking = False
        self.lock = threading.Lock()

    def _ask(self, kind: str, key: str) -> None:
        with self.lock:
            self.calls.append((kind, key))
        if self.blocking:
            self.block.wait(5)

    def gethostbyaddr(self, ip):
        self._ask("ptr", ip)
        if ip not in self.ptr:
            raise socket.herror(1, "Unknown host")
        return self.ptr[ip], [], [ip]

    def getaddrinfo(self, host, port):
        self._ask("fwd", host)
        if host not in self.forward:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = lambda a: socket.AF_INET6 if ":" in a else socket.AF_INET  # noqa: E731
        return [(family(a), socket.SOCK_STREAM, 6, "", (a, 0)) for a in self.forward[host]]


class BrokenResolver:
    def gethostbyaddr(self, ip):
        raise RuntimeError("resolver library bug")

    def getaddrinfo(self, host, port):
        raise RuntimeError("resolver library bug")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def resolver() -> StandInResolver:
    return StandInResolver(
        ptr={"198.51.100.41": "mx0b-00190b01.pphosted.com.",
             "198.51.100.66": "mx0b-00190b01.pphosted.com",
             "2001:db8::25": "gw.example.net"},
        forward={"mx0b-00190b01.pphosted.com": ["198.51.100.41"],
                 "gw.example.net": ["2001:0db8:0000::25"]},
    )


def a_hit(ip: str | None = "198.51.100.41", **changes) -> HitFacts:
    hit = HitFacts(id="h", message="m", hit="click", method="GET", user_agent=CHROME, ip=ip,
                   seconds_since_sent=3600.0, headers={"Accept-Language": "en"}, link=0, links_in_message=1)
    return replace(hit, **changes)


def test_reverse_dns_is_looked_up_and_forward_confirmed(resolver):
    enriched = Enricher(resolver=resolver).enrich(a_hit())
    assert enriched.reverse_dns == "mx0b-00190b01.pphosted.com"
    assert enriched.forward_confirmed is True


def test_a_ptr_name_that_resolves_elsewhere_is_not_confirmed(resolver):
    # Anyone can write "pphosted.com" into their own PTR record; it will not resolve back to them.
    enriched = Enricher(resolver=resolver).enrich(a_hit("198.51.100.66"))
    assert enriched.reverse_dns == "mx0b-00190b01.pphosted.com"
    assert enriched.forward_confirmed is False
    assert classify(enriched, Networks.load(None)).kind == "human"


def test_confirmed_gateway_name_turns_the_hit_into_a_scanner(resolver):
    enriched = Enricher(resolver=resolver).enrich(a_hit())
    assert classify(enriched, Networks.load(None)).kind == "scanner"


def test_ipv6_answers_are_compared_after_normalising(resolver):
    enriched = Enricher(resolver=resolver).enrich(a_hit("2001:db8::25"))
    assert (enriched.reverse_dns, enriched.forward_confirmed) == ("gw.example.net", True)


def test_an_address_without_a_name_stays_without_one(resolver):
    enriched = Enricher(resolver=resolver).enrich(a_hit("203.0.113.5"))
    assert (enriched.reverse_dns, enriched.forward_confirmed) == (None, None)


def test_fields_already_known_are_not_looked_up_again(resolver):
    given = a_hit(reverse_dns="given.example", forward_confirmed=False, asn=64500)
    enricher = Enricher(resolver=resolver, asn_table=AsnTable([(4, 0, 2**32 - 1, 15324)]))
    assert enricher.enrich(given) == given
    assert resolver.calls == []


def test_a_given_name_without_confirmation_gets_confirmed(resolver):
    enriched = Enricher(resolver=resolver).enrich(a_hit(reverse_dns="mx0b-00190b01.pphosted.com"))
    assert enriched.forward_confirmed is True
    assert resolver.calls == [("fwd", "mx0b-00190b01.pphosted.com")]


def test_asn_comes_from_the_local_table(resolver):
    table = AsnTable.from_ip2asn_tsv("198.51.100.0\t198.51.100.255\t15324\tUS\tBARRACUDA\n")
    enriched = Enricher(resolver=resolver, asn_table=table).enrich(a_hit())
    assert enriched.asn == 15324
    assert classify(replace(enriched, reverse_dns=None), Networks.load(None)).kind == "scanner"


def test_hits_without_an_address_are_returned_unchanged(resolver):
    hit = a_hit(ip=None)
    assert Enricher(resolver=resolver).enrich(hit) is hit
    assert resolver.calls == []


def test_answers_are_cached_until_they_expire(resolver):
    clock = FakeClock()
    enricher = Enricher(resolver=resolver, cache_ttl=60, clock=clock)
    for _ in range(5):
        enricher.enrich(a_hit())
    assert resolver.calls == [("ptr", "198.51.100.41"), ("fwd", "mx0b-00190b01.pphosted.com")]
    clock.now += 61
    enricher.enrich(a_hit())
    assert len(resolver.calls) == 4


def test_no_such_name_is_cached_as_an_answer_too(resolver):
    enricher = Enricher(resolver=resolver)
    for _ in range(3):
        enricher.enrich(a_hit("203.0.113.5"))
    assert resolver.calls == [("ptr", "203.0.113.5")]


def test_a_resolver_that_does_not_answer_in_time_leaves_the_fields_absent(resolver):
    resolver.blocking = True
    enricher = Enricher(resolver=resolver, timeout=0.05, failure_ttl=60)
    try:
        enriched = enricher.enrich(a_hit())
        assert (enriched.reverse_dns, enriched.forward_confirmed) == (None, None)
        enricher.enrich(a_hit())  # the failure is remembered for a while: not asked again
        assert resolver.calls == [("ptr", "198.51.100.41")]
    finally:
        resolver.block.set()


def test_a_failed_look_up_is_retried_once_its_short_ttl_passes(resolver):
    clock = FakeClock()
    resolver.blocking = True
    # Generous timeout: the retry must be answered in time even on a loaded machine.
    enricher = Enricher(resolver=resolver, timeout=0.3, failure_ttl=30, cache_ttl=3600, clock=clock)
    enricher.enrich(a_hit())
    resolver.block.set()
    resolver.blocking = False
    clock.now += 31
    assert enricher.enrich(a_hit()).forward_confirmed is True


def test_a_broken_resolver_never_raises():
    enriched = Enricher(resolver=BrokenResolver()).enrich(a_hit())
    assert (enriched.reverse_dns, enriched.forward_confirmed) == (None, None)


def test_a_broken_asn_table_never_raises(resolver):
    class Broken:
        def lookup(self, ip):
            raise KeyError(ip)

    assert Enricher(resolver=resolver, asn_table=Broken()).enrich(a_hit()).asn is None


def test_concurrent_hits_from_one_address_share_one_look_up(resolver):
    resolver.blocking = True
    enricher = Enricher(resolver=resolver, timeout=5)
    results: list[HitFacts] = []
    threads = [threading.Thread(target=lambda: results.append(enricher.enrich(a_hit()))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(1000):  # until the first thread is inside the resolver (at most ~5 s)
        if resolver.calls:
            break
        threading.Event().wait(0.005)
    resolver.block.set()
    for thread in threads:
        thread.join(5)
    assert len(results) == 8
    assert {r.forward_confirmed for r in results} == {True}
    assert resolver.calls.count(("ptr", "198.51.100.41")) == 1


def test_busy_look_up_slots_fail_fast_instead_of_queueing_forever(resolver):
    resolver.blocking = True
    enricher = Enricher(resolver=resolver, timeout=0.05, max_concurrent=1)
    try:
        enricher.enrich(a_hit("198.51.100.41"))  # holds the only slot until released
        assert enricher.enrich(a_hit("198.51.100.66")).reverse_dns is None
    finally:
        resolver.block.set()


def test_offline_enricher_fills_the_asn_but_asks_no_dns(resolver):
    table = AsnTable.from_ip2asn_tsv("198.51.100.0\t198.51.100.255\t15324\tUS\tBARRACUDA\n")
    enriched = Enricher(resolver=resolver, asn_table=table, dns=False).enrich(a_hit())
    assert (enriched.asn, enriched.reverse_dns, enriched.forward_confirmed) == (15324, None, None)
    assert resolver.calls == []


def test_the_hit_worker_files_a_hit_by_the_asn_of_an_ip2asn_table_in_the_networks_dir(config, session, tmp_path):
    """The worker itself, not only `mailbeacon classify`: its enricher takes the table the lists hold."""
    import secrets
    import time

    from sqlalchemy import select

    from mailbeacon.jobs import context
    from mailbeacon.jobs.hits import process_hit_batch
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage.models import Hit

    from ..factories import make_message

    (tmp_path / "ip2asn-v4.tsv").write_text("198.51.100.0\t198.51.100.255\t15324\tUS\tBARRACUDA\n")
    rt = Runtime(config.replace(networks_dir=str(tmp_path)))
    context.use_runtime(rt)
    context.set_enricher(Enricher(dns=False))  # no DNS here: the ASN is a local look-up
    try:
        message = make_message(session, urls=["https://example.com/a"])
        process_hit_batch([{"uid": secrets.token_hex(16), "at": time.time(), "type": "click", "link": 0,
                            "message_id": message.id, "method": "GET", "user_agent": CHROME,
                            "ip": "198.51.100.9", "headers": {}}])
        with rt.db.session() as s:
            row = s.scalar(select(Hit).where(Hit.message_id == message.id))
        assert row.kind == "scanner" and "barracuda" in row.reason.lower()
        assert row.facts["asn"] == 15324
    finally:
        context.use_runtime(Runtime(config))
        rt.close()


def test_prefetch_asks_each_distinct_address_once_all_at_once_and_enrich_then_asks_nothing(resolver, monkeypatch):
    resolver.blocking = True
    enricher = Enricher(resolver=resolver, timeout=5)
    batch = ["198.51.100.41", "198.51.100.41", None, 42, "not an address", "2001:db8::25", "::ffff:198.51.100.66"]
    prefetching = threading.Thread(target=enricher.prefetch, args=(batch,), daemon=True)
    prefetching.start()
    for _ in range(1000):  # every address is asked before any answer comes back: the look-ups run side by side
        with resolver.lock:
            asked = sorted(key for kind, key in resolver.calls if kind == "ptr")
        if len(asked) == 3:
            break
        threading.Event().wait(0.005)
    assert asked == ["198.51.100.41", "198.51.100.66", "2001:db8::25"]
    resolver.block.set()
    prefetching.join(10)
    assert not prefetching.is_alive()
    asked_before = len(resolver.calls)
    enriched = [enricher.enrich(a_hit(ip)) for ip in ("198.51.100.41", "2001:db8::25", "198.51.100.66")]
    assert len(resolver.calls) == asked_before  # all cached, forward confirmations included
    assert [(e.reverse_dns, e.forward_confirmed) for e in enriched] == [
        ("mx0b-00190b01.pphosted.com", True), ("gw.example.net", True), ("mx0b-00190b01.pphosted.com", False)]

    from mailbeacon.services import enrich as enrich_module

    pools = []
    monkeypatch.setattr(enrich_module, "ThreadPoolExecutor", lambda *a, **k: pools.append(k) or 1 / 0)
    enricher.prefetch(batch)  # the next batch from the same addresses: all cached, so no threads at all
    assert pools == [] and len(resolver.calls) == asked_before


def test_prefetch_gives_up_on_a_resolver_that_never_answers(resolver):
    resolver.blocking = True  # answers only when released, which this test never does
    enricher = Enricher(resolver=resolver, timeout=0.1)
    prefetching = threading.Thread(target=enricher.prefetch, args=([f"198.51.100.{i}" for i in range(40)],),
                                   daemon=True)
    prefetching.start()
    prefetching.join(10)  # a bound, not a speed test: about two look-up timeouts
    try:
        assert not prefetching.is_alive()
    finally:
        resolver.block.set()


def test_a_hit_batch_does_not_hold_its_message_while_dns_answers(config, session):
    """The DNS look-ups of a batch happen before its transaction: a slow resolver doesn't hold the message's lock
    (PostgreSQL's row lock, SQLite's write lock) and with it every other worker writing to that message."""
    import secrets
    import time

    from sqlalchemy import select, update

    from mailbeacon.jobs import context
    from mailbeacon.jobs.hits import process_hit_batch
    from mailbeacon.runtime import Runtime
    from mailbeacon.storage.models import Hit, TrackedMessage

    from ..factories import make_message, wait_until

    class GatedResolver(StandInResolver):
        def __init__(self) -> None:
            super().__init__(ptr={"198.51.100.41": "mx0b-00190b01.pphosted.com"},
                             forward={"mx0b-00190b01.pphosted.com": ["198.51.100.41"]})
            self.gate = threading.Event()

        def _ask(self, kind, key):
            with self.lock:
                self.calls.append((kind, key))
            self.gate.wait(30)

    resolver = GatedResolver()
    rt = Runtime(config)
    context.use_runtime(rt)
    context.set_enricher(Enricher(resolver=resolver, timeout=30))
    try:
        message = make_message(session, urls=["https://example.com/a"])
        batch = threading.Thread(target=process_hit_batch, daemon=True, args=([
            {"uid": secrets.token_hex(16), "at": time.time(), "type": "click", "link": 0, "message_id": message.id,
             "method": "GET", "user_agent": CHROME, "ip": "198.51.100.41", "headers": {}}],))
        batch.start()
        wait_until(lambda: resolver.calls, timeout=10)
        other_worker = threading.Event()

        def write_to_the_message() -> None:
            with rt.db.transaction() as s:
                s.execute(update(TrackedMessage).where(TrackedMessage.id == message.id)
                          .values(subject=TrackedMessage.subject))
            other_worker.set()

        threading.Thread(target=write_to_the_message, daemon=True).start()
        assert other_worker.wait(10), "the message stayed locked while the batch waited for DNS"
        resolver.gate.set()
        batch.join(30)
        with rt.db.session() as s:
            row = s.scalar(select(Hit).where(Hit.message_id == message.id))
        assert row is not None and row.facts.get("reverse_dns") == "mx0b-00190b01.pphosted.com"
    finally:
        resolver.gate.set()
        context.set_enricher(None)
        context.use_runtime(Runtime(config))
        rt.close()


def test_prefetch_waits_for_every_round_of_a_batch_larger_than_its_threads():
    class SlowResolver(StandInResolver):
        def _ask(self, kind, key):
            super()._ask(kind, key)
            threading.Event().wait(0.3)  # slow, but within the look-up timeout

    resolver = SlowResolver(ptr={}, forward={})
    enricher = Enricher(resolver=resolver, timeout=0.5, max_concurrent=2)
    addresses = [f"198.51.100.{i}" for i in range(12)]  # six rounds of two: longer than one round's two timeouts
    enricher.prefetch(addresses)
    assert sorted(key for _kind, key in resolver.calls) == sorted(addresses)
