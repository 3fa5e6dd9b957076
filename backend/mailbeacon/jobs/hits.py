"""RQ job: one batch of hits from the request path.

Unlike the other jobs this one carries data rather than ids: the hits are not in the database yet. Each has
its own id, so running a batch twice stores it once.
"""

from __future__ import annotations

import logging

from ..notify.publish import Publisher, RedisPublisher
from ..services.record_hits import record_batch
from . import context
from .metrics import count_hit_kinds

log = logging.getLogger(__name__)


def _after_opens(rt, message_ids: set[int]) -> None:
    """Side effects of a human open that talk to a provider run as their own jobs, never inside this one."""
    from ..services.outlook_categories import on_human_open

    for message_id in message_ids:
        try:
            on_human_open(rt, message_id)
        except Exception:
            log.warning("could not queue the Outlook category", exc_info=True)


def process_hit_batch(hits: list[dict]) -> dict:
    rt = context.current_runtime()
    networks = context.networks()
    enricher = context.enricher()
    enricher.use_asn_table(networks.asn_table)  # an ip2asn table in MAILBEACON_NETWORKS_DIR, if there is one
    enricher.prefetch(hit.get("ip") for hit in hits if isinstance(hit, dict))  # DNS before the row locks, not under
    result = record_batch(rt, hits, networks=networks, enrich=enricher.enrich)
    backend = RedisPublisher(rt.redis) if rt.redis is not None else rt.broker
    Publisher(backend).publish_all(result.notifications)
    count_hit_kinds(rt, result.kinds, result.dropped)
    _after_opens(rt, result.opened_messages)
    summary = {"stored": result.stored, "replayed": result.duplicates_skipped, "dropped": result.dropped,
               "kinds": result.kinds, "reclassified": result.reclassified}
    log.info("hit batch processed", extra={"batch": summary})
    return summary
