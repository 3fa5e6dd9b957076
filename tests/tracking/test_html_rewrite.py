"""rewrite_html: which links change, where the pixel goes, and that nothing else moves."""

import pytest

from mailbeacon.tracking.html import PIXEL_STYLE, pixel_markup, rewrite_html
from mailbeacon.tracking.links import LinkRegistry

BASE = "https://t.test"
PIXEL = f"{BASE}/o/NEWPIXEL"


def rewrite(html: str, *, pixel: str | None = None, honeypot: bool = False,
            excluded: frozenset[str] = frozenset(), click=lambda i: f"{BASE}/c/L{i}", clicks=True):
    registry = LinkRegistry(click)
    out, stats = rewrite_html(html, track_link=registry.track if clicks else None, pixel_url=pixel,
                              tracking_base=BASE,
                              honeypot_url=registry.track_honeypot if honeypot else None,
                              excluded_urls=excluded)
    return out, stats, registry


def test_an_http_link_becomes_a_click_url_and_the_destination_is_stored_decoded():
    out, stats, registry = rewrite('<p><a href="https://Shop.Example/p?id=1&amp;ref=mail#top">Buy</a></p>')
    assert out == f'<p><a href="{BASE}/c/L0">Buy</a></p>'
    assert registry.links[0].url == "https://Shop.Example/p?id=1&ref=mail#top"
    assert stats.links_tracked == 1


@pytest.mark.parametrize("tag, expected", [
    ("<a href='https://x.test/'>", f"<a href='{BASE}/c/L0'>"),
    ("<a href=https://x.test/>", f"<a href={BASE}/c/L0>"),
    ("<A HREF=\"https://x.test/\">", f"<A HREF=\"{BASE}/c/L0\">"),
    ("<area shape=rect href=\"https://x.test/\">", f"<area shape=rect href=\"{BASE}/c/L0\">"),
    ("<a\n  class=\"btn\"\n  href = \"https://x.test/\"\n>", f"<a\n  class=\"btn\"\n  href = \"{BASE}/c/L0\"\n>"),
])
def test_the_original_quoting_and_layout_of_the_tag_are_kept(tag, expected):
    assert rewrite(tag)[0] == expected


def test_the_new_value_is_escaped_for_its_quotes():
    click = lambda i: f"{BASE}/c/?a=1&b=\"x'\""  # noqa: E731
    assert rewrite('<a href="https://x.test/">', click=click)[0] == \
        f'<a href="{BASE}/c/?a=1&amp;b=&quot;x\'&quot;">'
    assert rewrite("<a href='https://x.test/'>", click=click)[0] == \
        f"<a href='{BASE}/c/?a=1&amp;b=\"x&#39;\"'>"
    assert rewrite("<a href=https://x.test/>", click=click)[0] == \
        f'<a href="{BASE}/c/?a=1&amp;b=&quot;x\'&quot;">'


@pytest.mark.parametrize("href", [
    "mailto:sales@example.com?subject=Hi", "tel:+905551112233", "sms:+15551234", "#section-2",
    "cid:image001.png@01D9", "javascript:void(0)", "/relative/path", "pricing.html", "{{unsubscribe_url}}",
    "%%view_online%%", "*|ARCHIVE|*", "ftp://files.test/a", "https:example.com", "https://", "",
])
def test_links_that_are_not_http_urls_stay_as_they_are(href):
    html = f'<a href="{href}">x</a>'
    out, stats, registry = rewrite(html)
    assert out == html
    assert registry.links == []
    assert stats.left_alone == {"not_http": 1}


@pytest.mark.parametrize("html", [
    '<a data-mailbeacon-notrack href="https://x.test/">',
    '<a href="https://x.test/" data-mailbeacon-notrack="no">',
    '<a class="button mailbeacon-notrack" href="https://x.test/">',
    '<a CLASS=mailbeacon-notrack href="https://x.test/">',
])
def test_links_the_sender_marked_are_not_tracked(html):
    out, stats, _ = rewrite(html)
    assert out == html
    assert stats.left_alone == {"marked_notrack": 1}


def test_a_class_that_merely_contains_the_marker_is_not_a_marker():
    out, _, _ = rewrite('<a class="xmailbeacon-notrack" href="https://x.test/">')
    assert f"{BASE}/c/L0" in out


def test_list_unsubscribe_urls_are_never_tracked():
    unsubscribe = "https://news.test/unsub?u=1&l=2"
    html = '<a href="https://news.test/unsub?u=1&amp;l=2">Unsubscribe</a> <a href="https://news.test/">Home</a>'
    out, stats, registry = rewrite(html, excluded=frozenset({unsubscribe, "mailto:unsub@news.test"}))
    assert 'href="https://news.test/unsub?u=1&amp;l=2"' in out
    assert [link.url for link in registry.links] == ["https://news.test/"]
    assert stats.left_alone == {"unsubscribe": 1}


def test_our_own_click_urls_are_not_wrapped_again():
    html = f'<a href="{BASE}/c/OLDTOKEN">x</a>'
    out, stats, _ = rewrite(html)
    assert out == html
    assert stats.left_alone == {"already_tracked": 1}


@pytest.mark.parametrize("raw, destination", [
    ("  https://x.test/a  ", "https://x.test/a"),
    ("\nhttps://x.test/\na\tb\r\n", "https://x.test/ab"),
    ("https://x.test/?q=%E2%82%AC&amp;r=%25", "https://x.test/?q=%E2%82%AC&r=%25"),
    ("https://T\u00dcRK.test/\u011fi\u0307?x=\u00e7#\u015f", "https://T\u00dcRK.test/\u011fi\u0307?x=\u00e7#\u015f"),
    ("https://x.test/[a]{b}?t={{name}}&amp;m=%%ID%%&amp;f=*|FNAME|*", "https://x.test/[a]{b}?t={{name}}&m=%%ID%%&f=*|FNAME|*"),
    ("HTTPS://WWW.X.TEST/Path", "HTTPS://WWW.X.TEST/Path"),
    ("https://x.test/?a=1&copy=2&amp;reg=3", "https://x.test/?a=1&copy=2&reg=3"),
    ("https://x.test/&#x7B;&#125;&quot;", "https://x.test/{}\""),
])
def test_the_stored_destination_is_what_a_browser_would_follow(raw, destination):
    _, _, registry = rewrite(f'<a href="{raw}">')
    assert registry.links[0].url == destination


def test_the_same_url_twice_shares_one_link():
    out, stats, registry = rewrite('<a href="https://x.test/">1</a><a href="https://x.test/">2</a>')
    assert out.count(f"{BASE}/c/L0") == 2
    assert len(registry.links) == 1
    assert stats.links_tracked == 2


def test_an_outlook_vml_button_in_a_conditional_comment_is_tracked_with_its_fallback():
    html = ('<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://x.test/buy" '
            'style="height:40px" arcsize="10%" fillcolor="#1a73e8"><w:anchorlock/><center>Buy</center>'
            '</v:roundrect><![endif]--><!--[if !mso]><!-- --><a href="https://x.test/buy">Buy</a><!--<![endif]-->')
    out, stats, registry = rewrite(html)
    assert out == html.replace("https://x.test/buy", f"{BASE}/c/L0")
    assert len(registry.links) == 1 and stats.links_tracked == 2


def test_base_href_is_left_and_reported_and_relative_links_stay_relative():
    html = '<head><base href="https://x.test/"></head><a href="pricing">p</a><a href="https://y.test/">y</a>'
    out, stats, registry = rewrite(html)
    assert '<base href="https://x.test/">' in out and '<a href="pricing">' in out
    assert [link.url for link in registry.links] == ["https://y.test/"]
    assert stats.base_href


# --- the pixel -----------------------------------------------------------------------------------

def test_the_pixel_goes_just_before_the_body_end():
    out, stats, _ = rewrite("<html><body><p>Hi</p></body></html>", pixel=PIXEL, clicks=False)
    assert out == f"<html><body><p>Hi</p>{pixel_markup(PIXEL)}</body></html>"
    assert stats.pixel_inserted


def test_the_pixel_goes_before_the_html_end_or_at_the_very_end_without_a_body_end():
    assert rewrite("<p>Hi</p></html>\n", pixel=PIXEL)[0] == f"<p>Hi</p>{pixel_markup(PIXEL)}</html>\n"
    assert rewrite("<p>Hi</p>", pixel=PIXEL)[0] == f"<p>Hi</p>{pixel_markup(PIXEL)}"


def test_the_pixel_is_a_one_pixel_image_that_loads():
    markup = pixel_markup(PIXEL + "?a=1&b=2")
    assert markup.startswith(f'<img src="{PIXEL}?a=1&amp;b=2" width="1" height="1" alt=""')
    assert f'style="{PIXEL_STYLE}"' in markup
    assert "display:none" not in markup and "visibility" not in markup


def test_a_body_end_inside_a_comment_or_script_is_not_the_body_end():
    html = "<body><!-- </body> --><script>'</body>'</script><p>Hi</p></body>"
    out, _, _ = rewrite(html, pixel=PIXEL)
    assert out == html[:-len("</body>")] + pixel_markup(PIXEL) + "</body>"


# (quoted history, the text the pixel must come right before: None for the start of the history)
QUOTES = [
    ('<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, A wrote:<br></div>'
     '<blockquote class="gmail_quote">{old}</blockquote></div>', None),
    ('<div class="gmail_quote gmail_quote_container">{old}</div>', None),
    ('<blockquote type="cite">{old}</blockquote>', None),
    ('<blockquote type=CITE>{old}</blockquote>', None),
    ('<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
     '<p class=MsoNormal><b>From:</b> A<br><b>Sent:</b> Monday</p></div>{old}', None),
    ("<div style='border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in'>x</div>{old}", None),
    ('<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
     '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> A</div><div>{old}</div>', None),
    ('<div id="mail-editor-reference-message-container"><div>{old}</div></div>', None),
    ('<div class=OutlookMessageHeader lang=en-us dir=ltr align=left><hr tabindex=-1>From: A</div>{old}', None),
    ('<div><font size=2>-----Original Message-----<br>From: A</font></div>{old}', "-----Original Message-----"),
]


@pytest.mark.parametrize("quote, pixel_before", QUOTES)
def test_links_in_quoted_history_stay_and_the_pixel_goes_before_it(quote, pixel_before):
    old = f'<a href="https://old.test/">old</a><img src="{BASE}/o/OLDPIXEL" width="1" height="1">'
    history = quote.format(old=old)
    html = f'<body><div>New <a href="https://new.test/">n</a></div>{history}<p>After</p></body>'
    out, stats, registry = rewrite(html, pixel=PIXEL)
    at = html.index(pixel_before or history)
    expected = (html[:at] + pixel_markup(PIXEL) + html[at:]).replace(
        '<a href="https://new.test/">', f'<a href="{BASE}/c/L0">').replace(old, old.split("<img")[0])
    assert out == expected
    assert [link.url for link in registry.links] == ["https://new.test/"]
    assert stats.left_alone == {"quoted_history": 1}
    assert stats.old_pixels_removed == 1
    assert stats.quoted_history


def test_new_text_after_a_closed_gmail_quote_is_tracked_again():
    html = ('<div class="gmail_quote"><div><div>deep</div><a href="https://old.test/">o</a></div></div>'
            '<p>inline reply <a href="https://new.test/">n</a></p>')
    _, stats, registry = rewrite(html)
    assert [link.url for link in registry.links] == ["https://new.test/"]
    assert stats.left_alone == {"quoted_history": 1}


def test_an_outlook_rule_right_before_the_reply_header_belongs_to_the_history():
    html = '<p>Hi</p><hr tabindex="-1"><div id="divRplyFwdMsg">From: A</div>'
    out, _, _ = rewrite(html, pixel=PIXEL)
    assert out == f'<p>Hi</p>{pixel_markup(PIXEL)}<hr tabindex="-1"><div id="divRplyFwdMsg">From: A</div>'


def test_our_old_pixels_are_removed_in_every_spelling_and_other_images_stay():
    old = [f'<img src="{BASE}/o/A">', f"<IMG\nwidth=1 SRC='{BASE.upper()}/o/B' />",
           f'<img src="https://ci3.googleusercontent.com/meips/xyz=s0-d-e1-ft#{BASE}/o/C">']
    kept = ['<img src="https://cdn.test/logo.png">', '<img src="https://other.test/o/D">',
            f'<img src="{BASE}/c/E">']
    html = '<blockquote type="cite">' + "".join(old + kept) + "</blockquote>"
    out, stats, _ = rewrite(html)
    assert out == '<blockquote type="cite">' + "".join(kept) + "</blockquote>"
    assert stats.old_pixels_removed == 3


def test_an_old_pixel_of_ours_outside_quoted_history_is_removed_too():
    out, stats, _ = rewrite(f'<p>Hi</p><img src="{BASE}/o/OLD"></body>', pixel=PIXEL)
    assert out == f"<p>Hi</p>{pixel_markup(PIXEL)}</body>"
    assert stats.old_pixels_removed == 1


def test_our_old_click_urls_in_quoted_history_stay():
    html = f'<blockquote type="cite"><a href="{BASE}/c/OLD">old</a></blockquote>'
    assert rewrite(html)[0] == html


# --- the honeypot --------------------------------------------------------------------------------

def test_the_honeypot_is_one_hidden_unreachable_link_before_the_pixel():
    out, stats, registry = rewrite('<a href="https://x.test/">x</a></body>', pixel=PIXEL, honeypot=True)
    honeypot = registry.links[-1]
    assert honeypot.honeypot and honeypot.url == ""
    inserted = out[out.index("</a>") + 4:out.index("</body>")]
    assert inserted.endswith(pixel_markup(PIXEL))
    hidden = inserted[:-len(pixel_markup(PIXEL))]
    assert hidden.startswith('<div style="display:none') and 'aria-hidden="true"' in hidden
    assert f'<a href="{BASE}/c/L1" tabindex="-1" aria-hidden="true"' in hidden
    assert hidden.endswith("></a></div>")  # no text a person could see or read out
    assert stats.honeypot_inserted


def test_no_honeypot_in_a_part_that_otherwise_stays_the_same():
    html = "<p>no links</p>"
    out, stats, registry = rewrite(html, honeypot=True)
    assert out == html and registry.links == [] and not stats.honeypot_inserted


# --- what counts as content ----------------------------------------------------------------------

@pytest.mark.parametrize("html, visible", [
    ('<div dir="ltr"><br></div>', False),
    ("<html><head><title>T</title><style>p{}</style></head><body>&nbsp; &#160;\u200b</body></html>", False),
    ("<!-- only a comment --><p>  </p>", False),
    (f'<img src="{BASE}/o/OLD">', False),
    ("<p>Hi</p>", True),
    ('<img src="cid:photo">', True),
    ("a&amp;b", True),
])
def test_visible_content_is_text_or_a_picture(html, visible):
    from mailbeacon.tracking.html import analyse_html
    assert analyse_html(html, tracking_base=BASE).has_visible_content is visible


@pytest.mark.parametrize("html, armor", [
    ("<pre>-----BEGIN PGP MESSAGE-----\nhQEMA</pre>", "encrypted"),
    ("<p>-----BEGIN PGP SIGNED MESSAGE-----<br>Hash: SHA256</p>", "signed"),
    ('<p>Hi</p><blockquote type="cite">-----BEGIN PGP SIGNED MESSAGE-----</blockquote>', None),
])
def test_inline_pgp_in_the_new_text_is_noticed(html, armor):
    from mailbeacon.tracking.html import analyse_html
    assert analyse_html(html, tracking_base=BASE).armor == armor


def test_nothing_changes_when_nothing_is_asked():
    html = '<p><a href="https://x.test/">x</a></p>'
    assert rewrite(html, clicks=False)[0] == html
