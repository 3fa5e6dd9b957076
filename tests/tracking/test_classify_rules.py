"""One hit at a time: which evidence decides, and which rule wins when evidence disagrees."""

from dataclasses import replace
from pathlib import Path

import pytest

from mailbeacon.tracking.classify import HitFacts, classify
from mailbeacon.tracking.networks import Networks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
OLD_CHROME = CHROME.replace("131.0.0.0", "83.0.4103.7")
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
BROWSER_HEADERS = {"Accept": "text/html", "Accept-Language": "en-GB"}
PERSON_IP = "203.0.113.50"


@pytest.fixture(scope="module")
def networks(tmp_path_factory) -> Networks:
    directory = tmp_path_factory.mktemp("networks")
    (directory / "apple-egress.csv").write_text((FIXTURES / "apple-egress-sample.csv").read_text())
    (directory / "aws.txt").write_text("# category: cloud\n3.0.0.0/9\n")
    return Networks.load(directory)


def a_click(**changes) -> HitFacts:
    base = HitFacts(id="c", message="m", hit="click", method="GET", user_agent=CHROME, ip=PERSON_IP,
                    seconds_since_sent=3600.0, headers=BROWSER_HEADERS, link=0, links_in_message=2)
    return replace(base, **changes)


def an_open(**changes) -> HitFacts:
    return replace(a_click(hit="open", link=None), **changes)


def kind(hit: HitFacts, networks: Networks) -> str:
    return classify(hit, networks).kind


# --- self ---------------------------------------------------------------------------------

def test_sender_viewing_the_message_seconds_before_is_self_even_through_gmails_proxy(networks):
    verdict = classify(an_open(user_agent=GMAIL, ip="66.249.84.17", sender_viewing_seconds_ago=3.0), networks)
    assert verdict.kind == "self"
    assert "viewing" in verdict.reason


def test_sender_viewing_long_before_the_hit_is_not_self(networks):
    hit = an_open(user_agent=GMAIL, ip="66.249.84.17", sender_viewing_seconds_ago=600.0)
    assert kind(hit, networks) == "proxy_open"


def test_sender_viewing_signal_slightly_after_the_hit_still_counts_for_clock_skew(networks):
    assert kind(an_open(user_agent=GMAIL, sender_viewing_seconds_ago=-1.0), networks) == "self"
    assert kind(an_open(user_agent=GMAIL, sender_viewing_seconds_ago=-30.0), networks) == "proxy_open"


def test_sender_cookie_on_a_click_is_self(networks):
    assert kind(a_click(sender_cookie=True), networks) == "self"


def test_self_beats_even_a_scanners_evidence(networks):
    hit = a_click(method="HEAD", user_agent="", ip="40.107.1.1", honeypot=True, sender_cookie=True)
    assert kind(hit, networks) == "self"


def test_sender_own_recent_address_is_self(networks):
    hit = an_open(user_agent=OUTLOOK, ip="198.51.100.44", sender_last_ip="198.51.100.44")
    assert kind(hit, networks) == "self"


def test_sender_address_compared_after_normalising(networks):
    hit = an_open(user_agent=OUTLOOK, ip="2001:db8::1", sender_last_ip="2001:db8::1")
    assert kind(hit, networks) == "self"
    assert kind(replace(hit, sender_last_ip="2001:db8::2"), networks) == "human"


def test_sharing_an_icloud_relay_address_with_the_sender_proves_nothing(networks):
    hit = an_open(user_agent="Mozilla/5.0", ip="172.224.224.5", sender_last_ip="172.224.224.5")
    assert kind(hit, networks) == "prefetch"


# --- scanners -----------------------------------------------------------------------------

def test_head_request_is_a_scanner_even_with_a_browser_agent(networks):
    verdict = classify(a_click(method="HEAD"), networks)
    assert verdict.kind == "scanner"
    assert "HEAD" in verdict.reason


def test_empty_user_agent_is_a_scanner_on_opens_and_clicks(networks):
    assert kind(an_open(user_agent=""), networks) == "scanner"
    assert kind(a_click(user_agent="   "), networks) == "scanner"


def test_browser_agent_from_exchange_online_protection_is_a_scanner(networks):
    verdict = classify(a_click(ip="40.107.22.7"), networks)
    assert verdict.kind == "scanner"
    assert "Exchange Online Protection" in verdict.reason


def test_pixel_fetched_from_a_mail_gateway_is_a_scanner_not_an_open(networks):
    assert kind(an_open(user_agent=OUTLOOK, ip="64.235.150.9"), networks) == "scanner"


def test_gateway_borrowing_gmails_proxy_agent_is_still_a_scanner(networks):
    assert kind(an_open(user_agent=GMAIL, ip="148.163.150.1"), networks) == "scanner"


def test_forward_confirmed_reverse_dns_of_a_gateway_is_a_scanner(networks):
    hit = a_click(ip="198.51.100.41", reverse_dns="mx0b-00190b01.pphosted.com", forward_confirmed=True)
    verdict = classify(hit, networks)
    assert verdict.kind == "scanner"
    assert "pphosted.com" in verdict.reason and "Proofpoint" in verdict.reason


def test_reverse_dns_without_forward_confirmation_does_not_count(networks):
    for confirmed in (False, None):
        hit = a_click(ip="198.51.100.41", reverse_dns="mx0b-00190b01.pphosted.com", forward_confirmed=confirmed)
        verdict = classify(hit, networks)
        assert verdict.kind == "human"
        assert "not forward-confirmed" in verdict.reason


def test_protection_outlook_com_reverse_dns_confirmed_is_microsofts_gateway(networks):
    hit = a_click(ip="198.51.100.42", reverse_dns="mail-eastusazon11020100.outbound.protection.outlook.com",
                  forward_confirmed=True)
    assert "Exchange Online Protection" in classify(hit, networks).reason


def test_vendor_asn_is_a_scanner(networks):
    verdict = classify(a_click(ip="198.51.100.42", asn=30031), networks)
    assert verdict.kind == "scanner"
    assert "AS30031" in verdict.reason and "Mimecast" in verdict.reason


def test_microsofts_general_asn_alone_does_not_make_a_scanner(networks):
    # AS8075 is also Azure desktops and Microsoft's own staff: it only corroborates.
    assert kind(a_click(asn=8075), networks) == "human"


def test_two_weak_signals_together_make_a_scanner(networks):
    verdict = classify(a_click(ip="3.1.2.3", seconds_since_sent=8.0), networks)
    assert verdict.kind == "scanner"
    assert "8 s after sending" in verdict.reason and "data-centre" in verdict.reason


def test_a_fast_hit_alone_corroborates_but_does_not_decide(networks):
    verdict = classify(a_click(seconds_since_sent=8.0), networks)
    assert verdict.kind == "human"
    assert "alone is not decisive" in verdict.reason


def test_a_stale_browser_seconds_after_sending_is_a_machine(networks):
    verdict = classify(a_click(user_agent=OLD_CHROME, seconds_since_sent=15.0), networks)
    assert verdict.kind == "scanner"
    assert "Chrome 83" in verdict.reason and "15 s after sending" in verdict.reason


def test_a_browser_on_googles_network_seconds_after_sending_is_a_machine(networks):
    assert kind(a_click(ip="66.249.84.1", seconds_since_sent=20.0), networks) == "scanner"
    assert kind(a_click(ip="66.249.84.1"), networks) == "human"


def test_request_headers_a_producer_left_out_are_not_held_against_the_hit(networks):
    assert kind(a_click(headers={}), networks) == "human"
    assert kind(a_click(headers={"Accept": "*/*"}, seconds_since_sent=30.0), networks) == "human"


def test_honeypot_link_is_a_scanner_whatever_the_agent(networks):
    verdict = classify(a_click(honeypot=True, user_agent=SLACK), networks)
    assert verdict.kind == "scanner"
    assert "trap" in verdict.reason


# --- previews, proxies, prefetch ----------------------------------------------------------

def test_slack_probing_with_head_is_still_a_preview(networks):
    assert kind(a_click(user_agent=SLACK, method="HEAD"), networks) == "preview"


def test_teams_preview_from_microsofts_ranges_is_a_preview(networks):
    ua = "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com"
    assert kind(a_click(user_agent=ua, ip="40.107.9.9"), networks) == "preview"


def test_gmail_proxy_open_seconds_after_sending_is_still_a_proxy_open(networks):
    verdict = classify(an_open(user_agent=GMAIL, ip="66.249.84.17", seconds_since_sent=5.0, headers={}), networks)
    assert (verdict.kind, verdict.device_class, verdict.client) == ("proxy_open", "proxy", "Gmail")
    assert "published ranges" not in verdict.reason


def test_gmail_proxy_agent_outside_googles_ranges_is_trusted_but_noted(networks):
    verdict = classify(an_open(user_agent=GMAIL, ip=PERSON_IP), networks)
    assert verdict.kind == "proxy_open"
    assert "not from Google's published ranges" in verdict.reason


def test_head_with_gmails_proxy_agent_is_not_gmail(networks):
    assert kind(an_open(user_agent=GMAIL, method="HEAD"), networks) == "scanner"


def test_apple_mpp_is_bare_mozilla_from_apples_egress_ranges(networks):
    verdict = classify(an_open(user_agent="Mozilla/5.0", ip="172.224.224.5", headers={}), networks)
    assert (verdict.kind, verdict.client, verdict.device_class) == ("prefetch", "Apple Mail", "proxy")
    assert "iCloud Private Relay" in verdict.reason


def test_apple_mpp_over_ipv6_egress(networks):
    assert kind(an_open(user_agent="Mozilla/5.0", ip="2a02:26f7:b3c0:4000::17"), networks) == "prefetch"


def test_apple_mpp_from_apples_own_block_without_the_egress_list():
    verdict = classify(an_open(user_agent="Mozilla/5.0", ip="17.58.101.2"), Networks.load(None))
    assert verdict.kind == "prefetch"


def test_bare_mozilla_outside_apples_ranges_is_unknown(networks):
    verdict = classify(an_open(user_agent="Mozilla/5.0", ip="198.51.100.77"), networks)
    assert verdict.kind == "unknown"
    assert "Apple" in verdict.reason


def test_browser_click_through_icloud_private_relay_is_a_person_without_a_place(networks):
    safari = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/18.1 Mobile/15E148 Safari/604.1")
    verdict = classify(a_click(user_agent=safari, ip="172.224.224.40"), networks)
    assert (verdict.kind, verdict.client, verdict.device_class) == ("human", "Safari", "mobile")
    assert "no place" in verdict.reason


def test_gmail_prefetcher_open_is_a_prefetch(networks):
    ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0")
    verdict = classify(an_open(user_agent=ua, ip="66.102.8.3", seconds_since_sent=2.0), networks)
    assert (verdict.kind, verdict.client) == ("prefetch", "Gmail")


def test_browser_speculative_prefetch_of_a_link_is_not_a_click(networks):
    verdict = classify(a_click(headers={**BROWSER_HEADERS, "Sec-Purpose": "prefetch;prerender"}), networks)
    assert verdict.kind == "prefetch"


# --- people -------------------------------------------------------------------------------

def test_browser_open_is_webmail_and_the_referrer_names_it(networks):
    verdict = classify(an_open(headers={**BROWSER_HEADERS, "Referer": "https://outlook.live.com/"}), networks)
    assert (verdict.kind, verdict.device_class, verdict.client) == ("human", "webmail", "Outlook on the web")


def test_browser_open_without_a_referrer_is_unnamed_webmail(networks):
    verdict = classify(an_open(), networks)
    assert (verdict.kind, verdict.device_class, verdict.client) == ("human", "webmail", None)


def test_outlook_desktop_open_minutes_after_sending_is_human(networks):
    verdict = classify(an_open(user_agent=OUTLOOK, seconds_since_sent=90.0), networks)
    assert (verdict.kind, verdict.device_class, verdict.client) == ("human", "desktop", "Outlook")


def test_headers_are_matched_case_insensitively(networks):
    hit = a_click(headers={"sec-purpose": "prefetch"})
    assert kind(hit, networks) == "prefetch"


def test_hits_built_by_the_worker_are_normalised_like_parsed_ones(networks):
    assert kind(a_click(method="get"), networks) == "human"
    assert kind(a_click(method=""), networks) == "human"
    hit = an_open(user_agent=OUTLOOK, ip="::ffff:198.51.100.44", sender_last_ip="198.51.100.44")
    assert kind(hit, networks) == "self"
