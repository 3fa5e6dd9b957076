"""The worker's look-ups for a hit: reverse DNS, its forward confirmation, and the ASN.

These run in the worker, never on the request path: the pixel and the redirect answer
at once, whatever DNS is doing. Each look-up has a short timeout and its answer is
cached (a burst of twenty clicks from one gateway costs one look-up), failures
included, so a dead resolver slows nothing down for long. Nothing here raises: a
look-up that fails leaves the field absent, and the classifier treats absent as
"not known", never as evidence.

Reverse DNS counts only when forward-confirmed: anyone who controls an address's PTR
record can write "mx.pphosted.com" there, but only Proofpoint can make that name
resolve back to the address.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from ..tracking.hitfacts import HitFacts

log = logging.getLogger(__name__)

# How long a batch may wait for its look-ups before its transaction: past this, a dead resolver costs each hit
# enrich()'s own timeout (failures are then cached for a minute), as it did before there was a prefetch.
PREFETCH_MAX_SECONDS = 10.0

T = TypeVar("T")


class Resolver(Protocol):
    """The two socket-module calls the enricher needs; tests pass a local stand-in."""

    def gethostbyaddr(self, ip: str, /) -> tuple[str, list[str], list[str]]: ...

    def getaddrinfo(self, host: str, port: Any, /) -> list[tuple[Any, ...]]: ...


class SocketResolver:
    """The system resolver, through the socket module."""

    def gethostbyaddr(self, ip: str, /) -> tuple[str, list[str], list[str]]:
        return socket.gethostbyaddr(ip)

    def getaddrinfo(self, host: str, port: Any, /) -> list[tuple[Any, ...]]:
        return socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)


class AsnLookup(Protocol):
    def lookup(self, ip: str, /) -> int | None: ...


class _Timeout(Exception):
    pass


class _Failed(Exception):
    """The resolver could not answer (as opposed to answering 'no such name')."""


class _TTLCache:
    """A bounded LRU whose entries expire; thread-safe."""

    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        self._entries: OrderedDict[object, tuple[float, object]] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: object) -> tuple[bool, object]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            expires, value = entry
            if expires <= self._clock():
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, value

    def put(self, key: object, value: object, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Enricher:
    """Fills a hit's reverse_dns, forward_confirmed and asn where they are absent.

    Thread-safe; one instance serves a whole worker process.
    """

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        asn_table: AsnLookup | None = None,
        timeout: float = 1.0,
        cache_ttl: float = 3600,
        failure_ttl: float = 60.0,
        max_concurrent: int = 16,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        dns: bool = True,
    ) -> None:
        self._resolver: Resolver = resolver or SocketResolver()
        self._dns = dns  # False: local look-ups (ASN) only, for runs that must stay offline
        self._asn_table = asn_table
        self._timeout = timeout
        self._ttl = cache_ttl
        # A resolver that timed out or failed is asked again soon, not after an hour.
        self._failure_ttl = min(failure_ttl, cache_ttl)
        self._cache = _TTLCache(max_entries, clock)
        # Look-ups stuck past their timeout keep their slot until the OS gives up, so a dead
        # resolver caps the threads it can hold instead of growing them without bound.
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._inflight: dict[object, threading.Event] = {}
        self._inflight_lock = threading.Lock()

    def enrich(self, facts: HitFacts) -> HitFacts:
        """The same hit with what could be looked up filled in. Never raises."""
        try:
            return self._enrich(facts)
        except Exception:  # a bug here must not lose the hit
            log.exception("hit enrichment failed; classifying without it")
            return facts

    def _enrich(self, facts: HitFacts) -> HitFacts:
        ip = _normalise(facts.ip)
        if ip is None:
            return facts
        changes: dict[str, Any] = {}
        if facts.asn is None and self._asn_table is not None:
            asn = self.asn(ip)
            if asn is not None:
                changes["asn"] = asn
        if not self._dns:
            return replace(facts, **changes) if changes else facts
        name = facts.reverse_dns
        if name is None:
            name = self.reverse_dns(ip)
            if name is not None:
                changes["reverse_dns"] = name
        if name is not None and facts.forward_confirmed is None:
            confirmed = self.forward_confirms(name, ip)
            if confirmed is not None:
                changes["forward_confirmed"] = confirmed
        return replace(facts, **changes) if changes else facts

    def prefetch(self, ips: Iterable[str | None]) -> None:
        """Look a batch's addresses up ahead, in parallel, so that enrich() finds them cached.

        The worker calls this before its transaction: the message's row lock is then held for cached answers, not
        for DNS round trips (up to two timeouts an address on a slow resolver, one after the other). Returns within
        two timeouts per round of `max_concurrent` addresses, and PREFETCH_MAX_SECONDS at most, whatever DNS does;
        what didn't answer by then is left to enrich()'s own look-ups.
        """
        if not self._dns:
            return
        todo = [ip for ip in dict.fromkeys(map(_normalise, ips))
                if ip is not None and not self._cache.get(("ptr", ip))[0]]
        if not todo:
            return  # the usual case on a busy worker: every address already asked this hour, no threads needed
        try:
            pool = ThreadPoolExecutor(max_workers=min(len(todo), self._max_concurrent),
                                      thread_name_prefix="mb-prefetch")
            try:
                rounds = -(-len(todo) // self._max_concurrent)
                wait([pool.submit(self._warm, ip) for ip in todo],
                     timeout=min(PREFETCH_MAX_SECONDS, rounds * 2 * self._timeout + 0.5))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001 - an optimisation: enrich() still looks up what this could not
            log.warning("prefetching a batch's DNS failed", exc_info=True)

    def _warm(self, ip: str) -> None:
        name = self.reverse_dns(ip)
        if name is not None:
            self.forward_confirms(name, ip)

    def use_asn_table(self, table: AsnLookup | None) -> None:
        """The ASN table of the network lists in force (they are reloaded while the worker runs)."""
        self._asn_table = table

    def asn(self, ip: str) -> int | None:
        try:
            return self._asn_table.lookup(ip) if self._asn_table is not None else None
        except Exception:
            log.warning("ASN table look-up failed for a hit", exc_info=True)
            return None

    def reverse_dns(self, ip: str) -> str | None:
        """The address's PTR name, or None when it has none or the resolver did not answer."""

        def look_up() -> str | None:
            try:
                name = self._resolver.gethostbyaddr(ip)[0]
            except (socket.herror, socket.gaierror):
                return None  # the address has no name: a real answer, cached as such
            except OSError as error:
                raise _Failed(str(error)) from None
            return name.rstrip(".").lower() or None

        return self._cached(("ptr", ip), look_up)

    def forward_confirms(self, hostname: str, ip: str) -> bool | None:
        """Whether `hostname` resolves back to `ip`; None when that could not be found out."""

        def look_up() -> bool:
            try:
                answers = self._resolver.getaddrinfo(hostname, None)
            except socket.gaierror:
                return False  # the name does not resolve: it cannot confirm anything
            except OSError as error:
                raise _Failed(str(error)) from None
            addresses = {_normalise(str(answer[4][0])) for answer in answers if answer and answer[4]}
            return ip in addresses

        normalised = _normalise(ip)
        if normalised is None or not hostname:
            return None
        return self._cached(("fwd", hostname.rstrip(".").lower(), normalised), look_up)

    def _cached(self, key: object, look_up: Callable[[], T]) -> T | None:
        found, value = self._cache.get(key)
        if found:
            return value if not isinstance(value, _Failed) else None  # type: ignore[return-value]
        leader, event = self._claim(key)
        if not leader:
            # Another thread is asking the same question: wait for its answer, not a second one.
            event.wait(self._timeout)
            found, value = self._cache.get(key)
            return value if found and not isinstance(value, _Failed) else None  # type: ignore[return-value]
        try:
            try:
                value = self._with_timeout(look_up)
                self._cache.put(key, value, self._ttl)
                return value
            except (_Timeout, _Failed) as error:
                self._cache.put(key, _Failed(str(error)), self._failure_ttl)
                return None
            except Exception:
                log.warning("DNS look-up raised unexpectedly", exc_info=True)
                self._cache.put(key, _Failed("error"), self._failure_ttl)
                return None
        finally:
            self._release(key, event)

    def _claim(self, key: object) -> tuple[bool, threading.Event]:
        with self._inflight_lock:
            event = self._inflight.get(key)
            if event is not None:
                return False, event
            event = self._inflight[key] = threading.Event()
            return True, event

    def _release(self, key: object, event: threading.Event) -> None:
        with self._inflight_lock:
            self._inflight.pop(key, None)
        event.set()

    def _with_timeout(self, call: Callable[[], T]) -> T:
        # socket's look-ups take no timeout, so each runs on a daemon thread we stop waiting for.
        if not self._slots.acquire(timeout=self._timeout):
            raise _Timeout("every look-up slot is busy")
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = call()
            except BaseException as error:  # handed back to the waiting thread
                box["error"] = error
            finally:
                done.set()
                self._slots.release()

        threading.Thread(target=run, name="mailbeacon-dns", daemon=True).start()
        if not done.wait(self._timeout):
            raise _Timeout(f"no answer within {self._timeout:g} s")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]


def _normalise(ip: object) -> str | None:
    if not ip or not isinstance(ip, str):
        return None
    try:
        parsed = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(parsed)
