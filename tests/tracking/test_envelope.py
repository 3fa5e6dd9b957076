from datetime import datetime, timedelta, timezone

import pytest

from mailbeacon.tracking.envelope import MalformedMessage, read_envelope

RAW = (
    b"From: =?UTF-8?Q?Ay=C5=9Fe_Y=C4=B1lmaz?= <Ayse.Yilmaz@Example.COM.TR>\r\n"
    b"To: Bob <bob@x.test>, \"Smith, Jane\" <Jane@Y.Test>,\r\n"
    b"\tundisclosed-recipients:;\r\n"
    b"Cc: bob@X.TEST, carol@z.test\r\n"
    b"Bcc: secret@w.test\r\n"
    b"Subject: =?UTF-8?B?xJ7DvMWfxLHDtsOnIMSw?= and\r\n more =?ISO-8859-9?Q?=DE=FD?=\r\n"
    b"Message-ID: <abc.123@mail.example.com>\r\n"
    b"In-Reply-To: <prev@mail.example.com>\r\n"
    b"References: <first@mail.example.com>\r\n <prev@mail.example.com>\r\n"
    b"Date: Mon, 06 Jan 2025 10:12:00 +0300\r\n"
    b"List-Unsubscribe: <mailto:unsub@news.test?subject=u>,\r\n <https://news.test/u?a=1&b=2>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"\r\n"
    b"Hello\r\n"
)


def test_the_envelope_is_read_and_decoded():
    envelope = read_envelope(RAW)
    assert envelope.subject == "\u011e\u00fc\u015f\u0131\u00f6\u00e7 \u0130 and more \u015e\u0131"
    assert envelope.from_address == "Ayse.Yilmaz@example.com.tr"
    assert envelope.to == ["bob@x.test", "Jane@y.test"]
    assert envelope.cc == ["bob@x.test", "carol@z.test"]
    assert envelope.bcc == ["secret@w.test"]
    assert envelope.message_id == "<abc.123@mail.example.com>"
    assert envelope.in_reply_to == "<prev@mail.example.com>"
    assert envelope.references == "<first@mail.example.com> <prev@mail.example.com>"
    assert envelope.date == datetime(2025, 1, 6, 10, 12, tzinfo=timezone(timedelta(hours=3)))
    assert envelope.list_unsubscribe == ["mailto:unsub@news.test?subject=u", "https://news.test/u?a=1&b=2"]


def test_recipients_are_to_cc_bcc_without_case_insensitive_duplicates():
    assert read_envelope(RAW).recipients == ["bob@x.test", "Jane@y.test", "carol@z.test", "secret@w.test"]


def test_a_bare_message_has_empty_fields():
    envelope = read_envelope(b"X-Nothing: 1\n\nbody\n")
    assert (envelope.subject, envelope.from_address, envelope.to, envelope.date, envelope.list_unsubscribe) == (
        "", None, [], None, [])
    assert envelope.recipients == []


def test_an_unparseable_date_and_an_unknown_charset_do_not_fail():
    envelope = read_envelope(b"Date: someday\r\nSubject: =?x-unknown?Q?caf=E9?=\r\n\r\n")
    assert envelope.date is None
    assert envelope.subject.startswith("caf")


def test_raw_utf8_headers_are_read_as_utf8():
    envelope = read_envelope("Subject: \u011e\u00fc\u015f\r\nTo: \u00e7@\u00f6.test\r\n\r\n".encode())
    assert envelope.subject == "\u011e\u00fc\u015f"
    assert envelope.to == ["\u00e7@\u00f6.test"]


def test_list_unsubscribe_urls_folded_inside_the_brackets_are_joined():
    envelope = read_envelope(b"List-Unsubscribe: <https://news.test/u?\r\n a=1>\r\n\r\n")
    assert envelope.list_unsubscribe == ["https://news.test/u?a=1"]


@pytest.mark.parametrize("raw, words", [
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"Subject: no body and no blank line\r\n", "no blank line"),
    (b"<html><body>not a message</body></html>\r\n\r\n", "line 1"),
    (b"Subject: x\r\nthis is not a header\r\n\r\nbody", "line 2"),
    (b" continuation first\r\n\r\n", "line 1"),
])
def test_what_is_not_a_message_is_malformed_with_a_reason(raw, words):
    with pytest.raises(MalformedMessage) as caught:
        read_envelope(raw)
    assert words in caught.value.reason
    assert "\n" not in caught.value.reason


def test_envelope_to_dict_is_json_ready():
    import json
    data = json.loads(json.dumps(read_envelope(RAW).to_dict()))
    assert data["recipients"][0] == "bob@x.test" and data["date"].startswith("2025-01-06T10:12:00")
