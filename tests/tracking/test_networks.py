import ipaddress
import shutil
from pathlib import Path

import pytest

from mailbeacon.tracking.netlists import AsnTable, parse_cidr_list, parse_prefix
from mailbeacon.tracking.networks import NetworkListError, Networks, load_apple_egress_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"


@pytest.fixture(scope="module")
def shipped() -> Networks:
    return Networks.load(None)


def test_apple_list_reads_apples_published_line_format():
    networks = load_apple_egress_csv("172.224.224.0/27,GB,GB-EN,London,\n")
    assert networks == [ipaddress.ip_network("172.224.224.0/27")]


def test_apple_list_skips_blank_and_malformed_lines_and_keeps_ipv6():
    networks = load_apple_egress_csv((FIXTURES / "apple-egress-sample.csv").read_text())
    assert ipaddress.ip_network("2a02:26f7:b3c0:4000::/64") in networks
    assert ipaddress.ip_network("104.28.57.0/24") in networks  # empty region and city
    assert len(networks) == 8  # nine lines with content, one of them not a prefix


def test_apple_list_tolerates_a_byte_order_mark_and_host_bits():
    networks = load_apple_egress_csv("\ufeff172.224.224.7/27,GB,GB-EN,London,\n")
    assert networks == [ipaddress.ip_network("172.224.224.0/27")]


def test_prefix_parser_rejects_what_is_not_a_network():
    for text in ("", "London", "300.1.1.1/24", "10.0.0.0/33", "10.0.0.0/x", "2001:db8::/129"):
        assert parse_prefix(text) is None, text


def test_cidr_list_keeps_category_header_and_reports_odd_lines():
    parsed = parse_cidr_list("# category: mail_security\n192.0.2.0/24  # gateway\nnonsense\n\n")
    assert parsed.directives["category"] == "mail_security"
    assert [item[0] for item in parsed.ranges] == [4]
    assert parsed.skipped == ["line 3: 'nonsense' is not a network"]


def test_shipped_lists_place_the_published_gateways(shipped):
    assert shipped.tags_for("40.107.22.7") == {"microsoft_eop"}
    assert shipped.tags_for("2a01:111:f403:c000::1") == {"microsoft_eop"}
    assert shipped.tags_for("64.235.150.9") == {"barracuda"}
    assert shipped.tags_for("148.163.150.1") == {"proofpoint"}
    assert shipped.tags_for("207.211.30.40") == {"mimecast"}
    assert shipped.tags_for("66.249.84.17") == {"google"}
    assert shipped.tags_for("17.58.0.1") == {"apple"}


def test_an_address_in_no_list_has_no_tags(shipped):
    assert shipped.tags_for("203.0.113.50") == frozenset()
    assert shipped.tags_for("2001:db8::1") == frozenset()


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(shipped):
    assert shipped.tags_for("::ffff:40.107.22.7") == {"microsoft_eop"}


def test_malformed_or_missing_addresses_have_no_tags(shipped):
    assert shipped.tags_for("not-an-ip") == frozenset()
    assert shipped.tags_for(None) == frozenset()
    assert shipped.tags_for("") == frozenset()


def test_range_edges_are_inside_and_neighbours_outside(shipped):
    assert shipped.tags_for("104.47.0.0") == {"microsoft_eop"}
    assert shipped.tags_for("104.47.127.255") == {"microsoft_eop"}
    assert shipped.tags_for("104.47.128.0") == frozenset()
    assert shipped.tags_for("40.91.255.255") == frozenset()


def test_categories_say_what_the_shipped_tags_mean(shipped):
    assert shipped.category("microsoft_eop") == "mail_security"
    assert shipped.category("apple_private_relay") == "apple_relay"
    assert shipped.category("google") == "google"
    assert shipped.category("made_up") is None


def test_vendor_asns_and_confirmed_hostnames_map_to_tags(shipped):
    assert shipped.tags_for_asn(15324) == {"barracuda"}
    assert shipped.tags_for_asn(30031) == {"mimecast"}
    assert shipped.tags_for_asn(64500) == frozenset()
    assert shipped.tags_for_asn(None) == frozenset()
    assert shipped.tags_for_hostname("mx0a-0012.pphosted.com.") == {"proofpoint"}
    assert shipped.tags_for_hostname("MAIL-DM6NAM.OUTBOUND.PROTECTION.OUTLOOK.COM") == {"microsoft_eop"}
    assert shipped.tags_for_hostname("pphosted.com") == {"proofpoint"}


def test_a_domain_that_merely_ends_in_the_same_letters_is_not_the_vendor(shipped):
    assert shipped.tags_for_hostname("evilpphosted.com") == frozenset()
    assert shipped.tags_for_hostname("pphosted.com.attacker.example") == frozenset()


def test_every_shipped_list_loads_without_odd_lines(shipped):
    assert shipped.warnings == ()


def test_directory_adds_apples_egress_list(tmp_path):
    shutil.copy(FIXTURES / "apple-egress-sample.csv", tmp_path / "apple-egress.csv")
    networks = Networks.load(tmp_path)
    assert networks.tags_for("172.224.224.5") == {"apple_private_relay"}
    assert networks.tags_for("2a09:bac1:76c0:12::9") == {"apple_private_relay"}
    assert any("not a network prefix" in warning for warning in networks.warnings)


def test_directory_file_with_a_shipped_tag_replaces_the_shipped_list(tmp_path):
    (tmp_path / "barracuda.txt").write_text("# category: mail_security\n198.51.100.0/24\n")
    networks = Networks.load(tmp_path)
    assert networks.tags_for("198.51.100.9") == {"barracuda"}
    assert networks.tags_for("64.235.150.9") == frozenset()


def test_directory_file_with_a_new_tag_extends_the_lists_and_declares_its_category(tmp_path):
    (tmp_path / "acme-gateway.txt").write_text("# category: mail_security\n192.0.2.0/25\n")
    networks = Networks.load(tmp_path)
    assert networks.tags_for("192.0.2.9") == {"acme_gateway"}
    assert networks.category("acme_gateway") == "mail_security"
    assert networks.tags_for("40.107.22.7") == {"microsoft_eop"}  # shipped lists still there


def test_unknown_category_is_reported_not_trusted(tmp_path):
    (tmp_path / "odd.txt").write_text("# category: friendly\n192.0.2.0/25\n")
    networks = Networks.load(tmp_path)
    assert networks.category("odd") is None
    assert any("unknown category 'friendly'" in warning for warning in networks.warnings)


def test_microsoft_endpoints_json_yields_exchange_online_protection(tmp_path):
    shutil.copy(FIXTURES / "microsoft-endpoints-sample.json", tmp_path / "microsoft-endpoints.json")
    networks = Networks.load(tmp_path)
    assert networks.tags_for("40.93.1.1") == {"microsoft_eop"}
    assert networks.tags_for("40.97.1.1") == {"microsoft_365"}
    assert networks.category("microsoft_365") == "microsoft"


def test_google_cloud_addresses_are_not_counted_as_google_itself(tmp_path):
    shutil.copy(FIXTURES / "goog-sample.json", tmp_path / "goog.json")
    shutil.copy(FIXTURES / "cloud-sample.json", tmp_path / "cloud.json")
    networks = Networks.load(tmp_path)
    assert networks.tags_for("66.249.66.1") == {"google"}  # goog.json replaced the shipped list
    assert networks.tags_for("34.1.2.3") == {"google_cloud"}
    assert networks.tags_for("2001:4860:1::1") == {"google"}


def test_aws_published_json_is_tagged_as_cloud(tmp_path):
    (tmp_path / "ip-ranges.json").write_text(
        '{"prefixes": [{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON"}],'
        ' "ipv6_prefixes": [{"ipv6_prefix": "2600:1f18::/33", "service": "EC2"}]}')
    networks = Networks.load(tmp_path)
    assert networks.tags_for("3.5.141.1") == {"aws"}
    assert networks.tags_for("2600:1f18::1") == {"aws"}
    assert networks.category("aws") == "cloud"


def test_a_file_that_is_not_a_list_at_all_is_an_error_naming_it(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(NetworkListError, match="broken.json"):
        Networks.load(tmp_path)
    (tmp_path / "broken.json").unlink()
    (tmp_path / "garbage.txt").write_text("hello\nworld\n")
    with pytest.raises(NetworkListError, match="garbage.txt: no network"):
        Networks.load(tmp_path)


def test_a_missing_directory_is_an_error():
    with pytest.raises(NotADirectoryError):
        Networks.load("/nonexistent/mailbeacon-networks")


def test_files_the_loader_does_not_understand_are_left_alone(tmp_path):
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / ".partial.txt").write_text("garbage")
    assert Networks.load(tmp_path).warnings == ()


def test_version_changes_when_the_lists_change_and_only_then(tmp_path):
    first = Networks.load(tmp_path).version()
    assert Networks.load(tmp_path).version() == first
    assert Networks.load(None).version() == first  # an empty directory adds nothing
    (tmp_path / "apple-egress.csv").write_text("172.224.224.0/27,GB,GB-EN,London,\n")
    second = Networks.load(tmp_path).version()
    assert second != first
    (tmp_path / "apple-egress.csv").write_text("172.224.224.0/26,GB,GB-EN,London,\n")
    assert Networks.load(tmp_path).version() != second


def test_asn_table_reads_ip2asn_and_ignores_unrouted_space():
    table = AsnTable.from_ip2asn_tsv((FIXTURES / "ip2asn-sample.tsv").read_text())
    assert table.lookup("64.235.150.9") == 15324
    assert table.lookup("3.100.0.1") == 16509
    assert table.lookup("2001:db8:5::42") == 64500
    assert table.lookup("198.51.100.7") is None  # ASN 0: not routed
    assert table.lookup("9.9.9.9") is None
    assert table.lookup("nonsense") is None


def test_directory_ip2asn_table_becomes_the_networks_asn_table(tmp_path):
    shutil.copy(FIXTURES / "ip2asn-sample.tsv", tmp_path / "ip2asn-v4.tsv")
    networks = Networks.load(tmp_path)
    assert networks.asn_table is not None
    assert networks.asn_table.lookup("1.0.0.1") == 13335
    assert Networks.load(None).asn_table is None


def test_fingerprint_changes_when_a_list_file_is_replaced_and_not_otherwise(tmp_path):
    empty = Networks.fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("notes")
    assert Networks.fingerprint(tmp_path) == empty  # not a list file
    (tmp_path / "apple-egress.csv").write_text("172.224.224.0/27,GB,GB-EN,London,\n")
    first = Networks.fingerprint(tmp_path)
    assert first != empty and Networks.fingerprint(tmp_path) == first
    (tmp_path / "apple-egress.csv").write_text("172.224.224.0/27,GB,GB-EN,London,\n172.224.224.32/27,GB,GB-EN,London,\n")
    assert Networks.fingerprint(tmp_path) != first
    assert Networks.fingerprint(tmp_path / "missing") == Networks.fingerprint(None)
