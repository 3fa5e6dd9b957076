"""The corpus of real-world shapes: exact expectations per message, and byte-identity of the rest."""

import json

import pytest

from mailbeacon.tracking.html import HONEYPOT_WRAPPER_STYLE, honeypot_markup, pixel_markup
from mailbeacon.tracking.mime import InjectionOptions, inject

from .mailcheck import (
    BASE,
    PIXEL,
    assert_only_bodies_changed,
    click,
    fixture,
    index_of,
    replaced_lines,
    segments,
    split_head,
    text_parts,
)

TRACKED = pixel_markup(PIXEL)


def options(**overrides) -> InjectionOptions:
    settings = dict(track_opens=True, track_clicks=True, pixel_url=PIXEL, click_url_for=click, tracking_base=BASE)
    settings.update(overrides)
    return InjectionOptions(**settings)


def run(name: str, **overrides):
    raw = fixture(name)
    out, report = inject(raw, options(**overrides))
    json.dumps(report.to_dict())  # always JSON-ready
    return raw, out, report


def urls(report) -> list[str]:
    return [link.url for link in report.links if not link.honeypot]


def test_gmail_new_message_tracks_both_alternatives_with_shared_links():
    raw, out, report = run("gmail_new.eml")
    boundary = ("000000000000d1b5e0061b2c9a3f",)
    html_at = index_of(raw, boundary, b"text/html")
    text_at = index_of(raw, boundary, b"text/plain")
    assert_only_bodies_changed(raw, out, boundary, {html_at, text_at})
    teklif = "https://shop.example.com/teklif?id=42&ref=mail"
    fiyat = "https://shop.example.com/fiyat?plan=pro&utm_source=gmail"
    assert urls(report) == [teklif, fiyat]
    assert report.links[2].honeypot
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    assert new_text == old_text.replace(teklif, click(0)).replace(fiyat, click(1))
    assert new_html == (old_html.replace('href="https://shop.example.com/teklif?id=42&amp;ref=mail"', f'href="{click(0)}"')
                        .replace('href="https://shop.example.com/fiyat?plan=pro&amp;utm_source=gmail"', f'href="{click(1)}"')
                        + honeypot_markup(click(2)) + TRACKED)
    assert "\u011e\u00fc\u015f\u0131\u00f6\u00e7 \u0130" in new_html
    assert (report.pixels, report.html_parts, report.text_parts) == (1, 1, 1)
    assert report.left_alone == {"not_http": 2}  # mailto: and tel:
    assert report.recipients == ["bob@buyer.example", "carol@buyer.example", "dan@partner.example"]
    assert any("3 recipients share one pixel" in note for note in report.notes)
    assert any("no open pixel" in note for note in report.notes)


def test_gmail_reply_leaves_the_quote_and_removes_our_old_pixels_from_it():
    raw, out, report = run("gmail_reply.eml")
    boundary = ("0000000000009f8e7d061b2ca4b1",)
    assert_only_bodies_changed(raw, out, boundary, {index_of(raw, boundary, b"text/html"),
                                                    index_of(raw, boundary, b"text/plain")})
    contract = "https://docs.example.com/contract/v2?id=7"
    assert urls(report) == [contract]
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    assert new_text == old_text.replace(contract, click(0), 1)
    assert "https://docs.example.com/contract/v1" in new_text and "https://portal.buyer.example/login" in new_text
    old_pixels = [
        '<img src="https://t.example.com/o/OLDTOKEN123" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">',
        '<img src="https://ci3.googleusercontent.com/meips/ADKq_NbXq1=s0-d-e1-ft#https://t.example.com/o/OLDTOKEN000" '
        'width="1" height="1">',
    ]
    quote = '<div class="gmail_quote gmail_quote_container">'
    expected = old_html.replace(f'href="{contract}"', f'href="{click(0)}"').replace(
        quote, honeypot_markup(click(1)) + TRACKED + quote)
    for tag in old_pixels:
        assert tag in expected
        expected = expected.replace(tag, "")
    assert new_html == expected
    assert f'href="{BASE}/c/OLDCLICK1"' in new_html  # our old click URL in the quote stays
    assert report.old_pixels_removed == 2
    assert report.left_alone == {"quoted_history": 6}


def test_outlook_desktop_word_html_tracks_the_vml_button_and_its_fallback_as_one_link():
    raw, out, report = run("outlook_desktop.eml")
    boundary = ("_000_DB7PR02MB4521A1B2C3D4E5F6A7B8C9D0DB7PR02MB4521eurp_",)
    html_at, text_at = index_of(raw, boundary, b"text/html"), index_of(raw, boundary, b"text/plain")
    assert_only_bodies_changed(raw, out, boundary, {html_at, text_at})
    webinar = "https://events.example.com/webinar/42?src=outlook&lang=en"
    agenda = "https://events.example.com/webinar/42/agenda"
    assert urls(report) == [webinar, agenda]
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    assert new_html == (old_html.replace('href="https://events.example.com/webinar/42?src=outlook&amp;lang=en"',
                                         f'href="{click(0)}"')
                        .replace(f'href="{agenda}"', f'href="{click(1)}"')
                        .replace("</body>", honeypot_markup(click(2)) + TRACKED + "</body>"))
    assert new_text == old_text.replace(webinar, click(0)).replace(agenda, click(1))
    assert "Here\u2019s the webinar we talked about \u2013 it\u2019s on Thursday." in new_text  # windows-1252 kept
    # The unsubscribe link is marked in the HTML: the text alternative leaves it alone too.
    assert "Unsubscribe<https://events.example.com/unsubscribe?u=bob%40buyer.example>" in new_text
    assert report.left_alone == {"marked_notrack": 2}
    old_body = split_head(segments(raw, *boundary)[html_at])[1]
    new_body = split_head(segments(out, *boundary)[html_at])[1]
    changed = replaced_lines(old_body, new_body)
    assert 0 < len(changed) <= 8
    assert all(b"href=3D" in line or b"events.example" in line or b"</body>" in line or b"=" in line[-3:]
               for line in changed)


def test_outlook_web_reply_puts_the_pixel_before_the_reply_header_and_drops_the_old_pixel():
    raw, out, report = run("outlook_web_reply.eml")
    boundary = ("_000_AM9PR10MB4321FEDCBA9876543210AM9PR10MB4321EURP_",)
    assert_only_bodies_changed(raw, out, boundary, {index_of(raw, boundary, b"text/html"),
                                                    index_of(raw, boundary, b"text/plain")})
    share = "https://share.example.com/s/Q3%20Review.pptx?dl=1"
    assert urls(report) == [share]
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    marker = '<div id="appendonsend"></div>'
    assert new_html == (old_html.replace(f'href="{share}"', f'href="{click(0)}"')
                        .replace('<img src="https://t.example.com/o/OLDOWA456" width="1" height="1" alt="">', "")
                        .replace(marker, honeypot_markup(click(1)) + TRACKED + marker))
    assert new_text == old_text.replace(share, click(0), 1)  # the base64 text part, re-encoded
    text_body = split_head(segments(out, *boundary)[index_of(out, boundary, b"text/plain")])[1]
    assert all(len(line) <= 76 for line in text_body.splitlines())
    assert report.old_pixels_removed == 1
    assert report.left_alone == {"quoted_history": 2}


def test_apple_mail_keeps_lf_line_endings_and_the_inline_image():
    raw, out, report = run("apple_mail.eml")
    boundaries = ("Apple-Mail=_6A5C2B1E-0F3D-4C1A-9E2B-7D8F9A0B1C2D", "Apple-Mail=_1F2E3D4C-5B6A-4798-8A9B-0C1D2E3F4A5B")
    html_at = index_of(raw, boundaries, b"Content-Type: text/html")
    text_at = index_of(raw, boundaries, b"Content-Type: text/plain")
    assert_only_bodies_changed(raw, out, boundaries, {html_at, text_at})
    assert b"\r" not in out
    assert split_head(segments(out, *boundaries)[index_of(raw, boundaries, b"image/png")]) == \
        split_head(segments(raw, *boundaries)[index_of(raw, boundaries, b"image/png")])
    booth = "https://photos.example.com/booth"
    assert urls(report) == [booth]
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    cite = '<blockquote type="cite">'
    assert new_html == (old_html.replace(f'href="{booth}"', f'href="{click(0)}"')
                        .replace(cite, honeypot_markup(click(1)) + TRACKED + cite))
    assert 'src="cid:8C7B6A59-4837-2615-0A9B-8C7D6E5F4A3B"' in new_html
    assert new_text == old_text.replace(f"{booth}.", f"{click(0)}.")
    assert report.left_alone == {"quoted_history": 2}


def test_a_forward_is_quoted_history_and_the_senders_own_words_are_tracked():
    raw, out, report = run("forward.eml")
    boundary = ("000000000000c3d2e1061b2cb7f0",)
    assert_only_bodies_changed(raw, out, boundary, {index_of(raw, boundary, b"text/html"),
                                                    index_of(raw, boundary, b"text/plain")})
    assert urls(report) == ["https://example.com.tr/urun"]
    (_, new_text), (_, new_html) = text_parts(out)
    assert "Catalogue: https://supplier.example/catalogue.pdf" in new_text
    assert '<img src="https://tracker.supplier.example/open/abc.gif" width="1" height="1">' in new_html
    assert new_html.index(TRACKED) < new_html.index("Forwarded message")
    assert report.left_alone == {"quoted_history": 4}


def test_attachments_preamble_and_epilogue_stay_byte_identical():
    raw, out, report = run("attachments.eml")
    boundaries = ("------------0aBcDeFgHiJkLmNoPqRsTuVw", "------------Xy7Wv6Ut5Sr4Qp3On2Ml1Kj0")
    html_at = index_of(raw, boundaries, b"Content-Type: text/html; charset=UTF-8\r\n")
    text_at = index_of(raw, boundaries, b"format=flowed")
    assert_only_bodies_changed(raw, out, boundaries, {html_at, text_at})
    assert b"This is a multi-part message in MIME format." in segments(out, *boundaries)[0]
    assert out.endswith(b"This epilogue is ignored by mail readers and must survive as it is.\r\n")
    pay = "https://pay.example.com/inv/2025-001?c=EUR&a=1200.00"
    assert urls(report) == [pay]
    parts = text_parts(out)
    assert [ctype for ctype, _ in parts] == ["text/plain", "text/html", "text/html"]
    old_parts = text_parts(raw)
    assert parts[2] == old_parts[2]  # the attached invoice.html, links and </body> included
    assert parts[1][1] == (old_parts[1][1].replace('href="https://pay.example.com/inv/2025-001?c=EUR&amp;a=1200.00"',
                                                   f'href="{click(0)}"')
                           .replace("</body>", honeypot_markup(click(1)) + TRACKED + "</body>"))
    assert parts[0][1] == old_parts[0][1].replace(pay, click(0))
    assert any("attachment" in note for note in report.notes)


def test_a_base64_html_message_is_re_encoded_as_base64_and_its_unsubscribe_link_is_left_alone():
    raw, out, report = run("base64_html.eml")
    head, body = split_head(raw)
    new_head, new_body = split_head(out)
    assert new_head == head
    lines = new_body.split(b"\r\n")
    assert all(len(line) == 76 for line in lines[:-2]) and lines[-1] == b""
    pricing = "https://news.example.com/pricing?utm_campaign=jan&utm_medium=email"
    view = "https://news.example.com/view?id=991"
    assert urls(report) == [pricing, view]
    [(_, old_html)], [(_, new_html)] = text_parts(raw), text_parts(out)
    assert new_html == (old_html.replace('href="https://news.example.com/pricing?utm_campaign=jan&amp;utm_medium=email"',
                                         f'href="{click(0)}"')
                        .replace(f'href="{view}"', f'href="{click(1)}"')
                        .replace("</body>", honeypot_markup(click(2)) + TRACKED + "</body>"))
    assert 'href="https://news.example.com/u/991?sig=Zm9vYmFy"' in new_html
    assert report.left_alone == {"unsubscribe": 1}


def test_quoted_printable_soft_breaks_inside_hrefs_and_characters_are_handled_and_other_lines_kept():
    raw, out, report = run("qp_soft_breaks.eml")
    head, body = split_head(raw)
    new_head, new_body = split_head(out)
    assert new_head == head
    assert urls(report) == ["https://katalog.example.com/\u00fcr\u00fcnler/\u011fida?s\u0131ra=fiyat&g\u00f6r\u00fcn\u00fcm=liste",
                            "https://katalog.example.com/%C3%A7ay?x=1"]
    old_lines = body.split(b"\r\n")
    changed = replaced_lines(body, new_body)
    assert changed == [line + b"\r\n" for line in old_lines[0:4] + old_lines[7:8]]
    for kept in old_lines[4:7]:  # the ".=20" line and the long Turkish sentence with its soft break
        assert kept + b"\r\n" in new_body
    [(_, old_html)], [(_, new_html)] = text_parts(raw), text_parts(out)
    assert new_html == (old_html.replace(
        'href="https://katalog.example.com/\u00fcr\u00fcnler/\u011fida?s\u0131ra=fiyat&amp;g\u00f6r\u00fcn\u00fcm=liste"',
        f'href="{click(0)}"').replace('href="https://katalog.example.com/%C3%A7ay?x=1"', f'href="{click(1)}"')
        .replace("</body>", honeypot_markup(click(2)) + TRACKED + "</body>"))
    assert all(len(line) <= 76 for line in new_body.split(b"\r\n"))


def test_iso_8859_9_turkish_stays_in_its_charset_and_the_iri_is_stored_as_unicode():
    raw, out, report = run("turkish_iso8859_9.eml")
    boundary = ("----=_NextPart_000_0012_01DB6F5A.3C2B1A00",)
    assert_only_bodies_changed(raw, out, boundary, {index_of(raw, boundary, b"text/html"),
                                                    index_of(raw, boundary, b"text/plain")})
    iri = "https://\u00f6rnek.example/\u00fcr\u00fcnler?kategori=\u00e7ay"
    assert urls(report) == [iri]
    assert "\u011e\u00fc\u015f\u0131\u00f6\u00e7 \u0130".encode("iso-8859-9") in out
    assert "\u011e\u00fc\u015f\u0131\u00f6\u00e7 \u0130".encode("utf-8") not in out
    (_, old_text), (_, old_html) = text_parts(raw)
    (_, new_text), (_, new_html) = text_parts(out)
    assert new_text == old_text.replace(iri, click(0))
    assert new_html == old_html.replace(f'href="{iri}"', f'href="{click(0)}"').replace(
        "</body>", honeypot_markup(click(1)) + TRACKED + "</body>")


def test_a_text_only_message_gets_its_links_tracked_and_says_opens_cannot_be():
    raw, out, report = run("text_only.eml")
    head, _ = split_head(raw)
    assert split_head(out)[0] == head
    assert urls(report) == ["https://demo.example.com/start?lang=tr", "https://docs.example.com/guide_(v2)",
                            "https://forms.example.com/f/abc?x=1&y=2"]
    expected = raw
    for index, url in enumerate(urls(report)):
        expected = expected.replace(url.encode(), click(index).encode())
    assert out == expected  # 8bit: only the URLs changed, trailing spaces of format=flowed included
    assert (report.pixels, report.html_parts, report.text_parts) == (0, 0, 1)
    assert report.links == [link for link in report.links if not link.honeypot]
    assert any("opens can't be tracked" in note for note in report.notes)


@pytest.mark.parametrize("name, reason, words", [
    ("smime_signed.eml", "signed", "S/MIME signature"),
    ("pgp_inline.eml", "signed", "inline PGP"),
    ("pgp_mime_encrypted.eml", "encrypted", "multipart/encrypted"),
    ("malformed_unterminated.eml", "malformed", "never closed"),
    ("gmail_empty.eml", "empty_body", "nothing to track"),
])
def test_messages_that_must_not_be_touched_come_back_as_they_were_with_a_reason(name, reason, words):
    raw, out, report = run(name)
    assert out == raw
    assert (report.tracked, report.skipped_reason) == (False, reason)
    assert words in report.detail
    assert (report.links, report.pixels, report.html_parts, report.text_parts) == ([], 0, 0, 0)


@pytest.mark.parametrize("name", ["gmail_new.eml", "gmail_reply.eml", "outlook_desktop.eml", "apple_mail.eml",
                                  "attachments.eml", "base64_html.eml", "turkish_iso8859_9.eml"])
def test_with_both_toggles_off_every_message_is_untouched(name):
    raw, out, report = run(name, track_opens=False, track_clicks=False, pixel_url=None)
    assert out == raw and report.skipped_reason == "not_requested"


@pytest.mark.parametrize("name", ["gmail_new.eml", "gmail_reply.eml", "outlook_desktop.eml", "outlook_web_reply.eml",
                                  "apple_mail.eml", "forward.eml", "attachments.eml", "base64_html.eml",
                                  "qp_soft_breaks.eml", "turkish_iso8859_9.eml"])
def test_opens_only_adds_one_pixel_per_html_part_and_leaves_every_link(name):
    raw, out, report = run(name, track_clicks=False)
    assert report.links == [] and report.pixels == 1
    for (old_type, old), (_, new) in zip(text_parts(raw), text_parts(out)):
        if old_type == "text/plain":
            assert new == old
        elif new != old:
            assert new.count(TRACKED) == 1 and HONEYPOT_WRAPPER_STYLE not in new


def test_tracking_a_tracked_message_again_wraps_nothing_twice():
    raw = fixture("gmail_new.eml")
    once, _ = inject(raw, options())
    twice, report = inject(once, options(pixel_url=f"{BASE}/o/SECOND", click_url_for=lambda i: f"{BASE}/c/NEW{i}"))
    assert [link.honeypot for link in report.links] == [True]  # the new honeypot, nothing else
    assert report.old_pixels_removed == 1
    [(_, text), (_, html)] = text_parts(twice)
    assert html.count(f"{BASE}/o/") == 1 and f"{BASE}/o/SECOND" in html
    assert html.count(HONEYPOT_WRAPPER_STYLE) == 1 and f"{BASE}/c/NEW0" in html
    assert html.count(f"{BASE}/c/LINK") == 2 and text.count(f"{BASE}/c/LINK") == 2
    assert report.left_alone == {"already_tracked": 4, "not_http": 2}
