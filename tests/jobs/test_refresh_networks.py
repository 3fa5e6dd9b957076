"""The scheduled network-list reload: a list changed in MAILBEACON_NETWORKS_DIR classifies the next hit the worker
stores, without waiting for the worker's own once-a-minute look at the directory."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from mailbeacon.jobs import context, maintenance
from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.runtime import Runtime
from mailbeacon.services.enrich import Enricher
from mailbeacon.storage.models import Hit

from ..factories import CHROME_UA, make_message

GATEWAY_IP = "198.51.100.7"


@pytest.fixture
def worker_runtime(config, tmp_path):
    """The worker's process state, as an RQ worker has it, with network lists read from a directory of our own."""
    networks_dir = tmp_path / "networks"
    networks_dir.mkdir()
    rt = Runtime(config.replace(networks_dir=str(networks_dir)))
    context.use_runtime(rt)
    context.set_enricher(Enricher(dns=False))  # no real DNS: the address's list is what decides here
    yield rt, networks_dir
    rt.close()


def store_an_open(rt, session) -> Hit:
    message = make_message(session, sender=f"{uuid.uuid4().hex[:8]}@example.com")
    process_hit_batch([{"uid": uuid.uuid4().hex, "at": time.time(), "type": "open", "message_id": message.id,
                        "method": "GET", "user_agent": CHROME_UA, "ip": GATEWAY_IP, "headers": {}}])
    with rt.db.session() as s:
        return s.scalar(select(Hit).where(Hit.message_id == message.id))


def test_the_scheduled_reload_makes_a_changed_list_classify_the_next_hit(worker_runtime, session):
    rt, networks_dir = worker_runtime
    assert store_an_open(rt, session).kind == "human"
    (networks_dir / "acme-gateway.txt").write_text("# category: mail_security\n198.51.100.0/24\n")
    # Within the minute the worker's lists stay as they were loaded; the reload is what brings the change in now.
    assert store_an_open(rt, session).kind == "human"

    result = maintenance.refresh_networks()

    hit = store_an_open(rt, session)
    assert hit.kind == "scanner"
    assert "acme_gateway" in hit.reason
    (networks_dir / "acme-gateway.txt").unlink()
    assert maintenance.refresh_networks()["version"] != result["version"]
    assert store_an_open(rt, session).kind == "human"
