"""The OData query subset the Graph stand-in evaluates, checked without any HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from mailbeacon.devservers.microsoft_odata import (
    GraphError,
    parse_count,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
)

HEADERS = "String {00020386-0000-0000-C000-000000000046} Name X-Mailbeacon-Id"
MESSAGE = {
    "subject": "Quarterly pricing",
    "internetMessageId": "<it's@example.com>",
    "isDraft": False,
    "sentDateTime": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
    "categories": ["Tracked", "Customer"],
    "from": {"emailAddress": {"address": "sam@contoso.com", "name": "Sam"}},
    "singleValueExtendedProperties": [
        {"id": "String {00020386-0000-0000-c000-000000000046} Name X-Mailbeacon-Id", "value": "m-1"},
        {"id": "String {00020386-0000-0000-c000-000000000046} Name X-Other", "value": "zzz"},
    ],
}


def matches(text: str) -> bool:
    return parse_filter(text).matches(MESSAGE)


def test_the_extended_property_lambda_matches_id_and_value_together():
    assert matches(f"singleValueExtendedProperties/Any(ep: ep/id eq '{HEADERS}' and ep/value eq 'm-1')")
    # The right value on the wrong property must not match: both tests apply to the same element.
    assert not matches(f"singleValueExtendedProperties/Any(ep: ep/id eq '{HEADERS}' and ep/value eq 'zzz')")


def test_string_literals_unescape_doubled_quotes():
    assert matches("internetMessageId eq '<it''s@example.com>'")


def test_string_comparison_ignores_case_as_exchange_does():
    assert matches("subject eq 'QUARTERLY PRICING'")
    assert matches("startswith(subject, 'quarterly')")
    assert not matches("contains(subject, 'invoice')")


def test_and_binds_tighter_than_or_and_not_negates():
    assert matches("isDraft eq true and subject eq 'nope' or subject eq 'Quarterly pricing'")
    assert not matches("isDraft eq true and (subject eq 'nope' or subject eq 'Quarterly pricing')")
    assert matches("not isDraft eq true")


def test_datetimes_compare_as_instants():
    # 13:00 at +01:00 is the very instant the message was sent, so "lt" is false.
    assert not matches("sentDateTime ge 2024-05-01T00:00:00Z and sentDateTime lt 2024-05-01T13:00:00+01:00")
    assert matches("sentDateTime gt 2024-04-30T23:59:59Z")


def test_nested_paths_and_collection_lambdas():
    assert matches("from/emailAddress/address eq 'sam@contoso.com'")
    assert matches("categories/any(c: c eq 'customer')")
    assert not matches("categories/all(c: c eq 'Tracked')")


def test_an_unknown_property_is_reported_in_graph_words():
    with pytest.raises(GraphError) as raised:
        matches("subjekt eq 'x'")

    assert raised.value.status == 400
    assert raised.value.code == "RequestBroker--ParseUri"
    assert "subjekt" in raised.value.message


@pytest.mark.parametrize("text", ["subject eq", "subject eq 'unterminated", "(subject eq 'a'", "subject eq 'a' 'b'"])
def test_malformed_filters_are_bad_requests(text):
    with pytest.raises(GraphError) as raised:
        parse_filter(text).matches(MESSAGE)

    assert raised.value.code == "BadRequest"


def test_select_keeps_the_documented_spelling_and_refuses_unknown_names():
    assert parse_select("Subject, toRecipients", ["subject", "toRecipients"]) == ["subject", "toRecipients"]
    assert parse_select(None, ["subject"]) is None
    with pytest.raises(GraphError):
        parse_select("subject,bogus", ["subject"])


def test_expand_carries_a_nested_filter():
    expanded = parse_expand(f"singleValueExtendedProperties($filter=id eq '{HEADERS}')",
                            ["singleValueExtendedProperties"])

    nested = expanded["singleValueExtendedProperties"]
    assert nested is not None
    assert [p["value"] for p in MESSAGE["singleValueExtendedProperties"] if nested.matches(p)] == ["m-1"]


def test_orderby_and_counts_are_validated():
    assert parse_orderby("sentDateTime desc, subject", ["sentDateTime", "subject"]) == [
        ("sentDateTime", True), ("subject", False)]
    assert parse_count("$top", "2000", 10, 1000) == 1000
    with pytest.raises(GraphError):
        parse_orderby("sentDateTime sideways", ["sentDateTime"])
    with pytest.raises(GraphError):
        parse_count("$top", "-1", 10, 1000)
