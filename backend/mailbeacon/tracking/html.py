"""Rewrite the links of an HTML body and insert the open pixel, touching nothing else.

The work happens in two steps so a caller can look before it changes anything:
`analyse_html` finds the links, the quoted history, our old pixels and where the new pixel goes;
`plan_html_edits` registers the links (in document order) and returns the edits, which
`apply_html_plan` also splices into the original string. `rewrite_html` does it all.

What is left alone, and why:
- links inside quoted history (the recipient's own old mail, or ours: its click URLs stay);
- `mailto:`, `tel:`, `sms:`, `#anchors`, `cid:`, relative links, template placeholders and any
  scheme but http(s)://; relative links stay relative even under `<base href>`, whose target
  we would otherwise have to resolve and could get wrong;
- links marked by the sender: a `data-mailbeacon-notrack` attribute or a `mailbeacon-notrack`
  class on the link itself;
- the message's List-Unsubscribe URLs (security scanners follow every link and would unsubscribe);
- our own click URLs (a draft tracked once and sent again must not be wrapped twice);
- a destination with bytes that did not decode in the part's charset (it can't be stored as text).

Our own old pixels are removed wherever they are (normally in quoted history), so opening a
reply never counts as opening the message it quotes; so are our own old honeypots, exactly as
honeypot_markup wrote them (a draft tracked a second time keeps one honeypot, not two).

Quoted history is: Gmail's `gmail_quote` / `gmail_quote_container` and Yahoo's `yahoo_quoted`
elements and `<blockquote type=cite>` (Apple Mail, Thunderbird), each up to its end tag; and from
Outlook's markers to the end of the document (`divRplyFwdMsg`, `appendonsend`,
`mail-editor-reference-message-container`, `OutlookMessageHeader`, the border-top "From:/Sent:"
block, a "-----Original Message-----" line), a rule right before them included.

The pixel goes at the end of the sender's new text: before the first quoted-history block, else
before `</body>`, else before `</html>`, else at the very end. The honeypot, when asked for, goes
right before it, and only into a part that gets a pixel or a tracked link.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .htmlscan import (
    Comment,
    Run,
    Tag,
    ascii_lower,
    decode_attribute_value,
    encode_attribute_value,
    escape_for_double_quotes,
    has_image,
    iter_markup,
    strip_tags,
)

_WS = "\t\n\f\r "
_LINK_TAGS = frozenset({"a", "area"})
_QUOTE_CLASSES = frozenset({"gmail_quote", "gmail_quote_container", "yahoo_quoted"})
# Outlook's reply/forward markers: the history runs from here to the end of the document.
_QUOTE_TO_END_IDS = frozenset({"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"})
# Outlook desktop's "From:/Sent:" header block, e.g.
# <div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
_OUTLOOK_HEADER_STYLE = re.compile(r"border:none;border-top:solid#(?:e1e1e1|b5c4df)1(?:\.0)?pt")
_HTTP_URL = re.compile(r"[hH][tT][tT][pP][sS]?:[/\\]{2}[^/\\?#]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_VISIBLE = re.compile("[^\t\n\f\r \xa0\u200b\u200c\u200d\u2060\ufeff]")
_NBSP_REFS = re.compile(r"&(?:nbsp|#160|#[xX]0*[aA]0|zwnj|zwj|#8203|#[xX]200[bBcCdD]);?")
_ORIGINAL_MESSAGE = "-----Original Message-----"
_ARMOR = {"-----BEGIN PGP SIGNED MESSAGE-----": "signed", "-----BEGIN PGP MESSAGE-----": "encrypted"}
# The URL standard strips leading and trailing C0 controls and spaces and drops every tab/CR/LF.
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")

PIXEL_STYLE = "display:block;width:1px;height:1px;border:0;margin:0;padding:0"
HONEYPOT_WRAPPER_STYLE = "display:none;max-height:0;overflow:hidden;mso-hide:all"


class Edit(NamedTuple):
    start: int
    end: int
    text: str


@dataclass(slots=True)
class LinkSite:
    tag: str
    value_start: int
    value_end: int
    quote: str
    url: str | None  # the cleaned destination; None when the href has no value
    quoted: bool
    marked: bool
    own: bool
    in_conditional: bool = False  # inside <!--[if mso]> … <![endif]-->


@dataclass
class HtmlPlan:
    html: str
    links: list[LinkSite]
    old_pixels: list[tuple[int, int]]
    old_honeypots: list[tuple[int, int]]
    quote_regions: list[tuple[int, int]]
    insert_at: int
    has_visible_content: bool
    base_href: bool
    armor: str | None  # 'signed' | 'encrypted' when the new text holds inline PGP


@dataclass
class HtmlStats:
    links_tracked: int = 0
    left_alone: Counter = field(default_factory=Counter)  # reason -> count
    pixel_inserted: bool = False
    honeypot_inserted: bool = False
    old_pixels_removed: int = 0
    old_honeypots_removed: int = 0
    quoted_history: bool = False
    base_href: bool = False
    edits: list[Edit] = field(default_factory=list)

    @property
    def links_left_alone(self) -> int:
        return sum(self.left_alone.values())


_NEEDS_CLEANING = re.compile("[&\x00-\x20]")


def clean_url(raw_value: str) -> str:
    """The destination a browser would follow for this raw attribute value."""
    if _NEEDS_CLEANING.search(raw_value) is None:
        return raw_value
    return decode_attribute_value(raw_value).strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)


def is_http_url(url: str) -> bool:
    return _HTTP_URL.match(url) is not None


def rewrite_html(html: str, *, track_link: Callable[[str], str] | None, pixel_url: str | None,
                 tracking_base: str, honeypot_url: Callable[[], str] | None = None,
                 excluded_urls: frozenset[str] = frozenset()) -> tuple[str, HtmlStats]:
    plan = analyse_html(html, tracking_base=tracking_base)
    return apply_html_plan(plan, track_link=track_link, pixel_url=pixel_url,
                           honeypot_url=honeypot_url, excluded_urls=excluded_urls)


def analyse_html(html: str, *, tracking_base: str) -> HtmlPlan:
    return _Analysis(html, tracking_base).run()


def apply_html_plan(plan: HtmlPlan, *, track_link: Callable[[str], str] | None,
                    pixel_url: str | None, honeypot_url: Callable[[], str] | None = None,
                    excluded_urls: frozenset[str] = frozenset()) -> tuple[str, HtmlStats]:
    stats = plan_html_edits(plan, track_link=track_link, pixel_url=pixel_url,
                            honeypot_url=honeypot_url, excluded_urls=excluded_urls)
    return apply_edits(plan.html, stats.edits), stats


def plan_html_edits(plan: HtmlPlan, *, track_link: Callable[[str], str] | None,
                    pixel_url: str | None, honeypot_url: Callable[[], str] | None = None,
                    excluded_urls: frozenset[str] = frozenset()) -> HtmlStats:
    """Register the links (in document order) and return the edits, without building the text."""
    stats = HtmlStats(quoted_history=bool(plan.quote_regions), base_href=plan.base_href)
    edits: list[Edit] = []
    if track_link is not None:
        for site in plan.links:
            reason = _reason_to_leave(site, excluded_urls)
            if reason:
                stats.left_alone[reason] += 1
                continue
            assert site.url is not None
            edits.append(Edit(site.value_start, site.value_end,
                              encode_attribute_value(track_link(site.url), site.quote)))
            stats.links_tracked += 1
    for start, end in [*plan.old_pixels, *plan.old_honeypots]:
        edits.append(Edit(start, end, ""))
    stats.old_pixels_removed = len(plan.old_pixels)
    stats.old_honeypots_removed = len(plan.old_honeypots)

    inserted = []
    if honeypot_url is not None and (pixel_url is not None or stats.links_tracked):
        inserted.append(honeypot_markup(honeypot_url()))
        stats.honeypot_inserted = True
    if pixel_url is not None:
        inserted.append(pixel_markup(pixel_url))
        stats.pixel_inserted = True
    if inserted:
        edits.append(Edit(plan.insert_at, plan.insert_at, "".join(inserted)))

    edits.sort(key=lambda e: (e.start, e.end))
    stats.edits = edits
    return stats


def apply_edits(text: str, edits: list[Edit]) -> str:
    pieces = []
    pos = 0
    for edit in edits:
        pieces.append(text[pos:edit.start])
        pieces.append(edit.text)
        pos = edit.end
    pieces.append(text[pos:])
    return "".join(pieces)


def pixel_markup(pixel_url: str) -> str:
    # Hidden-looking but loading: display:none or visibility tricks make some clients skip it.
    return (f'<img src="{escape_for_double_quotes(pixel_url)}" width="1" height="1" alt="" '
            f'style="{PIXEL_STYLE}">')


def honeypot_markup(url: str) -> str:
    # No text, not focusable, hidden from assistive technology and from view (mso-hide for
    # Outlook's Word engine, which ignores display:none): only a machine that follows every
    # href in the source ever requests it.
    return (f'<div style="{HONEYPOT_WRAPPER_STYLE}" aria-hidden="true">'
            f'<a href="{escape_for_double_quotes(url)}" tabindex="-1" aria-hidden="true" '
            f'style="display:none;mso-hide:all"></a></div>')


def _reason_to_leave(site: LinkSite, excluded_urls: frozenset[str]) -> str | None:
    if site.quoted:
        return "quoted_history"
    if site.marked:
        return "marked_notrack"
    if site.url is None or not is_http_url(site.url):
        return "not_http"
    if site.url in excluded_urls:
        return "unsubscribe"
    if site.own:
        return "already_tracked"
    if _SURROGATE.search(site.url):
        return "undecodable"
    return None


class _Analysis:
    """One pass over the document, in the order a browser would read it."""

    def __init__(self, html: str, tracking_base: str) -> None:
        self.doc = html
        base = ascii_lower(tracking_base.rstrip("/"))
        self.pixel_prefix = base + "/o/" if base else None
        self.click_prefix = base + "/c/" if base else None
        self.links: list[LinkSite] = []
        self.old_pixels: list[tuple[int, int]] = []
        self.regions: list[tuple[int, int]] = []
        self.quote_start: int | None = None  # start of the open quoted region
        self.scope: str | None = None  # element name whose end closes it; None = runs to the end
        self.depth = 0
        self.first_quote: int | None = None
        self.body_end: int | None = None
        self.html_end: int | None = None
        self.visible = False
        self.base_href = False
        self.last_hr: tuple[int, int] | None = None
        self.old_honeypots: list[tuple[int, int]] = []

    def run(self) -> HtmlPlan:
        doc = self.doc
        self._find_old_honeypots()
        for token in iter_markup(doc, skip_boring=True):
            kind = type(token)
            if kind is Tag:
                self._tag(token)
            elif kind is Run:
                self._run(token)
            elif token.inner_start >= 0:
                self._conditional(token)
        if self.quote_start is not None:
            self.regions.append((self.quote_start, len(doc)))
        if self.old_honeypots:
            self.links = [site for site in self.links if not any(
                start <= site.value_start < end for start, end in self.old_honeypots)]
        insert_at = next(p for p in (self.first_quote, self.body_end, self.html_end, len(doc))
                         if p is not None)
        return HtmlPlan(html=doc, links=self.links, old_pixels=self.old_pixels,
                        old_honeypots=self.old_honeypots,
                        quote_regions=self.regions, insert_at=insert_at,
                        has_visible_content=self.visible, base_href=self.base_href,
                        armor=self._armor())

    def _find_old_honeypots(self) -> None:
        """Our own earlier honeypots, exactly as honeypot_markup wrote them (a draft tracked twice)."""
        if not self.click_prefix or HONEYPOT_WRAPPER_STYLE not in self.doc:
            return
        pattern = re.compile(re.escape(honeypot_markup("\0")).replace(re.escape("\0"), '[^"<>]*'),
                             re.IGNORECASE)
        for m in pattern.finditer(self.doc):
            href = m.group(0).split('href="', 1)[1]
            if ascii_lower(href).startswith(self.click_prefix):
                self.old_honeypots.append((m.start(), m.end()))

    def _look_for_text(self, start: int, end: int) -> None:
        """Is there text a reader would see in this run of text and uninteresting tags?"""
        segment = self.doc[start:end]
        if not _VISIBLE.search(segment):
            return
        if "<" in segment and has_image(segment):
            self.visible = True  # a picture is content, even without any text
            return
        text = strip_tags(segment)
        if _VISIBLE.search(text) and ("&" not in text or _VISIBLE.search(_NBSP_REFS.sub("", text))):
            self.visible = True

    def _tag(self, tag: Tag) -> None:
        name = tag.name
        if tag.is_end:
            if self.quote_start is not None and self.scope == name:
                self.depth -= 1
                if self.depth == 0:
                    self.regions.append((self.quote_start, tag.end))
                    self.quote_start = self.scope = None
            elif name == "body" and self.body_end is None:
                self.body_end = tag.start
            elif name == "html" and self.html_end is None:
                self.html_end = tag.start
            return
        if self.quote_start is not None and self.scope == name:
            self.depth += 1
        if name in _LINK_TAGS or name.startswith("v:"):
            self._link(tag)
        elif name == "img":
            self._img(tag)
        elif name in ("div", "blockquote"):
            if self.quote_start is None:
                self._maybe_quote(tag)
        elif name == "hr":
            self.last_hr = (tag.start, tag.end)
        elif name == "base":
            self.base_href = self.base_href or "href" in tag.first_attributes(self.doc)

    def _maybe_quote(self, tag: Tag) -> None:
        attrs = tag.first_attributes(self.doc)
        scope: str | None
        if tag.name == "blockquote" and ascii_lower(self._value(attrs.get("type"))).strip(_WS) == "cite":
            scope = "blockquote"
        elif _QUOTE_CLASSES.intersection(self._value(attrs.get("class")).split()):
            scope = tag.name
        elif tag.name == "div" and (
                ascii_lower(self._value(attrs.get("id")).strip(_WS)) in _QUOTE_TO_END_IDS
                or "OutlookMessageHeader" in self._value(attrs.get("class")).split()
                or _OUTLOOK_HEADER_STYLE.match(
                    "".join(ascii_lower(self._value(attrs.get("style"))).split()))):
            scope = None
        else:
            return
        self._open_quote(tag.start, scope)

    def _open_quote(self, start: int, scope: str | None) -> None:
        # Outlook draws a rule right before its reply header: it belongs to the history.
        if self.last_hr and not self.doc[self.last_hr[1]:start].strip(_WS):
            start = self.last_hr[0]
        self.quote_start, self.scope, self.depth = start, scope, 1
        if self.first_quote is None:
            self.first_quote = start

    def _run(self, run: Run) -> None:
        if not self.visible:
            self._look_for_text(run.start, run.end)
        if self.quote_start is None:
            # Older Outlook and many web mailers mark a reply with this line of text only.
            at = self.doc.find(_ORIGINAL_MESSAGE, run.start, run.end)
            if at >= 0:
                self._open_quote(at, None)

    def _link(self, tag: Tag, *, in_conditional: bool = False) -> None:
        attrs = tag.first_attributes(self.doc)
        href = attrs.get("href")
        if href is None:
            return
        url = clean_url(self.doc[href.value_start:href.value_end]) if href.has_value else None
        # Both markers contain "notrack"; most tags don't, and skip the closer look.
        marked = "notrack" in ascii_lower(self.doc[tag.start:tag.end]) and (
            "data-mailbeacon-notrack" in attrs
            or "mailbeacon-notrack" in self._value(attrs.get("class")).split())
        prefix = self.click_prefix
        own = bool(url and prefix and ascii_lower(url[:len(prefix)]) == prefix)
        self.links.append(LinkSite(tag.name, href.value_start, href.value_end, href.quote, url,
                                   quoted=self.quote_start is not None, marked=marked, own=own,
                                   in_conditional=in_conditional))

    def _img(self, tag: Tag) -> None:
        raw = self.doc[tag.start:tag.end]
        if "/o/" not in raw and "&" not in raw:
            self.visible = True  # not one of our pixels, and a picture is content
            return
        src = tag.first_attributes(self.doc).get("src")
        if src is not None and src.has_value and self.pixel_prefix:
            url = ascii_lower(clean_url(self.doc[src.value_start:src.value_end]))
            if self._is_our_pixel(url):
                self.old_pixels.append((tag.start, tag.end))
                return
        self.visible = True  # a picture is content, even without any text

    def _is_our_pixel(self, url: str) -> bool:
        assert self.pixel_prefix is not None
        if url.startswith(self.pixel_prefix):
            return True
        # Gmail's image proxy keeps the original address after '#'.
        proxy, _, original = url.partition("#")
        return "googleusercontent.com/" in proxy and original.startswith(self.pixel_prefix)

    def _conditional(self, comment: Comment) -> None:
        """Outlook renders the markup inside `<!--[if mso]>`: its VML buttons carry links."""
        for token in iter_markup(self.doc, comment.inner_start, comment.inner_end, skip_boring=True):
            if isinstance(token, Tag) and not token.is_end and (
                    token.name in _LINK_TAGS or token.name.startswith("v:")):
                self._link(token, in_conditional=True)

    def _value(self, attribute) -> str:
        if attribute is None or not attribute.has_value:
            return ""
        return decode_attribute_value(self.doc[attribute.value_start:attribute.value_end])

    def _armor(self) -> str | None:
        for marker, kind in _ARMOR.items():
            at = self.doc.find(marker)
            while at >= 0:
                if not any(start <= at < end for start, end in self.regions):
                    return kind
                at = self.doc.find(marker, at + 1)
        return None
