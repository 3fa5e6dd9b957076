"""The body of `mailbeacon classify`: hit descriptions in, one verdict per line out.

Input is JSON lines, one hit per line (see HitFacts.from_json for the fields). A
verdict reflects the whole message — a burst at the end re-classifies the clicks
before it — so every line is read before anything is written. A line that cannot be
read stops the run with a one-line reason naming the line, and nothing is printed:
half an answer would look like a whole one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from ..tracking.classify import HitFacts, classify_message
from ..tracking.networks import NetworkListError, Networks
from .enrich import Enricher

EXIT_OK, EXIT_BAD_INPUT, EXIT_BAD_NETWORKS = 0, 1, 2
_PROGRAM = "mailbeacon classify"


def run_classify(stdin: TextIO, stdout: TextIO, *, networks_dir: str | None,
                 stderr: TextIO | None = None, resolve_dns: bool = False,
                 enricher: Enricher | None = None) -> int:
    """Classify the hits on `stdin`; return the exit status.

    Absent ASNs are filled from a local ip2asn table when the networks directory has
    one. Reverse DNS is looked up only with `resolve_dns` (or a given `enricher`): live
    look-ups make the output depend on the network the command happens to run on.
    """
    errors = stderr if stderr is not None else sys.stderr
    try:
        networks = Networks.load(networks_dir)
    except (NetworkListError, OSError) as error:
        print(f"{_PROGRAM}: cannot load network lists: {error}", file=errors)
        return EXIT_BAD_NETWORKS

    parsed = _read_hits(stdin)
    if isinstance(parsed, str):
        print(f"{_PROGRAM}: {parsed}", file=errors)
        return EXIT_BAD_INPUT
    raw_ids, hits = parsed

    if enricher is None and (resolve_dns or networks.asn_table is not None):
        enricher = Enricher(asn_table=networks.asn_table, dns=resolve_dns)
    if enricher is not None:
        hits = _enrich_all(enricher, hits)

    for raw_id, verdict in zip(raw_ids, classify_message(hits, networks)):
        line = {"id": raw_id, "kind": verdict.kind, "reason": verdict.reason,
                "device_class": verdict.device_class, "client": verdict.client}
        stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    stdout.flush()
    return EXIT_OK


def _read_hits(stdin: TextIO) -> tuple[list[Any], list[HitFacts]] | str:
    """The hits and their ids as given (so 7 comes back as 7, not "7"), or an error line."""
    raw_ids: list[Any] = []
    hits: list[HitFacts] = []
    try:
        for number, line in enumerate(stdin, start=1):
            if not line.strip():
                continue  # blank lines carry no hit; tolerate them as JSON-lines readers do
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                return f"line {number}: not valid JSON ({error.msg} at column {error.colno})"
            try:
                hits.append(HitFacts.from_json(obj))
            except ValueError as error:
                return f"line {number}: {error}"
            raw_ids.append(obj["id"])
    except UnicodeDecodeError:
        return "input is not UTF-8 text"
    return raw_ids, hits


def _enrich_all(enricher: Enricher, hits: Sequence[HitFacts]) -> list[HitFacts]:
    # Look-ups are independent and mostly waiting, so run them side by side: a file of
    # hits from unresponsive addresses then costs one timeout, not one per hit.
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="classify-enrich") as pool:
        return list(pool.map(enricher.enrich, hits))

