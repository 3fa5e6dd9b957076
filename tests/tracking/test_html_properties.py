"""Properties: destinations come back exactly as written, and nothing else in the HTML moves."""

import html5lib
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbeacon.tracking.html import analyse_html, clean_url, is_http_url, pixel_markup, rewrite_html
from mailbeacon.tracking.htmlscan import escape_for_double_quotes
from mailbeacon.tracking.links import LinkRegistry

BASE = "https://t.test"
PIXEL = f"{BASE}/o/P"
_NAMED = {"&": ["&amp;", "&AMP;", "&#38;", "&#x26;"], '"': ["&quot;", "&#34;"], "'": ["&apos;", "&#39;"],
          "<": ["&lt;"], ">": ["&gt;"], "\u00e7": ["&ccedil;"], "{": ["&lbrace;", "&#123;"]}

_url_pieces = st.sampled_from([
    "a", "Z", "0", "-", ".", "_", "~", "/", "?", "=", "&", ";", ":", "@", "!", "$", "'", "(", ")", "*", "+", ",",
    "%20", "%7B", "%7b", "%25", "%E2%82%AC", "%", "%zz", "[", "]", "{", "}", "|", "^", "`", "\\", "#", '"', "<",
    ">", " ", "{{first_name}}", "%%KEY%%", "*|FNAME|*", "&copy=", "&amp", "&#", "\u011f", "\u0130",
    "\u00fc", "\u015f", "\u0131", "\u00e7", "\U0001f600", "\u00a0",
])
_hosts = st.sampled_from(["example.com", "Example.COM", "b\u00fccher.test", "[2001:db8::1]", "x.test:8443",
                          "user:pw@host.test", "xn--bcher-kva.test"])


@st.composite
def destinations(draw):
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "HtTp"]))
    path = "".join(draw(st.lists(_url_pieces, max_size=30)))
    url = f"{scheme}://{draw(_hosts)}{path}"
    return url.rstrip(" \u00a0") if url.endswith(" ") else url


@st.composite
def composed(draw, url: str, quote: str):
    """The attribute text a composer could have written for `url`, escaped its own way."""
    units = []
    for char in url:
        must_escape = char == "&" or char == quote or (quote == "" and char in "\t\n\f\r \"'=<>`")
        choices = list(_NAMED.get(char, [])) + [f"&#{ord(char)};", f"&#x{ord(char):X};"]
        if not must_escape:
            choices.append(char)
        unit = draw(st.sampled_from(choices if must_escape else [char, char, char] + choices))
        if quote and draw(st.integers(0, 12)) == 0:
            unit = draw(st.sampled_from(["\n", "\t", "\r\n"])) + unit  # composers fold long lines
        units.append(unit)
    lead = draw(st.sampled_from(["", " ", "\n  "])) if quote else ""
    trail = draw(st.sampled_from(["", " ", "\n"])) if quote else ""
    return lead + "".join(units) + trail


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_every_destination_comes_back_exactly_as_written(data):
    url = data.draw(destinations())
    quote = data.draw(st.sampled_from(['"', "'", ""]))
    raw = data.draw(composed(url, quote))
    html = f"<p>x <a class=b href={quote}{raw}{quote} target=_blank>link</a></p>"
    registry = LinkRegistry(lambda i: f"{BASE}/c/{i}")
    out, _ = rewrite_html(html, track_link=registry.track, pixel_url=None, tracking_base=BASE)
    assert [link.url for link in registry.links] == [url]
    assert out == f"<p>x <a class=b href={quote}{BASE}/c/0{quote} target=_blank>link</a></p>"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("&#;=xX09aAmpcoyrglt \"'\n") + ["&amp;", "&copy", "&#x26", "\u011f"]),
                max_size=40).map("".join))
def test_arbitrary_ampersand_soup_decodes_as_an_html5_parser_decodes_it(soup):
    html = f'<a href="https://x.test/{soup.replace(chr(34), "&quot;")}">'
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    expected = tree.find(".//a").get("href").strip("".join(map(chr, range(33)))).translate(
        {9: None, 10: None, 13: None})
    plan = analyse_html(html, tracking_base=BASE)
    assert plan.links[0].url == expected


# --- byte preservation ---------------------------------------------------------------------------

_filler = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from([
        "<p>", "</p>", "<div dir=ltr>", "</div>", "<br>", "<br/>", "<table><tr><td>", "</td></tr></table>",
        "<span style='color:red'>", "</span>", '<img src="https://cdn.test/a.png" alt="">', "1 < 2", "<3",
        '<!-- <a href="https://comment.test/"> -->', "<!---->", "<!-->", "<!DOCTYPE html>",
        '<script>document.write("<a href=\\"https://script.test/\\">")</script>',
        '<style>a[href="https://style.test/"]{color:red}</style>', "<title>T &amp; <a href=x></title>",
        '<a href="mailto:a@b.test">mail</a>', '<a href="#top">top</a>', '<a name="x">',
        '<p title="href=&quot;https://attr.test/&quot;">', "<a data-href='https://data.test/'>",
        '<a href="https://marked.test/" data-mailbeacon-notrack>', "href=https://text.test/",
        '<font face="Arial">', "</font>", "&nbsp;", "\u0130\u011f\u00fc", "\r\n", "<?xml x?>",
        '<!--[if mso]><v:rect href="mailto:a@b.test"/><![endif]-->', "</a>",
    ]),
)


@st.composite
def documents(draw):
    """A document and, piece by piece, what it must look like afterwards."""
    source, expected, urls = [], [], []
    for _ in range(draw(st.integers(0, 12))):
        piece = draw(_filler)
        source.append(piece)
        expected.append(piece)
        if draw(st.booleans()):
            url = draw(destinations())
            quote = draw(st.sampled_from(['"', "'"]))
            raw = draw(composed(url, quote))
            name = draw(st.sampled_from(["a", "A", "area"]))
            before = draw(st.sampled_from(["", ' class="x"', "\n  title='>'"]))
            index = urls.index(url) if url in urls else len(urls)
            if url not in urls:
                urls.append(url)
            source.append(f"<{name}{before} href={quote}{raw}{quote}>")
            expected.append(f"<{name}{before} href={quote}{BASE}/c/{index}{quote}>")
    ending = draw(st.sampled_from(["", "</body></html>", "</body>\n</html>\n"]))
    source.append(ending)
    expected.append(pixel_markup(PIXEL) + ending)
    return "".join(source), "".join(expected), urls


@settings(max_examples=150, deadline=None)
@given(documents())
def test_only_the_changed_values_and_the_pixel_differ_from_the_input(document):
    source, expected, urls = document
    registry = LinkRegistry(lambda i: f"{BASE}/c/{i}")
    out, stats = rewrite_html(source, track_link=registry.track, pixel_url=PIXEL, tracking_base=BASE)
    assert out == expected
    assert [link.url for link in registry.links] == urls


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_at_all_comes_back_unchanged_when_there_is_nothing_to_do(text):
    out, stats = rewrite_html(text, track_link=None, pixel_url=None, tracking_base="https://never.test")
    assert out == text and stats.edits == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("<>/!-=\"' \n[]?&ahrefs:") + [
    "<a ", "href=", "https://x.test/", f"<img src={BASE}/o/old>", "<!--", "-->", "<script>", "</script>"]),
    max_size=60).map("".join))
def test_markup_soup_never_breaks_the_rewrite_and_edits_are_exactly_the_differences(soup):
    registry = LinkRegistry(lambda i: f"{BASE}/c/{i}")
    out, stats = rewrite_html(soup, track_link=registry.track, pixel_url=PIXEL, tracking_base=BASE)
    rebuilt, pos = [], 0
    for edit in stats.edits:
        assert edit.start >= pos
        rebuilt.append(soup[pos:edit.start])
        rebuilt.append(edit.text)
        pos = edit.end
    rebuilt.append(soup[pos:])
    assert "".join(rebuilt) == out
    for edit in stats.edits:
        if edit.start == edit.end:
            assert edit.text.endswith(pixel_markup(PIXEL))
        elif edit.text == "":
            assert soup[edit.start:edit.end].lower().startswith("<img")
        else:
            assert is_http_url(clean_url(soup[edit.start:edit.end]))
            assert edit.text.strip('"').startswith(f"{BASE}/c/")
    assert out.count(escape_for_double_quotes(PIXEL)) == 1
