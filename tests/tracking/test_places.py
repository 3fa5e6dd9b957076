"""Coarse places from the local tables: DB-IP's IP to City Lite CSV and Apple's egress list."""

import re
import shutil
from pathlib import Path

import pytest

from mailbeacon.tracking.networks import NetworkListError, Networks, check_list_file
from mailbeacon.tracking.places import PlaceTable, format_place

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"
DBIP_SAMPLE = FIXTURES / "dbip-city-lite-sample.csv"


@pytest.fixture(scope="module")
def table() -> PlaceTable:
    return PlaceTable.from_dbip_city_csv(DBIP_SAMPLE.read_text().splitlines())


def test_an_address_in_the_table_gets_city_region_and_country(table):
    assert table.lookup("192.0.2.77") == "Frankfurt am Main, Hesse, DE"
    assert table.lookup("198.51.100.0") == "Paris, Île-de-France, FR"
    assert table.lookup("198.51.100.127") == "Paris, Île-de-France, FR"


def test_only_the_known_parts_are_given_and_none_twice(table):
    assert table.lookup("198.51.100.128") == "US"
    assert table.lookup("203.0.113.9") == "Singapore, SG"


def test_ipv6_rows_are_looked_up_too_and_quoted_fields_keep_their_commas(table):
    assert table.lookup("2001:db8:4::1") == "London, City of, England, GB"
    assert table.lookup("2001:db9::1") is None


def test_addresses_outside_every_range_or_malformed_have_no_place(table):
    assert table.lookup("192.0.3.0") is None
    assert table.lookup("10.0.0.1") is None
    assert table.lookup("not an address") is None
    assert table.lookup(None) is None


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(table):
    assert table.lookup("::ffff:192.0.2.1") == "Frankfurt am Main, Hesse, DE"


def test_the_table_keeps_nothing_finer_than_a_city():
    # The Lite rows carry coordinates; the paid layout adds district and postcode. Neither may end up in a place.
    lite = '198.51.100.0,198.51.100.255,NA,US,California,"Mountain View",37.4229,-122.085\n'
    full = ('203.0.113.0,203.0.113.255,NA,US,CA,California,"Santa Clara County","Mountain View",94043,37.4229,'
            '-122.085,5375480,-7,America/Los_Angeles,USCA0746\n')
    table = PlaceTable.from_dbip_city_csv([lite, full])
    assert table.places() == {"Mountain View, California, US"}
    assert table.lookup("203.0.113.5") is None  # another layout is skipped, not read into the wrong parts
    assert table.skipped == 1
    assert not any(re.search(r"\d", place) for place in table.places())


def test_a_file_in_no_layout_of_ours_is_refused():
    with pytest.raises(NetworkListError, match="IP to City Lite"):
        PlaceTable.from_dbip_city_csv(["<html><body>Not found</body></html>\n"])


def test_place_parts_lose_control_characters_and_unknowns():
    assert format_place("Zürich\x00\n", " ", "CH") == "Zürich, CH"
    assert format_place("", "", "ZZ") is None
    assert len(format_place("x" * 300, "y" * 300, "US")) <= 128


def test_apples_egress_rows_give_their_region_and_city(tmp_path):
    shutil.copy(FIXTURES / "apple-egress-sample.csv", tmp_path / "apple-egress.csv")
    networks = Networks.load(tmp_path)
    assert networks.place_for("172.224.224.5") == "London, EN, GB"
    assert networks.place_for("172.225.46.70") == "Los Angeles, CA, US"
    assert networks.place_for("104.28.37.11") == "Frankfurt am Main, HE, DE"  # a row out of order in the file


def test_a_city_table_in_the_directory_gives_the_networks_their_places(tmp_path):
    assert Networks.load(tmp_path).place_for("192.0.2.77") is None
    shutil.copy(DBIP_SAMPLE, tmp_path / "dbip-city-lite-2026-12.csv")
    networks = Networks.load(tmp_path)
    assert networks.place_for("192.0.2.77") == "Frankfurt am Main, Hesse, DE"
    # A city table is not a network list: it tags nothing.
    assert networks.tags_for("192.0.2.77") == frozenset()
    assert networks.warnings == ()
    with (tmp_path / "dbip-city-lite-2026-12.csv").open("a") as table:
        table.write("192.0.3.0,192.0.3.255,EU,DE\n")
    assert Networks.load(tmp_path).warnings == (
        "dbip-city-lite-2026-12.csv: lines skipped, not in the IP to City Lite layout: 1",)


def test_only_the_newest_months_city_table_is_read_when_last_months_is_still_there(tmp_path):
    (tmp_path / "dbip-city-lite-2026-11.csv").write_text("192.0.2.0,192.0.2.255,EU,FR,Ile-de-France,Paris,0,0\n")
    shutil.copy(DBIP_SAMPLE, tmp_path / "dbip-city-lite-2026-12.csv")
    networks = Networks.load(tmp_path)
    assert networks.place_for("192.0.2.77") == "Frankfurt am Main, Hesse, DE"  # December's answer, not November's
    assert networks.warnings == ("dbip-city-lite-2026-11.csv: not read, dbip-city-lite-2026-12.csv is newer",)


def test_apples_own_region_comes_before_a_geolocation_guess(tmp_path):
    (tmp_path / "apple-egress.csv").write_text("192.0.2.0/28,GB,GB-SCT,Edinburgh,\n")
    shutil.copy(DBIP_SAMPLE, tmp_path / "dbip-city-lite-2026-12.csv")
    networks = Networks.load(tmp_path)
    assert networks.place_for("192.0.2.3") == "Edinburgh, SCT, GB"
    assert networks.place_for("192.0.2.99") == "Frankfurt am Main, Hesse, DE"


def test_the_shipped_lists_alone_give_no_place():
    assert Networks.load(None).place_for("66.249.84.10") is None


def test_a_city_table_that_is_not_one_stops_the_load_naming_the_file(tmp_path):
    (tmp_path / "dbip-city-lite-2026-12.csv").write_text("this,is\nnot,it\n")
    with pytest.raises(NetworkListError, match="dbip-city-lite-2026-12.csv"):
        Networks.load(tmp_path)


def test_check_list_file_reads_a_file_as_the_loader_would(tmp_path):
    good = tmp_path / "microsoft-endpoints.json"
    shutil.copy(FIXTURES / "microsoft-endpoints-sample.json", good)
    assert check_list_file(good) > 0
    empty = tmp_path / "goog.json"
    empty.write_text('{"syncToken": "1", "prefixes": []}')
    with pytest.raises(NetworkListError, match="holds no network"):
        check_list_file(empty)
    broken = tmp_path / "ip-ranges.json"
    broken.write_text('{"prefixes": [{"ip_prefix": "3.5.140.0/22"')
    with pytest.raises(NetworkListError, match="not valid JSON"):
        check_list_file(broken)
