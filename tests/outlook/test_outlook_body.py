"""Wrapping an Outlook body as a message for the injector and taking it back out, byte for byte."""

from __future__ import annotations

import pytest

from mailbeacon.services.outlook_body import OutlookBody, unwrap, wrap
from mailbeacon.tracking.envelope import read_envelope
from mailbeacon.tracking.mime import InjectionOptions, inject

HTML = '<p>Grüße — see <a href="https://example.com/a?x=1&amp;y=2">this</a></p>\r\n<p>line two</p>'


def wrapped(body: OutlookBody, **fields) -> bytes:
    defaults = {"subject": "Angebot für Q3 ✓", "to": ["a@example.com"], "cc": ["b@example.com"], "bcc": []}
    return wrap(body=body, **{**defaults, **fields})


def test_an_untouched_body_comes_back_exactly_as_it_went_in():
    body = OutlookBody("html", HTML)
    assert unwrap(wrapped(body), "html") == body


def test_the_envelope_of_the_wrapper_says_who_and_what():
    envelope = read_envelope(wrapped(OutlookBody("text", "hello"), internet_message_id="<m1@example.com>"))
    assert envelope.subject == "Angebot für Q3 ✓"
    assert envelope.to == ["a@example.com"] and envelope.cc == ["b@example.com"] and envelope.bcc == []
    assert envelope.message_id == "<m1@example.com>"


@pytest.mark.parametrize("field", ["subject", "to"])
def test_a_line_break_in_a_field_cannot_add_a_header(field):
    value = "x\r\nBcc: spy@evil.example"
    raw = wrapped(OutlookBody("text", "hi"), **{field: value if field == "subject" else [value]})
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\nBcc:" not in head


def test_a_lone_surrogate_survives_the_round_trip():
    body = OutlookBody("text", "odd \ud800 char https://example.com/")
    assert unwrap(wrapped(body), "text") == body


def test_the_injector_edits_only_the_body_of_the_wrapper():
    raw = wrapped(OutlookBody("html", HTML))
    options = InjectionOptions(track_opens=True, track_clicks=True, pixel_url="https://t.example/o/tok",
                               click_url_for=lambda i: f"https://t.example/c/{i}", tracking_base="https://t.example",
                               honeypot=False)
    tracked, report = inject(raw, options)

    assert report.tracked and tracked.split(b"\r\n\r\n", 1)[0] == raw.split(b"\r\n\r\n", 1)[0]
    content = unwrap(tracked, "html").content
    assert 'href="https://t.example/c/0"' in content and "https://t.example/o/tok" in content
    assert "Grüße" in content and "line two" in content
    assert [link.url for link in report.links] == ["https://example.com/a?x=1&y=2"]


def test_only_html_and_text_bodies_exist():
    with pytest.raises(ValueError):
        OutlookBody("rtf", "{\\rtf1}")
