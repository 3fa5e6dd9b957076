"""Message-wide rules: evidence that only exists across a message's hits.

A security gateway that scans a message clicks its links within a second or two —
often every link, sometimes the hidden trap link — and renders the body (fetching
the pixel) as it goes. No single hit shows that; the pattern does, and it turns the
hits inside it into scanner hits even when each one, alone, looked like a person in
Chrome. Hits the sender made, link previews and proxy opens keep their verdicts:
they are explained by something stronger than timing.

A person's own click a minute after a gateway's scan is outside the burst and stays
human — Microsoft's Safe Links does not proxy the real click; it follows, from the
person's own address.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .classify import FAST_AFTER_SEND, Evidence, Verdict
from .hitfacts import HitFacts

# Consecutive clicks at most this far apart belong to one burst.
BURST_GAP = 2.0
# Two different links this close together are beyond a person's hands.
TIGHT_PAIR = 1.0
# Some gateways pace their clicks; every link of a message of three or more, all within this
# window, is still one scan (a reader goes back and forth between the mail and the pages).
EVERY_LINK_WINDOW = 10.0
# A gateway renders the body while it clicks: opens this close to a burst are its doing.
OPEN_NEAR_BURST = 2.0
# Hits this close to a trap-link click come from the same scan…
HONEYPOT_WINDOW = 5.0
# …and so do the scanner's own later requests (same address and user agent) for a while.
HONEYPOT_SAME_AGENT = 120.0
# Outlook for Windows requests a link itself, then hands it to the browser within seconds.
OFFICE_HANDOFF = 10.0

_KEEP = frozenset({"self", "preview", "proxy_open"})


@dataclass(frozen=True)
class _Burst:
    members: tuple[int, ...]
    first: float
    last: float
    description: str


def apply_message_rules(hits: Sequence[HitFacts], evidence: Sequence[Evidence],
                        verdicts: list[Verdict], indexes: Sequence[int]) -> None:
    """Re-classify, in place, the verdicts at `indexes` (one message's hits)."""
    times = _clock(hits, indexes)
    # Each hit is marked once, by the first rule that catches it: a long scan is not news twice.
    reasons = _around_trap_link(hits, verdicts, indexes, times)
    bursts = _click_bursts(hits, verdicts, indexes, times)
    for burst in bursts:
        for index in burst.members:
            reasons.setdefault(index, f"part of a burst: {burst.description}")
    opens = [i for i in indexes if hits[i].hit == "open" and i in times
             and verdicts[i].kind in ("human", "unknown")]
    for index in opens:
        for burst in bursts:
            if burst.first - OPEN_NEAR_BURST <= times[index] <= burst.last + OPEN_NEAR_BURST:
                reasons.setdefault(index, f"rendered by the scan that clicked links then ({burst.description})")
                break
    for index, why in reasons.items():
        _mark(verdicts, index, why)
    _office_handoffs(hits, evidence, verdicts, indexes, times)


def _clock(hits: Sequence[HitFacts], indexes: Sequence[int]) -> dict[int, float]:
    """One clock for the whole message: unix time when every hit has it, else the seconds since
    sending when every hit has those, else whatever unix times there are (mixing clocks would
    invent bursts)."""
    if all(hits[i].at is not None for i in indexes):
        return {i: hits[i].at for i in indexes}  # type: ignore[misc]
    if all(hits[i].seconds_since_sent is not None for i in indexes):
        return {i: hits[i].seconds_since_sent for i in indexes}  # type: ignore[misc]
    return {i: hits[i].at for i in indexes if hits[i].at is not None}  # type: ignore[misc]


def _mark(verdicts: list[Verdict], index: int, why: str) -> None:
    verdict = verdicts[index]
    if verdict.kind in _KEEP:
        return
    if verdict.kind == "scanner":
        if why not in verdict.reason:
            verdicts[index] = replace(verdict, reason=f"{verdict.reason}; {why}")
        return
    verdicts[index] = Verdict(verdict.id, "scanner", why)


def _around_trap_link(hits: Sequence[HitFacts], verdicts: list[Verdict], indexes: Sequence[int],
                      times: dict[int, float]) -> dict[int, str]:
    reasons: dict[int, str] = {}
    traps = [i for i in indexes if hits[i].honeypot and verdicts[i].kind != "self" and i in times]
    for trap in traps:
        for index in indexes:
            if index == trap or index not in times or hits[index].honeypot:
                continue
            gap = abs(times[index] - times[trap])
            same_agent = (hits[index].ip is not None and hits[index].ip == hits[trap].ip
                          and hits[index].user_agent == hits[trap].user_agent)
            if gap <= HONEYPOT_WINDOW or (same_agent and gap <= HONEYPOT_SAME_AGENT):
                reasons.setdefault(index, f"{gap:.1f} s from a click on the hidden trap link")
    return reasons


def _click_bursts(hits: Sequence[HitFacts], verdicts: list[Verdict], indexes: Sequence[int],
                  times: dict[int, float]) -> list[_Burst]:
    clicks = sorted((times[i], i) for i in indexes
                    if hits[i].hit == "click" and i in times and verdicts[i].kind not in ("self", "preview"))
    groups: list[list[tuple[float, int]]] = []
    for item in clicks:
        if groups and item[0] - groups[-1][-1][0] <= BURST_GAP:
            groups[-1].append(item)
        else:
            groups.append([item])
    bursts = []
    for group in groups:
        description = _describe_burst(hits, [i for _, i in group], group[-1][0] - group[0][0])
        if description:
            bursts.append(_Burst(tuple(i for _, i in group), group[0][0], group[-1][0], description))
    bursts.extend(_paced_scans(hits, clicks))
    return bursts


def _paced_scans(hits: Sequence[HitFacts], clicks: list[tuple[float, int]]) -> list[_Burst]:
    """Every link of a message of three or more, clicked within EVERY_LINK_WINDOW."""
    # Overlapping qualifying windows are one scan: merge them, so a long scan is one burst.
    spans: list[tuple[int, int, int, float]] = []  # (first, last position, links, tightest window)
    times = [t for t, _ in clicks]
    for start, (first, _) in enumerate(clicks):
        end = bisect.bisect_right(times, first + EVERY_LINK_WINDOW)
        window = clicks[start:end]
        links = {hits[i].link for _, i in window if hits[i].link is not None}
        total = max((hits[i].links_in_message or 0 for _, i in window), default=0)
        if total >= 3 and len(links) >= total:
            tightest = _tightest_cover(hits, window, links)
            if spans and start <= spans[-1][1]:
                low, high, seen, best = spans[-1]
                spans[-1] = (low, max(high, end - 1), max(seen, total), min(best, tightest))
            else:
                spans.append((start, end - 1, total, tightest))
    found = []
    for low, high, total, tightest in spans:
        found.append(_Burst(tuple(i for _, i in clicks[low:high + 1]), times[low], times[high],
                            f"every link in the message ({total}) clicked within {tightest:.1f} s"))
    return found


def _tightest_cover(hits: Sequence[HitFacts], window: list[tuple[float, int]], links: set[int | None]) -> float:
    # The window starts at a click; the scan of every link ends where the last new link appears.
    seen: set[int | None] = set()
    for t, i in window:
        seen.add(hits[i].link)
        if links <= seen:
            return t - window[0][0]
    return window[-1][0] - window[0][0]


def _describe_burst(hits: Sequence[HitFacts], members: list[int], span: float) -> str | None:
    """Why these clicks are a machine's, or None when a person could have made them.

    Two requests for the same link are not a burst: that is a double click, or Safe Links
    checking the link as the person clicks it.
    """
    links = {hits[i].link for i in members if hits[i].link is not None}
    totals = [hits[i].links_in_message for i in members if hits[i].links_in_message]
    if len(links) >= 2 and totals and len(links) >= max(totals):
        return f"every link in the message ({len(links)}) clicked within {span:.1f} s"
    if len(links) >= 2 and len(members) >= 3:
        return f"{len(members)} clicks on {len(links)} links within {span:.1f} s"
    # One link requested again and again: a person's double click plus Safe Links checking it
    # as they click makes three requests from two addresses; a scanner repeats from one.
    sources = {(hits[i].ip, hits[i].user_agent) for i in members}
    if len(members) >= 4 or (len(members) >= 3 and len(sources) == 1):
        return f"{len(members)} requests for one link within {span:.1f} s"
    if len(links) >= 2 and span <= TIGHT_PAIR:
        return f"{len(links)} different links clicked within {span:.1f} s"
    since = [hits[i].seconds_since_sent for i in members if hits[i].seconds_since_sent is not None]
    if len(links) >= 2 and since and 0 <= min(since) < FAST_AFTER_SEND:
        return f"{len(links)} different links within {span:.1f} s, {min(since):.0f} s after sending"
    return None


def _office_handoffs(hits: Sequence[HitFacts], evidence: Sequence[Evidence], verdicts: list[Verdict],
                     indexes: Sequence[int], times: dict[int, float]) -> None:
    # Outlook's own request and the browser's are one click; count the browser's, which is the
    # person's, and call Outlook's what it is.
    for index in indexes:
        if not (evidence[index].agent.office_shell and hits[index].hit == "click"
                and verdicts[index].kind == "human" and index in times):
            continue
        for other in indexes:
            gap = times.get(other, -1.0) - times[index]
            if (other != index and 0 <= gap <= OFFICE_HANDOFF and hits[other].hit == "click"
                    and evidence[other].agent.role == "browser" and verdicts[other].kind == "human"
                    and hits[other].link == hits[index].link
                    and (hits[index].ip is None or hits[other].ip in (None, hits[index].ip))):
                verdicts[index] = Verdict(verdicts[index].id, "scanner",
                                          "Outlook's own check of the link; the browser's request "
                                          f"{gap:.1f} s later is the person's click")
                break
