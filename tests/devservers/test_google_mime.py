"""The stand-in's MIME helpers on their own: what Gmail would accept, and byte-exact header surgery."""

from __future__ import annotations

import html

import pytest

from mailbeacon.devservers import google_mime as mime
from mailbeacon.devservers.google_errors import GoogleApiError


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [("SGk_Pz4-", b"Hi??>>"), ("SGk/Pz4+", b"Hi??>>"), ("SGVsbG8", b"Hello"), ("SGVsbG8=", b"Hello")],
)
def test_both_base64_alphabets_with_or_without_padding_decode(encoded: str, decoded: bytes) -> None:
    assert mime.decode_raw(encoded, "message.raw") == decoded


@pytest.mark.parametrize("encoded", ["SGVsbG8 ", "SGVs\nbG8", "S", "SGVsbG8===", "@@@@", 12])
def test_anything_else_is_a_bytes_field_error_naming_the_field(encoded: object) -> None:
    with pytest.raises(GoogleApiError) as failure:
        mime.decode_raw(encoded, "draft.message.raw")

    assert failure.value.code == 400
    assert "'draft.message.raw' (TYPE_BYTES)" in failure.value.message


def test_removing_the_last_header_keeps_the_blank_line_and_body_exact() -> None:
    raw = b"From: a@example.com\r\nTo: b@example.org\r\nBcc: c@example.net,\r\n d@example.net\r\n\r\nBody\r\n"

    assert mime.remove_header(raw, "Bcc") == b"From: a@example.com\r\nTo: b@example.org\r\n\r\nBody\r\n"


def test_removing_a_header_ignores_lookalikes_and_the_body() -> None:
    raw = b"Bcc-Note: keep\nbcc : drop\nSubject: s\n\nBcc: in the body stays\n"

    assert mime.remove_header(raw, "Bcc") == b"Bcc-Note: keep\nSubject: s\n\nBcc: in the body stays\n"


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_prepended_headers_use_the_messages_own_line_ending(newline: bytes) -> None:
    raw = b"Subject: s" + newline + newline + b"x"

    assert mime.prepend_headers(raw, [("Message-ID", "<m@x>")]) == b"Message-ID: <m@x>" + newline + raw


def test_recipients_come_from_to_cc_and_bcc() -> None:
    parsed = mime.parse(b"To: A <a@example.com>, b@example.org\r\nCc: c@example.net\r\nBcc: d@example.io\r\n\r\n")

    expected = ["a@example.com", "b@example.org", "c@example.net", "d@example.io"]
    assert mime.recipients(parsed, required=True) == expected


def test_an_empty_group_is_not_a_recipient() -> None:
    parsed = mime.parse(b"To: undisclosed-recipients:;\r\nSubject: s\r\n\r\n")

    with pytest.raises(GoogleApiError, match="Recipient address required"):
        mime.recipients(parsed, required=True)


def test_snippet_is_collapsed_truncated_and_escaped_like_gmails() -> None:
    raw = b"Content-Type: text/html\r\n\r\n<style>p{}</style><p>It's   <b>5 &lt; 6</b></p>" + b" word" * 100

    snippet = mime.snippet(mime.parse(raw))

    assert snippet.startswith("It&#39;s 5 &lt; 6 word word")
    assert len(html.unescape(snippet)) == mime.SNIPPET_LENGTH


@pytest.mark.parametrize(
    ("subject", "base"),
    [("Re: Pricing", "pricing"), ("RE: Fwd: pricing ", "pricing"), ("AW:  Pricing", "pricing"), ("Pricing", "pricing")],
)
def test_reply_and_forward_prefixes_do_not_change_the_thread_subject(subject: str, base: str) -> None:
    assert mime.base_subject(subject) == base


def test_message_ids_are_compared_without_angle_brackets() -> None:
    parsed = mime.parse(b"Message-ID: <abc.123@mail.example>\r\nReferences: <r1@x> <r2@y>\r\n\r\n")

    assert mime.message_id(parsed) == "abc.123@mail.example"
    assert mime.referenced_ids(parsed) == ["r1@x", "r2@y"]
