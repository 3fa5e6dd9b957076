"""inject(): refusals, options, structure edge cases, and that it never raises for bad input."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbeacon.tracking.html import HONEYPOT_WRAPPER_STYLE, pixel_markup
from mailbeacon.tracking.mime import InjectionOptions, inject

from .mailcheck import BASE, FIXTURES, PIXEL, click, text_parts


def options(**overrides) -> InjectionOptions:
    settings_ = dict(track_opens=True, track_clicks=True, pixel_url=PIXEL, click_url_for=click, tracking_base=BASE)
    settings_.update(overrides)
    return InjectionOptions(**settings_)


def message(content_type: str, body: str | bytes, *, headers: str = "", eol: str = "\r\n") -> bytes:
    head = f"From: a@x.test\r\nTo: b@y.test\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n{headers}\r\n"
    data = body if isinstance(body, bytes) else body.encode()
    return head.replace("\r\n", eol).encode() + data


def multipart(subtype: str, *parts: str, boundary: str = "BB", eol: str = "\r\n") -> bytes:
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return message(f'multipart/{subtype}; boundary="{boundary}"', body.replace("\r\n", eol), eol=eol)


HTML_PART = 'Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <a href="https://x.test/">x</a></p>'
TEXT_PART = "Content-Type: text/plain; charset=utf-8\r\n\r\nHi https://x.test/"


def test_both_toggles_off_is_not_requested_and_untouched():
    raw = multipart("alternative", TEXT_PART, HTML_PART)
    out, report = inject(raw, options(track_opens=False, track_clicks=False, pixel_url=None))
    assert out is raw or out == raw
    assert report.skipped_reason == "not_requested" and not report.tracked


def test_a_message_over_the_limit_is_refused_before_it_is_read():
    raw = multipart("alternative", TEXT_PART, HTML_PART)
    out, report = inject(raw, options(max_bytes=len(raw) - 1))
    assert out == raw and report.skipped_reason == "too_large"
    assert str(len(raw)) in report.detail
    assert inject(raw, options(max_bytes=len(raw)))[1].tracked


def test_opens_on_without_a_pixel_url_is_a_programming_error():
    with pytest.raises(ValueError):
        options(pixel_url=None)


def test_clicks_only_rewrites_links_in_both_parts_and_adds_no_pixel():
    raw = multipart("alternative", TEXT_PART, HTML_PART)
    out, report = inject(raw, options(track_opens=False, pixel_url=None))
    (_, text), (_, html) = text_parts(out)
    assert text == f"Hi {click(0)}"
    assert html.startswith(f'<p>Hi <a href="{click(0)}">x</a></p>') and PIXEL not in html
    assert HONEYPOT_WRAPPER_STYLE in html  # clicks on: the honeypot goes in
    assert report.pixels == 0 and len(report.links) == 2


def test_without_the_honeypot_option_there_is_none():
    out, report = inject(multipart("alternative", TEXT_PART, HTML_PART), options(honeypot=False))
    assert HONEYPOT_WRAPPER_STYLE.encode() not in out
    assert [link.honeypot for link in report.links] == [False]


def test_clicks_only_with_nothing_to_track_changes_nothing_and_says_so():
    raw = message("text/html; charset=utf-8", "<p>No links at all</p>")
    out, report = inject(raw, options(track_opens=False, pixel_url=None))
    assert out == raw
    assert (report.tracked, report.skipped_reason) == (False, None)
    assert "no http(s) link" in report.detail


def test_links_are_indexed_in_mime_order_across_parts():
    text = "Content-Type: text/plain\r\n\r\nfirst https://only-text.test/ then https://both.test/"
    html = 'Content-Type: text/html\r\n\r\n<a href="https://both.test/">b</a><a href="https://only-html.test/">h</a>'
    _, report = inject(multipart("alternative", text, html), options(honeypot=False))
    assert [link.url for link in report.links] == ["https://only-text.test/", "https://both.test/",
                                                   "https://only-html.test/"]


@pytest.mark.parametrize("content_type, reason", [
    ('multipart/signed; protocol="application/pgp-signature"; boundary="BB"', "signed"),
    ('application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"', "signed"),
    ('application/x-pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"', "encrypted"),
    ('application/pkcs7-mime; name="smime.p7m"', "encrypted"),
    ("application/pgp-encrypted", "encrypted"),
])
def test_signed_and_encrypted_shapes_are_refused(content_type, reason):
    body = "--BB\r\n" + TEXT_PART + "\r\n--BB\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--BB--\r\n" \
        if content_type.startswith("multipart") else "MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n"
    raw = message(content_type, body)
    out, report = inject(raw, options())
    assert out == raw and report.skipped_reason == reason


def test_an_encrypted_file_attached_beside_the_text_does_not_stop_tracking():
    p7m = ('Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="old.p7m"\r\n'
           'Content-Disposition: attachment; filename="old.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqG')
    out, report = inject(multipart("mixed", HTML_PART, p7m), options())
    assert report.tracked and report.skipped_reason is None
    assert out.endswith(b"MIAGCSqG\r\n--BB--\r\n")


def test_an_opaque_smime_message_labelled_as_an_attachment_is_still_refused():
    raw = message('application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"', "MIAGCSqG\r\n",
                  headers='Content-Disposition: attachment; filename="smime.p7m"\r\n')
    assert inject(raw, options())[1].skipped_reason == "encrypted"


def test_a_signed_part_nested_in_a_mixed_message_is_refused_too():
    signed = ('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="SS"\r\n\r\n'
              f"--SS\r\n{HTML_PART}\r\n--SS\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--SS--")
    out, report = inject(multipart("mixed", signed), options())
    assert report.skipped_reason == "signed"


@pytest.mark.parametrize("raw, words", [
    (b"", "empty"),
    (b"Subject: headers only\r\n", "no blank line"),
    (message("multipart/mixed", "--BB\r\n" + HTML_PART + "\r\n--BB--\r\n"), "no boundary"),
    (message('multipart/mixed; boundary="ZZ"', "--BB\r\n" + HTML_PART + "\r\n--BB--\r\n"), "never appears"),
    (message('multipart/mixed; boundary="BB"', "--BB--\r\n"), "no parts"),
    (message('multipart/mixed; boundary="BB"', "--BB\r\n" + HTML_PART + "\r\n"), "never closed"),
    (message('multipart/mixed; boundary="BB"', "--BB\r\nContent-Type: text/html\r\nnot a header\r\n<p>x</p>\r\n--BB--"),
     "neither a header field"),
    (message("text/html", "PHA+SGk8L3A+!!!\r\n", headers="Content-Transfer-Encoding: base64\r\n"), "base64"),
    (message("text/html", "<p>Hi</p>", headers="Content-Transfer-Encoding: x-gzip\r\n"), "x-gzip"),
])
def test_malformed_messages_are_refused_with_the_reason(raw, words):
    out, report = inject(raw, options())
    assert out == raw and report.skipped_reason == "malformed"
    assert words in report.detail


def test_a_broken_part_we_do_not_need_to_change_does_not_stop_the_rest():
    broken_text = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!"
    raw = multipart("alternative", broken_text, HTML_PART)
    out, report = inject(raw, options(track_clicks=False))
    assert report.tracked and report.pixels == 1
    assert b"!!!not base64!!!" in out


def test_an_html_attachment_or_an_attached_message_is_never_modified():
    attached_html = ('Content-Type: text/html; charset=utf-8\r\nContent-Disposition: attachment; filename="a.html"\r\n\r\n'
                     '<a href="https://attached.test/">a</a></body>')
    inline_named = ('Content-Type: text/html; name="shown.html"\r\nContent-Disposition: inline\r\n\r\n'
                    '<a href="https://named.test/">n</a>')
    rfc822 = ('Content-Type: message/rfc822\r\n\r\nFrom: c@z.test\r\nContent-Type: text/html\r\n\r\n'
              '<a href="https://inner.test/">i</a></body>')
    raw = multipart("mixed", HTML_PART, attached_html, inline_named, rfc822)
    out, report = inject(raw, options())
    assert [link.url for link in report.links if not link.honeypot] == ["https://x.test/"]
    assert out.count(b"https://attached.test/") == out.count(b"https://named.test/") == 1
    assert b'<a href="https://inner.test/">i</a></body>' in out
    assert report.html_parts == 1


def test_a_message_whose_only_html_is_an_attachment_has_nothing_to_track():
    raw = multipart("mixed", 'Content-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<p>Hi</p>')
    assert inject(raw, options())[1].skipped_reason == "empty_body"


def test_lf_only_messages_stay_lf_only_and_crlf_stay_crlf():
    for eol in ("\n", "\r\n"):
        raw = multipart("alternative", TEXT_PART.replace("\r\n", eol), HTML_PART.replace("\r\n", eol), eol=eol)
        out, report = inject(raw, options())
        assert report.tracked
        assert out.count(b"\r\n") == (raw.count(b"\r\n") if eol == "\r\n" else 0)
        assert out.count(b"\n") == raw.count(b"\n")


def test_nested_multiparts_and_a_body_part_without_headers_are_read():
    related = ('Content-Type: multipart/related; boundary="RR"\r\n\r\n--RR\r\n' + HTML_PART +
               '\r\n--RR\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Transfer-Encoding: base64\r\n\r\n'
               'iVBORw0KGgo=\r\n--RR--')
    alternative = 'Content-Type: multipart/alternative; boundary="AA"\r\n\r\n--AA\r\n\r\nHi https://x.test/\r\n--AA\r\n' \
        + related + "\r\n--AA--"
    raw = multipart("mixed", alternative)
    out, report = inject(raw, options())
    assert (report.html_parts, report.text_parts, report.pixels) == (1, 1, 1)
    assert b"iVBORw0KGgo=" in out


def test_an_unknown_charset_is_read_as_utf8_and_said():
    raw = message("text/html; charset=x-klingon", "<p>caf\u00e9 <a href='https://x.test/\u00e9'>x</a></p>".encode())
    out, report = inject(raw, options())
    assert report.links[0].url == "https://x.test/\u00e9"
    assert any("x-klingon" in note for note in report.notes)
    assert "caf\u00e9".encode() in out


@pytest.mark.parametrize("charset", ["rot13", "base64", "undefined", "utf\x008", '"', "idna", "utf-16", "utf-7"])
def test_strange_charsets_never_break_the_message(charset):
    raw = message(f"text/html; charset={charset}", "<p>Hi <a href='https://x.test/a?b=1'>x</a></p>\xff".encode("latin-1"))
    out, report = inject(raw, options())
    if report.tracked:
        assert out.count(b"https://x.test/a?b=1") <= 1 and report.pixels == 1
    else:
        assert out == raw


def test_undeclared_eight_bit_utf8_is_kept_byte_for_byte():
    raw = message("text/html", "<p>\u011e\u00fc\u015f <a href='https://x.test/\u0131'>x</a>\xff</p>".encode("utf-8"))
    raw = raw.replace("\xff".encode(), b"\xff")  # and one byte that is not UTF-8 at all
    out, report = inject(raw, options())
    assert report.links[0].url == "https://x.test/\u0131"
    assert "\u011e\u00fc\u015f".encode() in out and b"\xff</p>" in out


def test_a_link_with_bytes_the_charset_cannot_decode_is_left_alone():
    raw = message("text/html; charset=utf-8", b"<a href='https://x.test/\xff'>x</a>")
    out, report = inject(raw, options())
    assert report.left_alone == {"undecodable": 1}
    assert b"https://x.test/\xff" in out


def test_utf16_html_in_base64_is_tracked_and_stays_utf16():
    html = '<p>Merhaba <a href="https://x.test/\u011f">x</a></p></body>'
    body = base64.encodebytes(html.encode("utf-16")).decode().replace("\n", "\r\n")
    raw = message("text/html; charset=utf-16", body, headers="Content-Transfer-Encoding: base64\r\n")
    out, report = inject(raw, options())
    assert report.links[0].url == "https://x.test/\u011f"
    [(_, new_html)] = text_parts(out)
    assert new_html.startswith(f'<p>Merhaba <a href="{click(0)}">x</a></p>') and pixel_markup(PIXEL) in new_html


def test_an_eight_bit_line_pushed_over_998_octets_is_noted():
    raw = message("text/html; charset=utf-8", "<p>" + "x" * 990 + "</p></body>", headers="Content-Transfer-Encoding: 8bit\r\n")
    _, report = inject(raw, options())
    assert any("998" in note for note in report.notes)


def test_the_report_is_json_ready_and_lists_every_recipient():
    raw = message("text/html", "<p>Hi</p>", headers="Cc: c@z.test, B@Y.TEST\r\nBcc: d@w.test\r\n")
    _, report = inject(raw, options())
    data = json.loads(json.dumps(report.to_dict()))
    assert data["recipients"] == ["b@y.test", "c@z.test", "d@w.test"]
    assert data["pixels"] == 1 and data["skipped_reason"] is None


def _mutations():
    corpus = sorted(FIXTURES.glob("*.eml"))
    return st.tuples(st.sampled_from(corpus), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 40),
                                                                  st.binary(max_size=8)), max_size=4))


@settings(max_examples=200, deadline=None)
@given(_mutations())
def test_inject_never_raises_on_damaged_messages_and_refusals_return_the_input(case):
    path, damage = case
    raw = bytearray(path.read_bytes())
    for where, cut, insert in damage:
        at = int(where * len(raw))
        raw[at:at + cut] = insert
    raw = bytes(raw)
    out, report = inject(raw, options())
    json.dumps(report.to_dict())
    if not report.tracked:
        assert out == raw
    else:
        assert report.skipped_reason is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_inject_never_raises_on_arbitrary_bytes(raw):
    out, report = inject(raw, options())
    assert report.tracked or out == raw


_charsets = st.sampled_from(["utf-8", "iso-8859-9", "windows-1252", "us-ascii", "utf-16", "iso-2022-jp", "utf-7",
                             "x-unknown", "rot13", "", '"utf-8"', "shift_jis", "gb18030"])
_encodings = st.sampled_from(["7bit", "8bit", "binary", "quoted-printable", "base64", "x-garbage", ""])
_bodies = st.lists(st.sampled_from([b"<p>", b"<a href='https://x.test/?a=1&amp;b=2'>", b"</a>", b"https://y.test/ ",
                                    b"\xc4\x9f", b"\xff", b"=3D", b"=", b"\r\n", b"\n", b"> quoted\r\n", b"</body>",
                                    b"PGEgaHJlZj0i", b"-----BEGIN PGP MESSAGE-----", b"\x00", b"\x1b$B"]),
                   max_size=30).map(b"".join)


@st.composite
def _messages(draw):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        ctype = draw(st.sampled_from(["text/html", "text/plain", "application/pdf"]))
        charset = draw(_charsets)
        cte = draw(_encodings)
        head = f"Content-Type: {ctype}" + (f"; charset={charset}" if charset else "") + "\r\n"
        if cte:
            head += f"Content-Transfer-Encoding: {cte}\r\n"
        parts.append(head.encode() + b"\r\n" + draw(_bodies))
    if len(parts) == 1:
        return b"From: a@x.test\r\nMIME-Version: 1.0\r\n" + parts[0]
    body = b"".join(b"--BB\r\n" + part + b"\r\n" for part in parts) + b"--BB--\r\n"
    return b'From: a@x.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="BB"\r\n\r\n' + body


@settings(max_examples=300, deadline=None)
@given(_messages(), st.booleans(), st.booleans())
def test_any_mix_of_charsets_encodings_and_bodies_is_handled_without_an_exception(raw, opens, clicks):
    out, report = inject(raw, options(track_opens=opens, track_clicks=clicks, pixel_url=PIXEL if opens else None))
    json.dumps(report.to_dict())
    if report.skipped_reason is not None or not report.tracked:
        assert out == raw
    else:
        assert report.pixels <= 3 and (opens or report.pixels == 0)
