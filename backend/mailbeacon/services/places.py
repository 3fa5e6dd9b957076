"""Which hits get a place, and which place: the worker's side of Hit.place.

A place is coarse by construction ("City, Region, CC" or the parts known, from the local
tables networks.py loads) and is looked up in the worker from the full address that only the
queue and this worker ever hold; the address itself is never stored.

A place says where the fetcher was. For an open through a mail provider's image proxy, that is
the proxy's data centre, not the reader: the issue's "a real open, with no device or place".
So proxy opens get none, and neither do other fetches from Google's or Yahoo's proxy networks
(Gmail's prefetcher). Apple's relays are different: their egress addresses are chosen to keep
the user's region, and Apple publishes that region, so Mail Privacy Protection keeps it.
Scanners keep their place: where a gateway sits is true, and harmless.
"""

from __future__ import annotations

from ..tracking.hitfacts import HitFacts

NO_PLACE_KINDS = frozenset({"proxy_open"})
# Networks whose addresses are a mail provider's fetchers, standing in for the reader.
PROXY_CATEGORIES = frozenset({"google", "yahoo"})


def place_for(facts: HitFacts, kind: str, networks) -> str | None:
    """The hit's coarse place, or None when it has none worth showing."""
    if kind in NO_PLACE_KINDS or not facts.ip:
        return None
    if any(networks.category(tag) in PROXY_CATEGORIES for tag in networks.tags_for(facts.ip)):
        return None
    return networks.place_for(facts.ip)
