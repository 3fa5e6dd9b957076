"""Parsers for the published network lists, each in its publisher's own format.

Everything here takes text and returns data; reading files and choosing which
parser applies is networks.py's job. Lists are refreshed by downloading the
publisher's file unchanged, so the parsers accept exactly what is published —
and stay tolerant of the blank, commented or odd lines such files grow.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One range as integers: (4 or 6, first address, last address).
IntRange = tuple[int, int, int]


class NetworkListError(ValueError):
    """A whole list could not be read (as opposed to one odd line, which is skipped)."""


@dataclass
class ParsedList:
    ranges: list[IntRange] = field(default_factory=list)
    directives: dict[str, str] = field(default_factory=dict)  # "# category: mail_security"
    skipped: list[str] = field(default_factory=list)  # "line 7: 'garbage' is not a network"


def parse_prefix(text: str) -> IntRange | None:
    """Parse '203.0.113.0/24', '2001:db8::/32' or a bare address; None when it is neither.

    Host bits are masked rather than rejected: published lists occasionally carry
    '192.0.2.1/24', and the publisher's intent is plainly the whole /24.
    """
    address, _, length_text = text.strip().partition("/")
    family = 6 if ":" in address else 4
    try:
        packed = socket.inet_pton(socket.AF_INET6 if family == 6 else socket.AF_INET, address)
    except (OSError, ValueError):
        return None
    bits = 128 if family == 6 else 32
    if length_text:
        if not length_text.isdigit() or int(length_text) > bits:
            return None
        length = int(length_text)
    else:
        length = bits
    host_bits = bits - length
    start = (int.from_bytes(packed, "big") >> host_bits) << host_bits
    return family, start, start + (1 << host_bits) - 1


def range_to_network(item: IntRange) -> IPNetwork:
    family, start, end = item
    length = (128 if family == 6 else 32) - (end - start).bit_length()
    address = ipaddress.IPv6Address(start) if family == 6 else ipaddress.IPv4Address(start)
    return ipaddress.ip_network(f"{address}/{length}")


def address_to_int(ip: str) -> tuple[int, int] | None:
    """(family, integer) for an address; IPv4-mapped IPv6 ('::ffff:192.0.2.1') counts as IPv4."""
    try:
        parsed = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.version, int(parsed)


def iter_apple_egress_csv(text: str) -> Iterator[tuple[int, IntRange | None, str]]:
    """(line number, range or None, raw prefix) for each non-blank line of Apple's egress CSV.

    Apple publishes https://mask-api.icloud.com/egress-ip-ranges.csv as
    'prefix,country,region,city,' — e.g. '172.224.224.0/27,GB,GB-EN,London,'.
    Only the prefix matters here; the rest is Apple's coarse location of the relay.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        prefix = line.split(",", 1)[0].strip()
        yield number, parse_prefix(prefix) if "/" in prefix else None, prefix


def load_apple_egress_csv(text: str) -> list[IPNetwork]:
    """The networks of Apple's iCloud Private Relay egress list; odd lines are skipped."""
    return [range_to_network(item) for _, item, _ in iter_apple_egress_csv(text) if item]


def parse_apple_egress_csv(text: str) -> ParsedList:
    parsed = ParsedList()
    for number, item, prefix in iter_apple_egress_csv(text):
        if item is None:
            parsed.skipped.append(f"line {number}: {prefix[:60]!r} is not a network prefix")
        else:
            parsed.ranges.append(item)
    return parsed


def parse_cidr_list(text: str) -> ParsedList:
    """One network per line ('#' comments, blank lines and trailing comments allowed).

    This is our own shipped format and also Google's published goog.txt/cloud.txt.
    Header comments of the form '# key: value' are kept as directives, which is how a
    list says what it is ('# category: mail_security').
    """
    parsed = ParsedList()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if line.startswith("#"):
            key, sep, value = line.lstrip("# ").partition(":")
            if sep and key.strip().isidentifier():
                parsed.directives.setdefault(key.strip().lower(), value.strip())
            continue
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        item = parse_prefix(entry.split()[0])
        if item is None:
            parsed.skipped.append(f"line {number}: {entry[:60]!r} is not a network")
        else:
            parsed.ranges.append(item)
    return parsed


def parse_json_ranges(text: str) -> dict[str, ParsedList]:
    """Ranges from a published JSON list, keyed by what the format says they are.

    Recognised: Google's goog.json / cloud.json ({"prefixes": [{"ipv4Prefix": …}]}),
    AWS's ip-ranges.json ({"prefixes": [{"ip_prefix": …}], "ipv6_prefixes": …}),
    Azure's service tags ({"values": [{"properties": {"addressPrefixes": …}}]}), and
    Microsoft 365's endpoints web service ([{"serviceArea": …, "ips": […]}]).
    The key "" means "name it after the file" (Google publishes two files in one format).
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise NetworkListError(f"not valid JSON ({error.msg} at line {error.lineno})") from None
    if isinstance(document, list):
        return _microsoft_endpoints(document)
    if not isinstance(document, dict):
        raise NetworkListError("not a recognised network list (expected an object or array)")
    prefixes = document.get("prefixes")
    if isinstance(prefixes, list) and any(isinstance(p, dict) and "ip_prefix" in p for p in prefixes):
        entries = prefixes + list(document.get("ipv6_prefixes") or [])
        return {"aws": _collect(_values(entries, ("ip_prefix", "ipv6_prefix")))}
    if isinstance(prefixes, list):
        return {"": _collect(_values(prefixes, ("ipv4Prefix", "ipv6Prefix")))}
    values = document.get("values")
    if isinstance(values, list):
        found = (prefix for value in values if isinstance(value, dict)
                 for prefix in (value.get("properties") or {}).get("addressPrefixes") or [])
        return {"azure": _collect(found)}
    raise NetworkListError("not a recognised network list format")


def _microsoft_endpoints(entries: list[object]) -> dict[str, ParsedList]:
    # Exchange Online Protection is the entry that accepts mail (SMTP, TCP 25, for
    # *.mail.protection.outlook.com); its addresses are where Microsoft's filtering and
    # Safe Links detonation fetch from. Everything else is Microsoft 365 at large.
    eop: list[str] = []
    rest: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        urls = " ".join(str(url) for url in entry.get("urls") or [])
        ports = {port.strip() for port in str(entry.get("tcpPorts") or "").split(",")}
        is_eop = "mail.protection.outlook.com" in urls or (
            entry.get("serviceArea") == "Exchange" and "25" in ports)
        (eop if is_eop else rest).extend(str(ip) for ip in entry.get("ips") or [])
    return {"microsoft_eop": _collect(eop), "microsoft_365": _collect(rest)}


def _values(entries: Iterable[object], keys: tuple[str, ...]) -> Iterator[str]:
    for entry in entries:
        if isinstance(entry, dict):
            for key in keys:
                if isinstance(entry.get(key), str):
                    yield entry[key]


def _collect(prefixes: Iterable[str]) -> ParsedList:
    parsed = ParsedList()
    for prefix in prefixes:
        item = parse_prefix(prefix)
        if item is None:
            parsed.skipped.append(f"{prefix[:60]!r} is not a network")
        else:
            parsed.ranges.append(item)
    return parsed


def parse_keyed_tags(text: str, key_kind: str) -> tuple[dict[str, set[str]], list[str]]:
    """'<key> <tag> [# comment]' lines: vendor ASNs ('15324 barracuda') or reverse-DNS suffixes
    ('pphosted.com proofpoint'). Keys are normalised: ASNs lose an 'AS' prefix, names go
    lower-case without a trailing dot."""
    table: dict[str, set[str]] = {}
    skipped: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        key = parts[0].lower().rstrip(".")
        if key_kind == "asn":
            key = key.removeprefix("as")
        if len(parts) < 2 or (key_kind == "asn" and not key.isdigit()):
            skipped.append(f"line {number}: expected '<{key_kind}> <tag>', got {line[:60]!r}")
            continue
        table.setdefault(key, set()).update(tag.lower() for tag in parts[1:])
    return table, skipped


class AsnTable:
    """Address → origin ASN, from iptoasn.com's ip2asn TSV ('first\\tlast\\tASN\\tCC\\tname').

    Looked up locally by the worker, so an ASN costs no network round trip.
    """

    def __init__(self, rows: Iterable[tuple[int, int, int, int]] = ()) -> None:
        by_family: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for family, start, end, asn in rows:
            by_family[family].append((start, end, asn))
        self._starts: dict[int, list[int]] = {}
        self._rows: dict[int, list[tuple[int, int, int]]] = {}
        for family, items in by_family.items():
            items.sort()
            self._rows[family] = items
            self._starts[family] = [start for start, _, _ in items]

    @classmethod
    def from_ip2asn_tsv(cls, text: str) -> AsnTable:
        return cls(_ip2asn_rows(text))

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def lookup(self, ip: str) -> int | None:
        parsed = address_to_int(ip)
        if parsed is None:
            return None
        family, value = parsed
        index = bisect.bisect_right(self._starts[family], value) - 1
        if index < 0:
            return None
        start, end, asn = self._rows[family][index]
        return asn if start <= value <= end else None

    def merged(self, other: AsnTable) -> AsnTable:
        rows = [(family, start, end, asn) for source in (self, other)
                for family, items in source._rows.items() for start, end, asn in items]
        return AsnTable(rows)


def _ip2asn_rows(text: str) -> Iterator[tuple[int, int, int, int]]:
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[2].strip().isdigit():
            continue
        first, last = address_to_int(parts[0]), address_to_int(parts[1])
        asn = int(parts[2])
        # ASN 0 is how ip2asn marks space that is not routed: no origin to report.
        if first and last and asn and first[0] == last[0] and first[1] <= last[1]:
            yield first[0], first[1], last[1], asn
