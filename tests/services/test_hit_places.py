"""A hit's coarse place: looked up by the worker from the local tables, stored on the hit, shown by the detail
API; never for an open through a mail provider's proxy, never finer than a city, never the address."""

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbeacon.jobs import context
from mailbeacon.runtime import Runtime
from mailbeacon.services.enrich import Enricher
from mailbeacon.services.record_hits import record_batch
from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens
from mailbeacon.tracking.networks import Networks
from mailbeacon.web.app import build_app, pipeline_of

from ..api_support import hit_for, user_with_token
from ..factories import CHROME_UA, GMAIL_PROXY_UA, make_message, wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"
APPLE_MPP_UA = "Mozilla/5.0"
YAHOO_PROXY_UA = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
GMAIL_PREFETCH_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0")


@pytest.fixture
def networks_dir(tmp_path) -> Path:
    directory = tmp_path / "networks"
    directory.mkdir()
    shutil.copy(FIXTURES / "dbip-city-lite-sample.csv", directory / "dbip-city-lite-2026-12.csv")
    shutil.copy(FIXTURES / "apple-egress-sample.csv", directory / "apple-egress.csv")
    return directory


def stored(rt, message) -> list[Hit]:
    with rt.db.session() as s:
        return s.scalars(select(Hit).where(Hit.message_id == message.id).order_by(Hit.occurred_at)).all()


def test_a_pixel_hit_from_an_address_in_the_table_has_its_place_in_the_detail_answer(config, session, networks_dir):
    """The whole way: the request path hands the full address on, the worker looks the place up, the API shows it."""
    rt = Runtime(config.replace(networks_dir=str(networks_dir), redis_url=None))  # embedded: the worker in-process
    app = build_app(runtime=rt)
    context.set_enricher(Enricher(dns=False))  # no real DNS from a test
    try:
        _user_id, auth = user_with_token(rt, "placed@example.com")
        message = make_message(session, sender="placed@example.com")
        client = app.test_client()
        client.get("/o/" + tokens.sign("open", message.id, keyring=rt.keyring), headers={"User-Agent": CHROME_UA},
                   environ_base={"REMOTE_ADDR": "192.0.2.77"})
        wait_until(lambda: stored(rt, message), describe=lambda: "no hit stored")

        detail = client.get(f"/api/v1/messages/{message.public_id}", headers=auth).get_json()
        [entry] = detail["timeline"]
        assert entry["kind"] == "human"
        assert entry["place"] == "Frankfurt am Main, Hesse, DE"
        assert "192.0.2.77" not in str(detail) and "50.11" not in str(detail)
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_a_gmail_proxy_open_gets_no_place_though_the_table_knows_the_proxys_address(rt, session, networks_dir):
    networks = Networks.load(networks_dir)
    assert networks.place_for("66.249.84.10") == "Mountain View, California, US"  # where Google's proxy sits
    message = make_message(session)
    record_batch(rt, [hit_for(message, ua=GMAIL_PROXY_UA, ip="66.249.84.10")], networks=networks)
    [row] = stored(rt, message)
    assert row.kind == "proxy_open" and row.place is None


def test_a_proxy_open_from_an_address_in_no_list_still_gets_no_place(rt, session, networks_dir):
    # The proxy's user agent alone says whose address it is: a Yahoo proxy outside the lists we have is still Yahoo's.
    message = make_message(session)
    record_batch(rt, [hit_for(message, ua=YAHOO_PROXY_UA, ip="192.0.2.50")], networks=Networks.load(networks_dir))
    [row] = stored(rt, message)
    assert row.kind == "proxy_open" and row.place is None


def test_gmails_prefetcher_gets_no_place_either(rt, session, networks_dir):
    message = make_message(session)
    record_batch(rt, [hit_for(message, ua=GMAIL_PREFETCH_UA, ip="66.249.84.12")], networks=Networks.load(networks_dir))
    [row] = stored(rt, message)
    assert row.kind == "prefetch" and row.place is None


def test_a_scanner_keeps_its_place(rt, session, networks_dir):
    message = make_message(session)
    record_batch(rt, [hit_for(message, method="HEAD", ip="203.0.113.40")], networks=Networks.load(networks_dir))
    [row] = stored(rt, message)
    assert row.kind == "scanner" and row.place == "Singapore, SG"


def test_apple_mail_privacy_protection_keeps_the_region_apple_publishes(rt, session, networks_dir):
    message = make_message(session)
    record_batch(rt, [hit_for(message, ua=APPLE_MPP_UA, ip="172.225.46.70")], networks=Networks.load(networks_dir))
    [row] = stored(rt, message)
    assert row.kind == "prefetch" and row.place == "Los Angeles, CA, US"


def test_without_a_table_no_hit_has_a_place(rt, session):
    message = make_message(session)
    record_batch(rt, [hit_for(message, ip="192.0.2.77"), hit_for(message, ip="2001:db8::5", at=time.time() + 60)],
                 networks=Networks.load(None))
    assert [row.place for row in stored(rt, message)] == [None, None]


def test_the_stored_hit_holds_the_place_and_never_the_address_or_coordinates(rt, session, networks_dir):
    message = make_message(session)
    record_batch(rt, [hit_for(message, ip="2001:db8:4:5::9")], networks=Networks.load(networks_dir))
    [row] = stored(rt, message)
    assert row.place == "London, City of, England, GB"
    kept = " ".join(str(value) for value in (row.place, row.reason, row.facts, row.ip_prefix))
    assert "2001:db8:4:5" not in kept and "51.5085" not in kept and "-0.12574" not in kept
