"""The tag scanner reads markup the way an HTML5 tokenizer does, checked against html5lib."""

import re

import html5lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbeacon.tracking.html import analyse_html
from mailbeacon.tracking.htmlscan import (
    Comment,
    Run,
    Tag,
    decode_attribute_value,
    encode_attribute_value,
    iter_markup,
)


def tags(doc: str) -> list[tuple[str, bool]]:
    return [(t.name, t.is_end) for t in iter_markup(doc) if isinstance(t, Tag)]


def hrefs(doc: str) -> list[str | None]:
    plan = analyse_html(doc, tracking_base="https://t.test")
    return [site.url for site in plan.links]


def test_a_greater_than_sign_inside_a_quoted_value_does_not_end_the_tag():
    doc = '<a title="a > b" href="https://x.test/">x</a>'
    assert hrefs(doc) == ["https://x.test/"]


def test_attributes_may_be_quoted_three_ways_and_spread_over_lines():
    doc = "<A\n  CLASS=c\n  HREF\n=\n'https://x.test/1'\n><a href=https://x.test/2>"
    assert hrefs(doc) == ["https://x.test/1", "https://x.test/2"]


def test_a_quote_inside_an_unquoted_value_or_a_name_is_just_a_character():
    doc = "<a title=it's href=\"https://x.test/\">"
    assert hrefs(doc) == ["https://x.test/"]


def test_the_first_of_two_href_attributes_wins_like_in_browsers():
    plan = analyse_html('<a href="https://one.test/" href="https://two.test/">', tracking_base="")
    assert [s.url for s in plan.links] == ["https://one.test/"]


def test_href_in_text_or_in_another_attribute_is_not_a_link():
    doc = ('<p>write href="https://no.test/" here</p>'
           '<a data-href="https://no.test/" title=\'href="https://no.test/"\' href="https://yes.test/">')
    assert hrefs(doc) == ["https://yes.test/"]


def test_an_anchor_without_href_is_not_a_link():
    assert hrefs('<a name="top">top</a><a>bare</a>') == []


def test_an_href_without_a_value_has_no_destination():
    assert hrefs("<a href>x</a>") == [None]


@pytest.mark.parametrize("container", [
    "<!-- {} -->",
    "<!--{}--!>",
    "<![CDATA[ {} ]]>",
    "<script>var a = '{}';</script>",
    "<SCRIPT type=x>{}</SCRIPT >",
    "<style>/* {} */</style>",
    "<textarea>{}</textarea>",
    "<title>{}</title>",
    "<noframes>{}</noframes>",
])
def test_links_inside_comments_cdata_and_raw_text_are_not_links(container):
    doc = container.format('<a href="https://no.test/">') + '<a href="https://yes.test/">'
    assert hrefs(doc) == ["https://yes.test/"]


def test_a_raw_text_element_ends_only_at_its_own_end_tag():
    doc = '<script>x = "</scripty>"; <a href="https://no.test/"></script><a href="https://yes.test/">'
    assert hrefs(doc) == ["https://yes.test/"]


@pytest.mark.parametrize("opener", ["<!-->", "<!--->"])
def test_an_abruptly_closed_comment_ends_at_once(opener):
    assert hrefs(opener + '<a href="https://yes.test/">') == ["https://yes.test/"]


def test_bogus_comments_and_declarations_are_skipped_to_the_next_greater_than():
    doc = '<!DOCTYPE html><?xml version="1.0"?></3 a><a href="https://yes.test/"></>'
    assert hrefs(doc) == ["https://yes.test/"]
    assert sum(isinstance(t, Comment) for t in iter_markup(doc)) == 3


def test_a_less_than_sign_in_text_is_text():
    assert tags("1 < 2 and 3 <= 4 <3 <<b>") == [("b", False)]


def test_a_tag_left_open_at_the_end_ends_the_scan():
    assert tags('<p>text<a href="https://x.test/ title=x>tail') == [("p", False)]


def test_conditional_comment_content_is_offered_as_outlook_markup():
    doc = ('<!--[if mso]><v:roundrect href="https://button.test/" arcsize="8%">'
           '<w:anchorlock/><center>Buy</center></v:roundrect><![endif]-->')
    plan = analyse_html(doc, tracking_base="")
    assert [(s.tag, s.url, s.in_conditional) for s in plan.links] == [
        ("v:roundrect", "https://button.test/", True)]


def test_downlevel_revealed_content_is_ordinary_markup():
    doc = '<!--[if !mso]><!--><a href="https://all.test/">x</a><!--<![endif]-->'
    plan = analyse_html(doc, tracking_base="")
    assert [(s.url, s.in_conditional) for s in plan.links] == [("https://all.test/", False)]


def test_offsets_stay_right_after_text_whose_lower_case_is_longer():
    # 'İ'.lower() is two characters; tag names and comment markers must not shift offsets.
    doc = 'İİİ<!--[IF mso]>İ<a href="https://x.test/"><![ENDIF]-->'
    plan = analyse_html(doc, tracking_base="")
    site = plan.links[0]
    assert doc[site.value_start:site.value_end] == "https://x.test/"


@pytest.mark.parametrize("raw, decoded", [
    ("a&amp;b", "a&b"),
    ("a&#38;b&#x26;c&#X26;d", "a&b&c&d"),
    ("?a=1&copy=2", "?a=1&copy=2"),  # a legacy name right before '=' stays literal
    ("?a=1&region=eu", "?a=1&region=eu"),  # 'reg' followed by a letter stays literal
    ("&notit;", "&notit;"),
    ("&copy 2024", "\u00a9 2024"),
    ("&amp=", "&amp="),
    ("&#0;&#x110000;&#xD800;", "\ufffd\ufffd\ufffd"),
    ("&#128;&#x9F;", "\u20ac\u0178"),  # C1 numbers mean windows-1252
    ("&#99999999999999999999999;", "\ufffd"),
    ("&#;&#x;&;&unknown;", "&#;&#x;&;&unknown;"),
    ("&quot;&apos;&lt;&gt;&NotEqualTilde;", "\"'<>\u2242\u0338"),
])
def test_character_references_decode_as_html5_does_in_attribute_values(raw, decoded):
    assert decode_attribute_value(raw) == decoded
    assert _html5lib_href(f'<a href="{raw}">') == decoded


def test_encoded_values_keep_their_quoting_style():
    assert encode_attribute_value('https://t/?a=1&b="2"', '"') == "https://t/?a=1&amp;b=&quot;2&quot;"
    assert encode_attribute_value("https://t/?a='1'", "'") == "https://t/?a=&#39;1&#39;"
    assert encode_attribute_value("https://t/c/abc", "") == "https://t/c/abc"
    assert encode_attribute_value("https://t/c/a b", "") == '"https://t/c/a b"'


# --- differential: our link sites against html5lib's tree ----------------------------------------

def _html5lib_href(doc: str) -> str | None:
    tree = html5lib.parse(doc, namespaceHTMLElements=False)
    element = tree.find(".//a")
    return None if element is None else element.get("href")


def _html5lib_links(doc: str) -> set[str]:
    tree = html5lib.parse(doc, namespaceHTMLElements=False)
    return {el.get("href") for el in tree.iter() if el.tag in ("a", "area") and el.get("href") is not None}


def _our_links(doc: str) -> set[str]:
    plan = analyse_html(doc, tracking_base="")
    return {"" if site.value_start < 0 else decode_attribute_value(doc[site.value_start:site.value_end])
            for site in plan.links if site.tag in ("a", "area") and not site.in_conditional}


_values = st.sampled_from([
    "https://x.test/", "https://x.test/?a=1&amp;b=2", "?a&copy=1", "x > y", "it's", 'say "hi"',
    "href=https://no.test/", "&#x26;", "", " spaced ", "a\nb", "/>", "&lt;a href=z&gt;",
    "<a href='https://in-value.test/'>", "<!-- x -->", "</div><a href=v>", "https://t.test/o/PIX",
])
_attr_names = st.sampled_from(["href", "HREF", "Href", "data-href", "title", "class", "x", "=odd", "'q"])


@st.composite
def _attribute(draw):
    name = draw(_attr_names)
    style = draw(st.sampled_from(["dq", "sq", "uq", "none", "spaced"]))
    value = draw(_values)
    if style == "dq":
        return f'{name}="{value.replace(chr(34), "&quot;")}"'
    if style == "sq":
        return f"{name}='{value.replace(chr(39), '&#39;')}'"
    if style == "spaced":
        return f'{name} =\n "{value.replace(chr(34), "&quot;")}"'
    if style == "uq":
        cleaned = "".join(c for c in value if c not in "\t\n\f\r \"'>=<`") or "v"
        return f"{name}={cleaned}"
    return name


@st.composite
def _fragment(draw):
    kind = draw(st.sampled_from(["tag", "tag", "tag", "end", "text", "comment", "raw", "bogus"]))
    if kind == "tag":
        name = draw(st.sampled_from(["a", "A", "area", "div", "p", "span", "b", "img", "IMG", "td", "br", "abbr",
                                     "v:rect", "divx"]))
        attributes = draw(st.lists(_attribute(), max_size=4))
        sep = draw(st.sampled_from([" ", "\n", "\t", "/"]))
        closing = draw(st.sampled_from([">", "/>", " >"]))
        return f"<{name}{''.join(sep + a for a in attributes)}{closing}"
    if kind == "end":
        return draw(st.sampled_from(["</a>", "</A >", "</div>", "</p>", "</b>", "</a title='>'>", "</body>",
                                     "</DIV\n>", "</blockquote>", "</script>"]))
    if kind == "text":
        return draw(st.sampled_from(["hello", " & ", "1 < 2", "<3", "a > b", "href=\"https://no.test/\"",
                                     "&amp;", "\u0130stanbul", "'", '"']))
    if kind == "comment":
        inner = draw(st.sampled_from(['<a href="https://c.test/">', "x", "->", "-- x"]))
        return draw(st.sampled_from(["<!--{}-->", "<!-- {} --!>", "<!--->{}", "<!-->{}"])).format(inner)
    if kind == "raw":
        element = draw(st.sampled_from(["script", "style", "textarea", "title", "xmp", "iframe"]))
        inner = draw(st.sampled_from(['<a href="https://r.test/">', "</scriptx>", "x</" + element + "y", "a<b"]))
        end = draw(st.sampled_from([f"</{element}>", f"</{element.upper()} >", f"</{element}/>"]))
        return f"<{element}>{inner}{end}"
    return draw(st.sampled_from(["<!DOCTYPE html>", "<?php x ?>", "</3>", "</>", "<!x>"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_fragment(), max_size=25))
def test_the_links_we_find_are_the_links_an_html5_parser_finds(fragments):
    doc = "".join(fragments)
    assert _our_links(doc) == _html5lib_links(doc)


@settings(max_examples=300, deadline=None)
@given(st.lists(_fragment(), max_size=25))
def test_skipping_uninteresting_markup_in_bulk_finds_the_same_interesting_tags(fragments):
    doc = "".join(fragments)
    every = [(type(t).__name__, t.start, t.end) for t in iter_markup(doc) if not isinstance(t, Run)]
    skipped = [(type(t).__name__, t.start, t.end) for t in iter_markup(doc, skip_boring=True)
               if not isinstance(t, Run)]
    interesting = {"a", "area", "img", "div", "blockquote", "hr", "base", "plaintext", "script",
                   "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
    interesting_end = {"div", "blockquote", "body", "html"}


    def matters(token) -> bool:
        if isinstance(token, Comment):
            return True
        if token.is_end:
            return token.name in interesting_end
        if token.name == "img":  # only one that could be our pixel
            return re.search("/[oO]/|&", doc[token.start:doc.find(">", token.start)]) is not None
        return token.name in interesting or token.name.startswith("v:")

    expected = [(type(t).__name__, t.start, t.end) for t in iter_markup(doc) if not isinstance(t, Run) and matters(t)]
    assert skipped == expected


def test_a_link_written_inside_another_tags_attribute_value_is_not_a_link():
    doc = '<p title=\'<a href="https://no.test/">\'><span data-x="<a href=https://no.test/>">x</span></p>'
    assert hrefs(doc) == []
