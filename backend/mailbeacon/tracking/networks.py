"""Which published networks an address, an ASN or a verified host name belongs to.

The lists we ship live in mailbeacon/data/networks (each says its source and date).
A directory named in config (MAILBEACON_NETWORKS_DIR) overrides and extends them:
a file there with the same tag as a shipped list replaces it (a fresher download),
any other file adds a list. The scheduled fetch (jobs/maintenance.py: fetch_networks,
off unless MAILBEACON_NETWORKS_FETCH names sources) downloads Apple's, Google's,
Microsoft's and AWS's files into that directory unchanged, under the names below,
each checked with these parsers before it is renamed into place; loading again picks
them up, and version() changes so caches keyed on it know. The other files (ip2asn,
Azure's service tags, DB-IP's city table) are installed by hand.

Files understood in a directory:
  apple-egress.csv                 Apple's iCloud Private Relay egress list, Apple's format
                                   (its rows' region and city also give those hits a place)
  <tag>.txt / .cidr / .lst         one network per line; '# category: mail_security' says what it is
  goog.json, cloud.json            Google's published ranges (Google itself, Google Cloud customers)
  ip-ranges.json, ServiceTags*.json AWS's and Azure's published ranges
  microsoft-endpoints.json         Microsoft 365's endpoints web service (yields microsoft_eop)
  vendor-asns.txt                  '<ASN> <tag>' lines
  rdns-suffixes.txt                '<domain> <tag>' lines, for forward-confirmed reverse DNS
  ip2asn-*.tsv                     iptoasn.com's table, for the worker's local ASN lookups
  dbip-city*.csv                   DB-IP's IP to City Lite table, for a hit's coarse place
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from .netlists import (
    AsnTable,
    IntRange,
    NetworkListError,
    ParsedList,
    address_to_int,
    load_apple_egress_csv,
    parse_apple_egress_csv,
    parse_cidr_list,
    parse_json_ranges,
    parse_keyed_tags,
)
from .places import PlaceTable

__all__ = ["Networks", "NetworkListError", "AsnTable", "PlaceTable", "load_apple_egress_csv", "CATEGORIES",
           "check_list_file"]

# What a tag means to the classifier. A list of a new vendor declares its category in a
# '# category: …' header; these are the defaults for the tags we know.
CATEGORIES = ("mail_security", "apple_relay", "apple", "google", "yahoo", "microsoft", "cloud")
DEFAULT_CATEGORIES: Mapping[str, str] = {
    "apple_private_relay": "apple_relay",
    "apple": "apple",
    "google": "google",
    "google_cloud": "cloud",
    "yahoo": "yahoo",
    "microsoft_eop": "mail_security",
    "microsoft_365": "microsoft",
    "microsoft": "microsoft",
    "barracuda": "mail_security",
    "mimecast": "mail_security",
    "proofpoint": "mail_security",
    "cisco_secure_email": "mail_security",
    "symantec_email": "mail_security",
    "trend_micro": "mail_security",
    "aws": "cloud",
    "azure": "cloud",
}

# Publishers' own file names, mapped to our tags.
_STEM_ALIASES = {"goog": "google", "cloud": "google_cloud", "ip_ranges": "aws",
                 "apple_egress": "apple_private_relay", "egress_ip_ranges": "apple_private_relay"}
_LIST_SUFFIXES = (".txt", ".cidr", ".lst", ".list")
_ASN_FILE, _RDNS_FILE = "vendor-asns.txt", "rdns-suffixes.txt"
_PLACE_TABLE_PREFIX = "dbip-city"


def _shipped_directory() -> Path:
    return Path(str(resources.files("mailbeacon").joinpath("data", "networks")))


def _tag_for(path: Path) -> str:
    stem = path.stem.lower().replace("-", "_").replace(" ", "_")
    if stem.startswith("servicetags"):
        return "azure"
    return _STEM_ALIASES.get(stem, stem)


class _RangeIndex:
    """Merged, sorted ranges per address family, searched with bisect."""

    def __init__(self, ranges: Iterable[IntRange]) -> None:
        merged: dict[int, list[list[int]]] = {4: [], 6: []}
        for family, start, end in sorted(ranges):
            spans = merged[family]
            if spans and start <= spans[-1][1] + 1:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        self._starts = {family: [s for s, _ in spans] for family, spans in merged.items()}
        self._ends = {family: [e for _, e in spans] for family, spans in merged.items()}

    def __contains__(self, address: tuple[int, int]) -> bool:
        family, value = address
        index = bisect.bisect_right(self._starts[family], value) - 1
        return index >= 0 and value <= self._ends[family][index]

    def __len__(self) -> int:
        return sum(len(starts) for starts in self._starts.values())


class Networks:
    """Published network lists, loaded once and queried per hit (no I/O after loading)."""

    def __init__(
        self,
        ranges: Mapping[str, Iterable[IntRange]] | None = None,
        *,
        categories: Mapping[str, str] | None = None,
        asn_tags: Mapping[int, Iterable[str]] | None = None,
        hostname_tags: Mapping[str, Iterable[str]] | None = None,
        asn_table: AsnTable | None = None,
        place_tables: Iterable[PlaceTable] = (),
        version: str | None = None,
        warnings: Iterable[str] = (),
    ) -> None:
        self._indexes = {tag: _RangeIndex(items) for tag, items in (ranges or {}).items()}
        self._categories = {**DEFAULT_CATEGORIES, **(categories or {})}
        self._asn_tags = {int(asn): frozenset(tags) for asn, tags in (asn_tags or {}).items()}
        self._hostname_tags = {name.lower().rstrip("."): frozenset(tags)
                               for name, tags in (hostname_tags or {}).items()}
        self.asn_table = asn_table
        self.place_tables: tuple[PlaceTable, ...] = tuple(place_tables)
        self.warnings: tuple[str, ...] = tuple(warnings)
        self._version = version or hashlib.sha256(repr(sorted(self._indexes)).encode()).hexdigest()[:16]

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None) -> Networks:
        """The shipped lists, overridden and extended by the files in `directory`.

        Raises NetworkListError naming the file when a whole file cannot be read, and
        NotADirectoryError when `directory` is given but is not one. Odd lines inside a
        file are skipped and reported in `warnings`.
        """
        loader = _Loader()
        loader.read_directory(_shipped_directory())
        if directory is not None:
            path = Path(directory)
            if not path.is_dir():
                raise NotADirectoryError(f"network list directory {str(path)!r} is not a directory")
            loader.read_directory(path)
        return cls(
            loader.ranges,
            categories=loader.categories,
            asn_tags={int(asn): tags for asn, tags in loader.asn_tags.items()},
            hostname_tags=loader.hostname_tags,
            asn_table=loader.asn_table,
            # Apple's own region for its relays comes before a geolocation table's guess at the relay's address.
            place_tables=[*loader.apple_places.values(), *loader.city_tables],
            version=loader.digest.hexdigest()[:16],
            warnings=loader.warnings,
        )

    @staticmethod
    def fingerprint(directory: str | os.PathLike[str] | None) -> str:
        """A cheap stamp of the directory's list files (names, sizes, modification times).

        A worker polls this and calls load() again only when it changes, rather than
        re-reading a large egress list on every tick. The refresh job should write each file
        under a temporary name and rename it into place, so a half-written list is never seen.
        """
        stamp = hashlib.sha256()
        if directory is not None and Path(directory).is_dir():
            for path in sorted(Path(directory).iterdir()):
                if path.is_file() and not path.name.startswith(".") and _Loader.understood(path):
                    info = path.stat()
                    stamp.update(f"{path.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        return stamp.hexdigest()[:16]

    def tags_for(self, ip: str | None) -> frozenset[str]:
        """Tags of every loaded list containing `ip` (empty for None or a malformed address)."""
        address = address_to_int(ip) if ip else None
        if address is None:
            return frozenset()
        tags = {tag for tag, index in self._indexes.items() if address in index}
        # Google's goog.json includes the addresses it rents to Cloud customers; Google's own
        # guidance is "goog minus cloud", so a Cloud address is not Google's own service.
        if "google_cloud" in tags:
            tags.discard("google")
        return frozenset(tags)

    def tags_for_asn(self, asn: int | None) -> frozenset[str]:
        return self._asn_tags.get(asn, frozenset()) if asn else frozenset()

    def tags_for_hostname(self, hostname: str | None) -> frozenset[str]:
        """Tags whose domain `hostname` is, or is under. Only call this with a reverse-DNS name
        that a forward lookup confirmed: anyone can set a PTR record saying 'pphosted.com'."""
        if not hostname:
            return frozenset()
        labels = hostname.lower().rstrip(".").split(".")
        tags: set[str] = set()
        for cut in range(len(labels) - 1):
            tags |= self._hostname_tags.get(".".join(labels[cut:]), frozenset())
        return frozenset(tags)

    def place_for(self, ip: str | None) -> str | None:
        """The coarse place ('City, Region, CC', or the parts known) of `ip`, or None."""
        for table in self.place_tables:
            place = table.lookup(ip) if ip else None
            if place is not None:
                return place
        return None

    def category(self, tag: str) -> str | None:
        return self._categories.get(tag)

    def version(self) -> str:
        return self._version

    def __repr__(self) -> str:
        sizes = ", ".join(f"{tag}={len(index)}" for tag, index in sorted(self._indexes.items()))
        return f"Networks(version={self._version!r}, {sizes})"


class _Loader:
    """Accumulates lists directory by directory; a later directory overrides an earlier one."""

    def __init__(self) -> None:
        self.ranges: dict[str, list[IntRange]] = {}
        self.categories: dict[str, str] = {}
        self.asn_tags: dict[str, set[str]] = {}
        self.hostname_tags: dict[str, set[str]] = {}
        self.asn_table: AsnTable | None = None
        self.apple_places: dict[str, PlaceTable] = {}  # by file name
        self.city_tables: list[PlaceTable] = []
        self.warnings: list[str] = []
        self.digest = hashlib.sha256()
        self._replaced: set[str] = set()

    def read_directory(self, directory: Path) -> None:
        self._replaced = set()  # tags this directory has already replaced (its files add up)
        paths = [path for path in sorted(directory.iterdir())
                 if path.is_file() and not path.name.startswith(".") and self.understood(path)]
        # DB-IP publishes a whole new city table each month (dbip-city-lite-YYYY-MM.csv): when last month's is still
        # beside it, only the newest is read. Two would cost twice the memory, and the older would answer first.
        city_tables = [path for path in paths if _is_place_table(path)]
        for stale in city_tables[:-1]:
            self.warnings.append(f"{stale.name}: not read, {city_tables[-1].name} is newer")
        for path in paths:
            if not _is_place_table(path) or path == city_tables[-1]:
                self._read(path)

    @staticmethod
    def understood(path: Path) -> bool:
        name = path.name.lower()
        return name.endswith((".csv", ".json", *_LIST_SUFFIXES)) or (
            name.startswith("ip2asn") and name.endswith(".tsv"))

    def _read(self, path: Path) -> None:
        name = path.name.lower()
        if _is_place_table(path):
            self._read_place_table(path)
            return
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise NetworkListError(f"{path}: cannot be read ({error.strerror})") from None
        self.digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        try:
            if name == _ASN_FILE:
                self.asn_tags = self._keyed(path, text, "asn")
            elif name == _RDNS_FILE:
                self.hostname_tags = self._keyed(path, text, "domain")
            elif name.endswith(".tsv"):
                table = AsnTable.from_ip2asn_tsv(text)
                self.asn_table = table if self.asn_table is None else self.asn_table.merged(table)
            elif name.endswith(".csv"):
                self._add(path, _tag_for(path), parse_apple_egress_csv(text))
                self.apple_places[path.name] = PlaceTable.from_apple_egress_csv(text)
            elif name.endswith(".json"):
                for tag, parsed in parse_json_ranges(text).items():
                    self._add(path, tag or _tag_for(path), parsed)
            else:
                self._add(path, _tag_for(path), parse_cidr_list(text))
        except NetworkListError as error:
            raise NetworkListError(f"{path}: {error}") from None

    def _read_place_table(self, path: Path) -> None:
        # A whole city table is hundreds of megabytes: read line by line, never as one string.
        try:
            with path.open("rb") as raw:
                self.digest.update(path.name.encode() + b"\0")
                for chunk in iter(lambda: raw.read(1 << 20), b""):
                    self.digest.update(chunk)
            with path.open(encoding="utf-8", errors="replace", newline="") as lines:
                table = PlaceTable.from_dbip_city_csv(lines)
            self.city_tables.append(table)
            if table.skipped:
                self.warnings.append(f"{path.name}: lines skipped, not in the IP to City Lite layout: {table.skipped}")
        except OSError as error:
            raise NetworkListError(f"{path}: cannot be read ({error.strerror})") from None
        except NetworkListError as error:
            raise NetworkListError(f"{path}: {error}") from None

    def _keyed(self, path: Path, text: str, kind: str) -> dict[str, set[str]]:
        table, skipped = parse_keyed_tags(text, kind)
        self.warnings.extend(f"{path.name}: {message}" for message in skipped)
        return table

    def _add(self, path: Path, tag: str, parsed: ParsedList) -> None:
        self.warnings.extend(f"{path.name}: {message}" for message in parsed.skipped[:20])
        if len(parsed.skipped) > 20:
            self.warnings.append(f"{path.name}: {len(parsed.skipped) - 20} more odd lines skipped")
        if not parsed.ranges and parsed.skipped:
            raise NetworkListError("no network in the file could be read")
        if tag not in self._replaced:
            self.ranges[tag] = []
            self._replaced.add(tag)
        self.ranges[tag].extend(parsed.ranges)
        category = parsed.directives.get("category", "").lower()
        if category:
            if category not in CATEGORIES:
                self.warnings.append(f"{path.name}: unknown category {category!r} ignored")
            else:
                self.categories[tag] = category


def check_list_file(path: str | os.PathLike[str]) -> int:
    """Read one file as Networks.load() would read it from a directory; how many networks or rows it holds.

    For the fetch job, before a download replaces the file in force: raises NetworkListError when load()
    would refuse the file, or when it would read nothing from it (an empty list is no fresher list).
    """
    path = Path(path)
    if not _Loader.understood(path):
        raise NetworkListError(f"{path.name}: not a file name the network lists understand")
    loader = _Loader()
    loader._read(path)
    count = sum(len(ranges) for ranges in loader.ranges.values()) + len(loader.asn_tags) + len(
        loader.hostname_tags) + sum(len(table) for table in loader.city_tables)
    count += len(loader.asn_table) if loader.asn_table is not None else 0
    if count == 0:
        raise NetworkListError(f"{path.name}: holds no network")
    return count


def _is_place_table(path: Path) -> bool:
    name = path.name.lower()
    return name.startswith(_PLACE_TABLE_PREFIX) and name.endswith(".csv")
