"""Coarse places for addresses: "City, Region, CC", or whichever of those parts are known.

Two sources, both local files in the networks directory, both looked up by the worker and
never on the request path:

  dbip-city-lite-*.csv   DB-IP's free "IP to City Lite" table (CC BY 4.0, monthly):
                         ip_start,ip_end,continent,country,stateprov,city,latitude,longitude
  apple-egress.csv       Apple's iCloud Private Relay egress list, whose rows carry the coarse
                         region Apple keeps for the relay's users by design

Nothing finer than a city is ever kept: the coordinates in DB-IP's rows are not read, and a
row in another layout (DB-IP's paid tables add district and postcode) is skipped rather than
guessed at. Like the ASN table, this is a sorted-range table searched with bisect; ranges are
held in arrays, not lists of Python ints, because a whole city table has millions of rows.
"""

from __future__ import annotations

import bisect
import csv
import socket
from array import array
from collections.abc import Iterable, Iterator

from .netlists import NetworkListError, address_to_int, iter_apple_egress_csv

MAX_PLACE_LENGTH = 128  # Hit.place's column
_PART_LENGTH = 48
_DBIP_LITE_COLUMNS = 8
_LOW64 = (1 << 64) - 1


def format_place(city: str | None, region: str | None, country: str | None) -> str | None:
    """'City, Region, CC' from what is known; None when nothing is."""
    parts: list[str] = []
    for raw in (city, region, country):
        raw = raw or ""
        if not raw.isprintable():  # rare: the per-character filter is most of a city table's load time
            raw = "".join(ch for ch in raw if ch.isprintable())
        part = " ".join(raw.split())[:_PART_LENGTH]
        if part and part.upper() not in ("-", "ZZ", "NONE", "UNKNOWN") and (not parts or parts[-1] != part):
            parts.append(part)  # "Singapore, Singapore, SG" says the same thing twice
    return ", ".join(parts)[:MAX_PLACE_LENGTH] or None


def _to_int(text: str) -> tuple[int, int] | None:
    text = text.strip()
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        return None


class _Wide:
    """A read-only sequence of 128-bit numbers kept as two 64-bit arrays, for bisect."""

    def __init__(self) -> None:
        self.high, self.low = array("Q"), array("Q")

    def append(self, value: int) -> None:
        self.high.append(value >> 64)
        self.low.append(value & _LOW64)

    def reordered(self, order: list[int]) -> _Wide:
        wide = _Wide()
        wide.high, wide.low = array("Q", (self.high[i] for i in order)), array("Q", (self.low[i] for i in order))
        return wide

    def __len__(self) -> int:
        return len(self.high)

    def __getitem__(self, index: int) -> int:
        return (self.high[index] << 64) | self.low[index]


class PlaceTable:
    """Address → coarse place, from ranges that do not overlap (as both publishers' files are)."""

    def __init__(self, rows: Iterable[tuple[int, int, int, str]] = ()) -> None:
        # Rows go straight into arrays as they stream in (no list of tuples: a city table has millions of rows),
        # and are sorted afterwards only if the file was not in order already.
        self._places: list[str] = []
        self.skipped = 0  # lines of the file that were not rows of its layout
        index_of: dict[str, int] = {}
        starts: dict[int, array | _Wide] = {4: array("Q"), 6: _Wide()}
        ends: dict[int, array | _Wide] = {4: array("Q"), 6: _Wide()}
        which: dict[int, array] = {4: array("I"), 6: array("I")}
        for family, start, end, place in rows:
            if place not in index_of:
                index_of[place] = len(self._places)
                self._places.append(place)
            starts[family].append(start)
            ends[family].append(end)
            which[family].append(index_of[place])
        for family in (4, 6):
            column = starts[family]
            if any(column[i] > column[i + 1] for i in range(len(column) - 1)):
                order = sorted(range(len(column)), key=column.__getitem__)
                starts[family], ends[family], which[family] = (_reordered(column, order) for column in (
                    starts[family], ends[family], which[family]))
        self._starts, self._ends, self._which = starts, ends, which

    @classmethod
    def from_dbip_city_csv(cls, lines: Iterable[str]) -> PlaceTable:
        """DB-IP's IP to City Lite CSV (its lines, so a large file need not be read whole).

        Raises NetworkListError when no row of the file is in that layout.
        """
        counts = {"seen": 0, "read": 0}

        def rows() -> Iterator[tuple[int, int, int, str]]:
            for row in _dbip_rows(lines):
                counts["seen"] += 1
                if row is not None:
                    counts["read"] += 1
                    yield row

        table = cls(rows())
        if counts["seen"] and not counts["read"]:
            raise NetworkListError("not DB-IP's IP to City Lite layout (ip_start,ip_end,continent,country,"
                                   "stateprov,city,latitude,longitude)")
        table.skipped = counts["seen"] - counts["read"]
        return table

    @classmethod
    def from_apple_egress_csv(cls, text: str) -> PlaceTable:
        return cls(_apple_rows(text))

    def lookup(self, ip: str | None) -> str | None:
        parsed = address_to_int(ip) if ip else None
        if parsed is None:
            return None
        family, value = parsed
        index = bisect.bisect_right(self._starts[family], value) - 1
        if index < 0 or value > self._ends[family][index]:
            return None
        return self._places[self._which[family][index]]

    def places(self) -> frozenset[str]:
        """Every distinct place the table can answer with."""
        return frozenset(self._places)

    def __len__(self) -> int:
        return sum(len(which) for which in self._which.values())


def _reordered(column, order: list[int]):
    if isinstance(column, _Wide):
        return column.reordered(order)
    return array(column.typecode, (column[i] for i in order))


def _dbip_rows(lines: Iterable[str]) -> Iterator[tuple[int, int, int, str] | None]:
    """One item per non-blank line: a row, or None for a line not in the Lite layout."""
    for fields in csv.reader(line.lstrip("\ufeff") for line in lines):
        if not fields or not any(field.strip() for field in fields):
            continue
        if len(fields) != _DBIP_LITE_COLUMNS:
            yield None  # not the Lite layout: its columns would be read as the wrong parts
            continue
        first, last = _to_int(fields[0]), _to_int(fields[1])
        place = format_place(fields[5], fields[4], fields[3])
        if first is None or last is None or first[0] != last[0] or first[1] > last[1] or place is None:
            yield None
            continue
        yield first[0], first[1], last[1], place


def _apple_rows(text: str) -> Iterator[tuple[int, int, int, str]]:
    lines = text.splitlines()
    for number, item, _prefix in iter_apple_egress_csv(text):
        if item is None:
            continue
        fields = next(csv.reader([lines[number - 1].strip()]), [])
        country = fields[1].strip() if len(fields) > 1 else ""
        region = fields[2].strip() if len(fields) > 2 else ""
        if country and region.upper().startswith(country.upper() + "-"):
            region = region[len(country) + 1:]  # "US-CA" in the United States is "CA"
        place = format_place(fields[3] if len(fields) > 3 else None, region, country)
        if place is not None:
            yield item[0], item[1], item[2], place
