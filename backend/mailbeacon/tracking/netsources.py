"""The publishers' network lists that the fetch job can download, and where each is saved.

Plain data: which source names MAILBEACON_NETWORKS_FETCH accepts, each publisher's URL, and
the file name the loader in networks.py expects for it. Fetching is services/netfetch.py's.

Only files that are usable exactly as published are here. iptoasn.com's ip2asn tables and
DB-IP's city table come gzipped, and Azure's service tags sit behind a download page whose
file name changes weekly: those are installed by hand (data/networks/README.md says how).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedFile:
    save_as: str  # the name networks.py reads it under, and the path under a mirror's base URL
    url: str  # "{client_request_id}": Microsoft's service wants a GUID of each caller's own


@dataclass(frozen=True)
class Source:
    name: str
    files: tuple[PublishedFile, ...]
    about: str


SOURCES: tuple[Source, ...] = (
    Source("apple", (PublishedFile("apple-egress.csv", "https://mask-api.icloud.com/egress-ip-ranges.csv"),),
           "iCloud Private Relay egress ranges (Apple Mail Privacy Protection)"),
    # Both of Google's files, always together: goog.json includes the addresses Google rents to Cloud
    # customers, and only cloud.json beside it says which those are.
    Source("google", (PublishedFile("goog.json", "https://www.gstatic.com/ipranges/goog.json"),
                      PublishedFile("cloud.json", "https://www.gstatic.com/ipranges/cloud.json")),
           "Google's own ranges and Google Cloud's"),
    Source("microsoft", (PublishedFile("microsoft-endpoints.json",
                                       "https://endpoints.office.com/endpoints/worldwide"
                                       "?clientrequestid={client_request_id}"),),
           "Microsoft 365's endpoints, including Exchange Online Protection"),
    Source("aws", (PublishedFile("ip-ranges.json", "https://ip-ranges.amazonaws.com/ip-ranges.json"),),
           "AWS's published ranges"),
)
SOURCE_NAMES: tuple[str, ...] = tuple(source.name for source in SOURCES)


def sources_named(names: tuple[str, ...] | list[str]) -> tuple[Source, ...]:
    """The sources called `names`, in the order of SOURCES; KeyError names the first unknown one."""
    unknown = [name for name in names if name not in SOURCE_NAMES]
    if unknown:
        raise KeyError(unknown[0])
    return tuple(source for source in SOURCES if source.name in names)


def parse_source_list(raw: str) -> tuple[str, ...]:
    """'apple, google' -> ('apple', 'google'); 'all' -> every source; '', 'off', 'none' -> ().

    Raises ValueError naming an unknown source.
    """
    names = [item.strip().lower() for item in raw.split(",") if item.strip()]
    if names in ([], ["off"], ["none"], ["false"], ["0"]):
        return ()
    if "all" in names:
        return SOURCE_NAMES
    unknown = [name for name in names if name not in SOURCE_NAMES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r} (known: {', '.join(SOURCE_NAMES)}, or all)")
    return tuple(name for name in SOURCE_NAMES if name in names)
