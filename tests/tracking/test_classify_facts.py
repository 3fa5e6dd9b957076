"""The `mailbeacon classify` input line: what is accepted, and how a mistake is reported."""

import pytest

from mailbeacon.tracking.classify import HitFacts

MINIMAL = {"id": "h1", "message": "m1", "hit": "open"}


def test_a_full_line_maps_onto_every_field():
    facts = HitFacts.from_json({
        "id": 7, "message": 42, "hit": "click", "method": "head", "user_agent": "curl/8.5.0",
        "ip": "2001:DB8::1", "seconds_since_sent": 12, "headers": {"Accept-Language": "en"},
        "link": 2, "links_in_message": 3, "honeypot": True, "reverse_dns": "mx.pphosted.com",
        "forward_confirmed": False, "asn": "AS26211", "at": 1_800_000_000.5,
        "sender": {"viewing_seconds_ago": 1.5, "last_ip": "198.51.100.4", "cookie": True},
    })
    assert (facts.id, facts.message, facts.hit, facts.method) == ("7", "42", "click", "HEAD")
    assert facts.ip == "2001:db8::1"
    assert facts.seconds_since_sent == 12.0 and facts.at == 1_800_000_000.5
    assert facts.header("accept-language") == "en"
    assert (facts.link, facts.links_in_message, facts.honeypot) == (2, 3, True)
    assert (facts.reverse_dns, facts.forward_confirmed, facts.asn) == ("mx.pphosted.com", False, 26211)
    assert (facts.sender_viewing_seconds_ago, facts.sender_last_ip, facts.sender_cookie) == (1.5, "198.51.100.4", True)


def test_a_minimal_line_gets_safe_defaults():
    facts = HitFacts.from_json(MINIMAL)
    assert (facts.method, facts.user_agent, facts.ip, facts.seconds_since_sent) == ("GET", "", None, None)
    assert (facts.honeypot, facts.sender_cookie, facts.forward_confirmed) == (False, False, None)
    assert dict(facts.headers) == {}


def test_unknown_fields_are_ignored():
    assert HitFacts.from_json({**MINIMAL, "expect": "human", "campaign": "q3"}).id == "h1"


def test_repeated_headers_given_as_a_list_are_joined():
    facts = HitFacts.from_json({**MINIMAL, "headers": {"Via": ["1.1 a", "1.1 b"]}})
    assert facts.header("via") == "1.1 a, 1.1 b"


@pytest.mark.parametrize("line, complaint", [
    ([], "expected a JSON object, got an array"),
    ({"message": "m", "hit": "open"}, "'id' is required"),
    ({"id": "", "message": "m", "hit": "open"}, "'id' is required"),
    ({"id": "h", "hit": "open"}, "'message' is required"),
    ({"id": "h", "message": "m", "hit": "view"}, "'hit' must be \"open\" or \"click\", got \"view\""),
    ({"id": "h", "message": "m"}, "'hit' must be"),
    ({**MINIMAL, "ip": "999.1.1.1"}, "'ip' is not an IP address"),
    ({**MINIMAL, "ip": 12}, "'ip' must be an IP address string"),
    ({**MINIMAL, "seconds_since_sent": "soon"}, "'seconds_since_sent' must be a number"),
    ({**MINIMAL, "seconds_since_sent": True}, "'seconds_since_sent' must be a number"),
    ({**MINIMAL, "headers": "Accept: */*"}, "'headers' must be an object"),
    ({**MINIMAL, "headers": {"Accept": {"nested": 1}}}, "header 'Accept' must be a string"),
    ({**MINIMAL, "link": -1}, "'link' must be an integer of at least 0"),
    ({**MINIMAL, "links_in_message": 2.5}, "'links_in_message' must be an integer"),
    ({**MINIMAL, "honeypot": "yes"}, "'honeypot' must be true or false"),
    ({**MINIMAL, "forward_confirmed": 1}, "'forward_confirmed' must be true or false"),
    ({**MINIMAL, "asn": "Barracuda"}, "'asn' must be an AS number"),
    ({**MINIMAL, "user_agent": 5}, "'user_agent' must be a string"),
    ({**MINIMAL, "sender": "me"}, "'sender' must be an object"),
    ({**MINIMAL, "sender": {"viewing_seconds_ago": "now"}}, "'sender.viewing_seconds_ago' must be a number"),
    ({**MINIMAL, "sender": {"last_ip": "home"}}, "'sender.last_ip' is not an IP address"),
    ({**MINIMAL, "sender": {"cookie": "true"}}, "'sender.cookie' must be true or false"),
])
def test_a_bad_field_is_named_in_the_error(line, complaint):
    with pytest.raises(ValueError) as error:
        HitFacts.from_json(line)
    assert complaint in str(error.value)


def test_the_timeline_is_the_unix_time_when_known_else_time_since_sending():
    assert HitFacts.from_json({**MINIMAL, "seconds_since_sent": 5, "at": 100}).timeline == 100.0
    assert HitFacts.from_json({**MINIMAL, "seconds_since_sent": 5}).timeline == 5.0
    assert HitFacts.from_json(MINIMAL).timeline is None
