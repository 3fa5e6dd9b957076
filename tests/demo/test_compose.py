"""The demo's compose window becomes a Gmail-shaped draft the backend accepts as the one on screen."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailbeacon.demo.compose import (Compose, ComposeError, body_html, build_draft, outlook_seen_fingerprint,
                                     parse_recipients, seen_fingerprint)
from mailbeacon.services.outlook_body import OutlookBody, wrap
from mailbeacon.services.send_attempts import compare_with_screen


def test_typed_urls_become_links_and_the_sentence_keeps_its_punctuation():
    html = body_html("See https://example.com/pricing?plan=pro&seats=5. Or (https://example.com/a_(b)), ok?")
    assert ('<a href="https://example.com/pricing?plan=pro&amp;seats=5">'
            'https://example.com/pricing?plan=pro&amp;seats=5</a>.') in html
    assert '(<a href="https://example.com/a_(b)">https://example.com/a_(b)</a>),' in html


def test_text_is_escaped_and_each_line_is_its_own_block():
    html = body_html("a <b> & \"c\"\n\nlast")
    assert html == '<div dir="ltr"><div>a &lt;b&gt; &amp; "c"</div><div><br></div><div>last</div></div>'


def test_the_draft_is_multipart_alternative_from_the_sender_to_the_recipients():
    compose = Compose.from_form(to="Sam <sam.recipient@example.net>, ana@example.org", subject="  Hi   there ",
                                body="Hello\r\nhttps://example.com/x")
    raw = build_draft(compose, sender_email="alex.sender@example.com", sender_name="Alex Sender")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert str(parsed["From"]) == "Alex Sender <alex.sender@example.com>"
    assert str(parsed["To"]) == "sam.recipient@example.net, ana@example.org" and str(parsed["Subject"]) == "Hi there"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello\nhttps://example.com/x\n"
    assert '<a href="https://example.com/x">' in parsed.get_body(("html",)).get_content()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_the_seen_fingerprint_is_what_the_backend_checks_the_draft_against():
    compose = Compose.from_form(to="sam.recipient@example.net", subject="Pricing", body="Hi, é https://e.com/p")
    raw = build_draft(compose, sender_email="alex.sender@example.com", sender_name=None)
    seen = seen_fingerprint(compose, raw)
    assert compare_with_screen(raw, seen) is None
    edited = build_draft(Compose.from_form(to="sam.recipient@example.net", subject="Pricing", body="Hi, changed"),
                         sender_email="alex.sender@example.com", sender_name=None)
    assert compare_with_screen(edited, seen).field == "text"


def test_the_outlook_fingerprint_is_what_the_graph_send_checks_the_saved_item_against():
    compose = Compose.from_form(to="sam.recipient@example.net", subject="Pricing", body="Hi, é https://e.com/p")
    seen = outlook_seen_fingerprint(compose, body_html(compose.body))
    # As Graph reads the item back: Exchange keeps the HTML wrapped in a whole document of its own.
    stored = ('<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>'
              f"{body_html(compose.body)}</body></html>")

    def as_graph_send_sees_it(html: str) -> bytes:
        return wrap(subject="Pricing", to=["sam.recipient@example.net"], cc=[], bcc=[], body=OutlookBody("html", html))
    assert compare_with_screen(as_graph_send_sees_it(stored), seen) is None
    assert compare_with_screen(as_graph_send_sees_it(body_html("Hi, changed")), seen).field == "text"


@pytest.mark.parametrize("value, wording", [
    ("", "Add a recipient"),
    ("sam", "not an email address"),
    ("sam@localhost", "not an email address"),
    (", ".join(f"p{i}@example.com" for i in range(11)), "at most 10"),
])
def test_recipients_that_are_not_addresses_are_refused_by_name(value, wording):
    with pytest.raises(ComposeError, match=wording):
        parse_recipients(value)


def test_repeated_recipients_are_sent_to_once():
    assert parse_recipients("a@example.com, A <a@example.com>") == ("a@example.com",)


def test_an_empty_or_oversized_message_is_refused():
    with pytest.raises(ComposeError, match="empty body"):
        Compose.from_form(to="a@example.com", subject="s", body=" \n ")
    with pytest.raises(ComposeError, match="longer than"):
        Compose.from_form(to="a@example.com", subject="s" * 301, body="x")
