"""A message's hits judged together: bursts and trap links re-classify the hits around them."""

from dataclasses import replace

import pytest

from mailbeacon.tracking.classify import HitFacts, classify_message
from mailbeacon.tracking.networks import Networks

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
EDGE = CHROME + " Edg/131.0.0.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
HEADERS = {"Accept": "text/html", "Accept-Language": "en-GB"}


@pytest.fixture(scope="module")
def networks() -> Networks:
    return Networks.load(None)


def click(id: str, t: float, link: int, *, links: int = 4, ua: str = CHROME, ip: str = "198.51.100.20",
          **changes) -> HitFacts:
    hit = HitFacts(id=id, message="m", hit="click", method="GET", user_agent=ua, ip=ip,
                   seconds_since_sent=t, headers=HEADERS, link=link, links_in_message=links)
    return replace(hit, **changes)


def opened(id: str, t: float, *, ua: str = CHROME, ip: str = "198.51.100.20", **changes) -> HitFacts:
    return replace(click(id, t, 0, ua=ua, ip=ip), hit="open", link=None, **changes)


def kinds(hits, networks) -> dict[str, str]:
    return {verdict.id: verdict.kind for verdict in classify_message(hits, networks)}


def test_three_clicks_within_two_seconds_are_a_burst_of_scanner_hits(networks):
    hits = [click("a", 3600.0, 0), click("b", 3600.8, 1), click("c", 3601.9, 0)]
    verdicts = classify_message(hits, networks)
    assert [v.kind for v in verdicts] == ["scanner"] * 3
    assert all("burst" in v.reason for v in verdicts)


def test_a_later_burst_reclassifies_the_earlier_click_that_looked_human(networks):
    first = click("first", 3600.0, 0)
    assert classify_message([first], networks)[0].kind == "human"
    later = [first, click("second", 3601.0, 1), click("third", 3601.5, 2)]
    assert kinds(later, networks)["first"] == "scanner"


def test_every_link_clicked_at_once_is_a_scanner_even_when_only_two(networks):
    verdicts = classify_message([click("a", 3600.0, 0, links=2), click("b", 3601.6, 1, links=2)], networks)
    assert [v.kind for v in verdicts] == ["scanner", "scanner"]
    assert "every link" in verdicts[0].reason


def test_two_different_links_within_a_second_are_a_scanner(networks):
    assert set(kinds([click("a", 3600.0, 0), click("b", 3600.6, 2)], networks).values()) == {"scanner"}


def test_two_links_a_second_and_a_half_apart_hours_later_could_be_a_person(networks):
    assert set(kinds([click("a", 7200.0, 0), click("b", 7201.5, 2)], networks).values()) == {"human"}


def test_the_same_pair_seconds_after_sending_is_corroborated_into_a_burst(networks):
    verdicts = classify_message([click("a", 12.0, 0), click("b", 13.5, 2)], networks)
    assert [v.kind for v in verdicts] == ["scanner", "scanner"]
    assert "after sending" in verdicts[0].reason


def test_a_double_click_on_one_link_is_not_a_burst(networks):
    assert set(kinds([click("a", 3600.0, 1), click("b", 3600.3, 1)], networks).values()) == {"human"}


def test_clicks_spread_over_minutes_are_not_a_burst(networks):
    hits = [click("a", 3600.0, 0), click("b", 3660.0, 1), click("c", 3720.0, 2)]
    assert set(kinds(hits, networks).values()) == {"human"}


def test_a_human_browser_click_from_another_address_inside_a_burst_is_a_scanner(networks):
    hits = [click("scan-1", 30.0, 0), click("scan-2", 30.5, 1),
            click("person", 31.0, 2, ua=SAFARI, ip="203.0.113.9"), click("scan-3", 31.4, 3)]
    assert kinds(hits, networks)["person"] == "scanner"


def test_safe_links_scan_then_the_persons_own_click_a_minute_later_is_human(networks):
    hits = [click("scan", 20.0, 0, links=2, ip="40.107.22.7"),
            click("person", 85.0, 0, links=2, ua=EDGE, ip="203.0.113.61")]
    assert kinds(hits, networks) == {"scan": "scanner", "person": "human"}


def test_safe_links_checking_as_the_person_clicks_leaves_the_person_human(networks):
    # Time-of-click protection: Microsoft's request and the person's, same link, milliseconds apart.
    hits = [click("check", 5000.0, 1, ip="40.107.22.7"),
            click("person", 5000.2, 1, ua=EDGE, ip="203.0.113.61")]
    assert kinds(hits, networks) == {"check": "scanner", "person": "human"}


def test_the_pixel_fetched_during_a_burst_was_rendered_by_the_scanner(networks):
    hits = [opened("open", 11.5), click("a", 12.0, 0), click("b", 12.4, 1), click("c", 13.1, 2)]
    verdicts = {v.id: v for v in classify_message(hits, networks)}
    assert verdicts["open"].kind == "scanner"
    assert "rendered" in verdicts["open"].reason


def test_an_open_long_before_the_burst_keeps_its_verdict(networks):
    hits = [opened("open", 5.0, ua=OUTLOOK, ip="203.0.113.9"),
            click("a", 600.0, 0), click("b", 600.4, 1), click("c", 601.1, 2)]
    assert kinds(hits, networks)["open"] == "human"


def test_a_gmail_proxy_open_during_a_burst_stays_a_proxy_open(networks):
    hits = [opened("open", 12.0, ua=GMAIL, ip="66.249.84.17"),
            click("a", 12.0, 0), click("b", 12.4, 1), click("c", 13.1, 2)]
    assert kinds(hits, networks)["open"] == "proxy_open"


def test_the_senders_own_click_inside_a_burst_stays_self(networks):
    hits = [click("a", 30.0, 0), click("b", 30.5, 1), click("sender", 30.9, 2, sender_cookie=True),
            click("c", 31.3, 3)]
    result = kinds(hits, networks)
    assert result["sender"] == "self"
    assert result["a"] == result["c"] == "scanner"


def test_link_previews_neither_make_nor_join_a_burst(networks):
    hits = [click("p1", 100.0, 0, ua=SLACK), click("p2", 100.2, 1, ua=SLACK), click("p3", 100.4, 2, ua=SLACK),
            click("person", 101.0, 3)]
    assert kinds(hits, networks) == {"p1": "preview", "p2": "preview", "p3": "preview", "person": "human"}


def test_honeypot_click_reclassifies_the_hits_seconds_around_it(networks):
    hits = [click("before", 3597.0, 0, ip="198.51.100.30"),
            click("trap", 3600.0, 3, honeypot=True, ip="198.51.100.30"),
            click("after", 3604.0, 1, ua=SAFARI, ip="203.0.113.9"),
            click("much-later", 5400.0, 0, ua=SAFARI, ip="203.0.113.70")]
    result = kinds(hits, networks)
    assert result == {"before": "scanner", "trap": "scanner", "after": "scanner", "much-later": "human"}


def test_honeypot_scanners_return_visits_from_the_same_address_and_agent_are_scanners(networks):
    hits = [click("trap", 3600.0, 3, honeypot=True, ip="198.51.100.30"),
            click("return", 3660.0, 0, ip="198.51.100.30"),
            click("colleague", 3700.0, 1, ua=SAFARI, ip="198.51.100.30")]
    result = kinds(hits, networks)
    assert result["return"] == "scanner"
    assert result["colleague"] == "human"  # same office address, another browser, later


def test_outlooks_own_link_request_followed_by_the_browser_counts_once(networks):
    hits = [click("outlook", 4000.0, 1, ua=OUTLOOK, ip="203.0.113.9"),
            click("browser", 4001.2, 1, ua=EDGE, ip="203.0.113.9")]
    verdicts = {v.id: v for v in classify_message(hits, networks)}
    assert verdicts["browser"].kind == "human"
    assert verdicts["outlook"].kind == "scanner"
    assert "Outlook's own check" in verdicts["outlook"].reason


def test_outlooks_link_request_with_no_browser_after_it_is_the_persons_click(networks):
    assert kinds([click("outlook", 4000.0, 1, ua=OUTLOOK, ip="203.0.113.9")], networks) == {"outlook": "human"}


def test_verdicts_come_back_in_input_order_even_when_input_is_out_of_time_order(networks):
    hits = [click("late", 3602.0, 2), click("early", 3600.0, 0), click("middle", 3601.0, 1)]
    verdicts = classify_message(hits, networks)
    assert [v.id for v in verdicts] == ["late", "early", "middle"]
    assert {v.kind for v in verdicts} == {"scanner"}


def test_hits_of_different_messages_never_form_a_burst_together(networks):
    hits = [click("a", 3600.0, 0), replace(click("b", 3600.4, 1), message="other"),
            replace(click("c", 3600.8, 2), message="third")]
    assert set(kinds(hits, networks).values()) == {"human"}


def test_unix_times_are_preferred_when_every_hit_has_one(networks):
    # seconds_since_sent says minutes apart, the hits' own clock says within a second.
    hits = [click("a", 100.0, 0, at=1_800_000_000.0), click("b", 200.0, 1, at=1_800_000_000.4),
            click("c", 300.0, 2, at=1_800_000_000.9)]
    assert set(kinds(hits, networks).values()) == {"scanner"}


def test_hits_without_any_time_are_judged_alone(networks):
    hits = [click("a", 0.0, 0, seconds_since_sent=None), click("b", 0.0, 1, seconds_since_sent=None),
            click("c", 0.0, 2, seconds_since_sent=None)]
    assert set(kinds(hits, networks).values()) == {"human"}


def test_an_empty_message_has_no_verdicts(networks):
    assert classify_message([], networks) == []


def test_a_double_click_plus_safe_links_checking_it_is_not_a_burst(networks):
    hits = [click("first", 5000.0, 1, ua=EDGE, ip="203.0.113.61"),
            click("check", 5000.1, 1, ip="40.107.22.7"),
            click("second", 5000.3, 1, ua=EDGE, ip="203.0.113.61")]
    assert kinds(hits, networks) == {"first": "human", "check": "scanner", "second": "human"}


def test_one_link_requested_three_times_from_one_source_is_a_scanner(networks):
    hits = [click(f"r{i}", 5000.0 + i * 0.5, 1) for i in range(3)]
    verdicts = classify_message(hits, networks)
    assert {v.kind for v in verdicts} == {"scanner"}
    assert "requests for one link" in verdicts[0].reason


def test_a_paced_scan_of_every_link_is_still_a_scan(networks):
    # Three seconds apart: never a burst by gap, but all four links inside ten seconds.
    hits = [click(f"l{i}", 7200.0 + i * 3.0, i, links=4) for i in range(4)]
    verdicts = classify_message(hits, networks)
    assert {v.kind for v in verdicts} == {"scanner"}
    assert "every link in the message (4)" in verdicts[0].reason


def test_a_reader_working_through_three_links_over_minutes_is_human(networks):
    hits = [click(f"l{i}", 7200.0 + i * 45.0, i, links=3) for i in range(3)]
    assert set(kinds(hits, networks).values()) == {"human"}
