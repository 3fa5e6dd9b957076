"""A small, careful HTML tag scanner that reports positions instead of building a tree.

Rewriting links must leave every byte outside the changed attribute values as the sender wrote it,
so nothing here re-serialises anything: the scanner walks the document the way an HTML5 tokenizer
does (comments, bogus comments, CDATA, raw-text elements, the attribute-value states) and yields
the tags it finds with their offsets. Callers splice their edits into the original string.

Deliberate simplifications, each in the direction of "leave it alone":
- `<![CDATA[ ... ]]>` runs to `]]>` everywhere (HTML5 makes it a bogus comment ending at the first
  `>` outside SVG/MathML); anything inside is never rewritten.
- A tag that is still open at the end of the document ends the scan: a browser drops it, and
  whatever follows it is not markup a browser would show.
- `<script>` ends at the first `</script`, without HTML5's `<!--<script>` escape states. Mail
  clients strip scripts anyway; at worst a link written inside a script is tracked.
- Foreign content (SVG, MathML) is read like HTML; `<a xlink:href>` is not a link here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.entities import html5 as _HTML5_NAMED

_WS = "\t\n\f\r "  # HTML's ASCII whitespace; Python's \s would also match NBSP and friends

# A whole tag, including its attributes, following the HTML5 tokenizer's attribute states.
# A quote only opens a value right after `=`; a value that has `=` must be present (so an
# unterminated quote makes the match fail instead of being re-read as a new attribute); the
# possessive and atomic parts keep the regex from exploring other tokenizations.
_ATTRIBUTES = (
    rf"(?:[{_WS}/]++"
    rf"|(?>[^{_WS}/>][^{_WS}/>=]*+"
    rf"(?:[{_WS}]*+=[{_WS}]*+(?:\"[^\"]*+\"|'[^']*+'|(?![\"'])[^{_WS}>]*+)"
    rf"|(?![{_WS}]*+=))))*+"
)
_TAG_RE = re.compile(rf"</?([A-Za-z][^{_WS}/>]*+)({_ATTRIBUTES})>")
# One attribute inside an attribute area that _TAG_RE has already validated.
_ATTR_RE = re.compile(
    rf"([^{_WS}/>][^{_WS}/>=]*)"
    rf"(?:[{_WS}]*=[{_WS}]*(?:\"([^\"]*)\"|'([^']*)'|([^{_WS}>]*)))?"
)

# Elements whose content is text up to the matching end tag, never markup.
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
)
_RAW_END_RE = {name: re.compile(rf"</{name}[{_WS}/>]", re.IGNORECASE) for name in _RAW_TEXT}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# Tags the link rewriter acts on (or must see, like raw-text elements), and the end tags it needs
# for nesting. Everything else is text to it, so runs of text and other tags are skipped in one
# regex match instead of tag by tag; that is most of a message (p, span, td, table, font, …).
# An <img> only matters when it could be one of our pixels ("/o/" in its URL, or an escaped
# one): the others are skipped too, and a Run that holds one has a picture in it.
_INTERESTING = ("a", "area", "img", "div", "blockquote", "hr", "base", "plaintext", *_RAW_TEXT)
_INTERESTING_END = ("div", "blockquote", "body", "html")
_BORING_RUN = re.compile(
    rf"(?:[^<]++"
    rf"|<(?![A-Za-z/!?])"
    rf"|<(?:(?=(?i:img)[{_WS}/>])(?![^>]*?(?:/[oO]/|&))"
    rf"|(?!(?i:{'|'.join(sorted(_INTERESTING))})[{_WS}/>])(?!(?i:v):))[A-Za-z][^{_WS}/>]*+{_ATTRIBUTES}>"
    rf"|</(?!(?i:{'|'.join(_INTERESTING_END)})[{_WS}/>])[A-Za-z][^{_WS}/>]*+{_ATTRIBUTES}>"
    rf")*+"
)
_IMG_TAG = re.compile(rf"<img[{_WS}/>]", re.IGNORECASE)


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as HTML does for tag and attribute names."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


class Attribute:
    __slots__ = ("name", "value_start", "value_end", "quote")

    def __init__(self, name: str, value_start: int, value_end: int, quote: str) -> None:
        self.name = name  # ASCII-lower-cased
        self.value_start = value_start  # raw value span in the document, quotes excluded;
        self.value_end = value_end  # both -1 when the attribute has no value at all
        self.quote = quote  # '"', "'" or '' (unquoted, or no value)

    @property
    def has_value(self) -> bool:
        return self.value_start >= 0


class Tag:
    __slots__ = ("name", "start", "end", "is_end", "attrs_start", "attrs_end", "text_resumes")

    def __init__(self, name: str, start: int, end: int, is_end: bool, attrs_start: int,
                 attrs_end: int) -> None:
        self.name = name  # ASCII-lower-cased
        self.start = start
        self.end = end
        self.is_end = is_end
        self.attrs_start = attrs_start
        self.attrs_end = attrs_end
        # Where ordinary text starts again: after a raw-text element's content, else `end`.
        self.text_resumes = end

    def attributes(self, doc: str) -> list[Attribute]:
        return [_attribute(m) for m in _ATTR_RE.finditer(doc, self.attrs_start, self.attrs_end)]

    def first_attributes(self, doc: str) -> AttributeMap:
        """Attributes by name; a duplicate is ignored, as browsers keep the first one."""
        by_name: dict[str, re.Match[str]] = {}
        for m in _ATTR_RE.finditer(doc, self.attrs_start, self.attrs_end):
            name = m.group(1)
            name = name.lower() if name.isascii() else name.translate(_ASCII_LOWER)
            if name not in by_name:
                by_name[name] = m
        return AttributeMap(by_name)


_QUOTE_OF_GROUP = {2: '"', 3: "'", 4: ""}


def _attribute(m: re.Match[str]) -> Attribute:
    group = m.lastindex or 1
    name = ascii_lower(m.group(1))
    if group == 1:
        return Attribute(name, -1, -1, "")
    return Attribute(name, m.start(group), m.end(group), _QUOTE_OF_GROUP[group])


class AttributeMap:
    """First attributes by lower-cased name, built into Attribute objects only when asked for."""

    __slots__ = ("_matches",)

    def __init__(self, matches: dict[str, re.Match[str]]) -> None:
        self._matches = matches

    def __contains__(self, name: str) -> bool:
        return name in self._matches

    def get(self, name: str) -> Attribute | None:
        m = self._matches.get(name)
        return None if m is None else _attribute(m)


class Run:
    """Text and uninteresting tags, skipped in one piece (only with `skip_boring`)."""

    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


class Comment:
    """A comment, bogus comment, CDATA section or markup declaration."""

    __slots__ = ("start", "end", "inner_start", "inner_end")

    def __init__(self, start: int, end: int, inner_start: int = -1, inner_end: int = -1) -> None:
        self.start = start
        self.end = end
        # The markup inside an `<!--[if mso]> ... <![endif]-->` conditional comment, which
        # Outlook renders; -1 for any other comment.
        self.inner_start = inner_start
        self.inner_end = inner_end

    @property
    def text_resumes(self) -> int:
        return self.end


def iter_markup(doc: str, start: int = 0, end: int | None = None, *,
                skip_boring: bool = False) -> Iterator[Tag | Comment | Run]:
    """Yield the tags and comments of `doc[start:end]` in document order.

    With `skip_boring`, text and the tags that are not in _INTERESTING come as Run spans instead
    (raw-text content is never part of a Run).
    """
    stop = len(doc) if end is None else end
    pos = start
    find = doc.find
    boring = _BORING_RUN.match
    while True:
        if skip_boring:
            run_end = boring(doc, pos, stop).end()
            if run_end > pos:
                yield Run(pos, run_end)
                pos = run_end
        i = find("<", pos, stop)
        if i < 0 or i + 1 >= stop:
            return
        c = doc[i + 1]
        if c.isascii() and c.isalpha():
            m = _TAG_RE.match(doc, i, stop)
            if m is None:
                return  # a tag still open at the end: nothing after it is markup
            tag = Tag(ascii_lower(m.group(1)), i, m.end(), False, m.start(2), m.end(2))
            pos = m.end()
            if tag.name in _RAW_TEXT:
                close = _RAW_END_RE[tag.name].search(doc, pos, stop)
                pos = close.start() if close else stop
                tag.text_resumes = pos
            elif tag.name == "plaintext":
                tag.text_resumes = pos = stop
            yield tag
        elif c == "/":
            nxt = doc[i + 2] if i + 2 < stop else ""
            if nxt.isascii() and nxt.isalpha():
                m = _TAG_RE.match(doc, i, stop)
                if m is None:
                    return
                pos = m.end()
                yield Tag(ascii_lower(m.group(1)), i, pos, True, m.start(2), m.end(2))
            elif nxt == ">":
                pos = i + 3  # `</>` is dropped entirely
            elif nxt == "":
                return
            else:
                pos = _bogus_end(doc, i + 2, stop)
                yield Comment(i, pos)
        elif c == "!":
            comment = _markup_declaration(doc, i, stop)
            pos = comment.end
            yield comment
        elif c == "?":
            pos = _bogus_end(doc, i + 2, stop)
            yield Comment(i, pos)
        else:
            pos = i + 1  # a bare `<` in text


def _bogus_end(doc: str, pos: int, stop: int) -> int:
    j = doc.find(">", pos, stop)
    return stop if j < 0 else j + 1


def _markup_declaration(doc: str, i: int, stop: int) -> Comment:
    if doc.startswith("<!--", i):
        body = i + 4
        if doc.startswith(">", body):
            return Comment(i, body + 1)
        if doc.startswith("->", body):
            return Comment(i, body + 2)
        ends = [j for j in (doc.find("-->", body, stop), doc.find("--!>", body, stop)) if j >= 0]
        if ends:
            close = min(ends)
            end = close + (3 if doc.startswith("-->", close) else 4)
        else:
            close = end = stop
        if ascii_lower(doc[body:body + 3]) == "[if":
            opened = doc.find(">", body, close)
            if opened >= 0:
                inner_end = _rfind_ci(doc, "<![endif]", opened + 1, close)
                return Comment(i, end, opened + 1, close if inner_end < 0 else inner_end)
        return Comment(i, end)
    if doc.startswith("<![CDATA[", i):
        j = doc.find("]]>", i + 9, stop)
        return Comment(i, stop if j < 0 else j + 3)
    return Comment(i, _bogus_end(doc, i + 2, stop))


def _rfind_ci(doc: str, needle: str, start: int, end: int) -> int:
    # ascii_lower keeps offsets; str.lower() can change the length of non-ASCII text.
    j = ascii_lower(doc[start:end]).rfind(needle)
    return -1 if j < 0 else start + j


# --- character references in attribute values -------------------------------------------------

_CHARREF_RE = re.compile(r"&(?:#([0-9]+);?|#[xX]([0-9a-fA-F]+);?|([A-Za-z][A-Za-z0-9]*;?))")

# HTML5's replacements for numeric references to C1 controls (they meant windows-1252).
_C1_REPLACEMENTS = {
    0x80: "\u20ac", 0x82: "\u201a", 0x83: "\u0192", 0x84: "\u201e", 0x85: "\u2026",
    0x86: "\u2020", 0x87: "\u2021", 0x88: "\u02c6", 0x89: "\u2030", 0x8A: "\u0160",
    0x8B: "\u2039", 0x8C: "\u0152", 0x8E: "\u017d", 0x91: "\u2018", 0x92: "\u2019",
    0x93: "\u201c", 0x94: "\u201d", 0x95: "\u2022", 0x96: "\u2013", 0x97: "\u2014",
    0x98: "\u02dc", 0x99: "\u2122", 0x9A: "\u0161", 0x9B: "\u203a", 0x9C: "\u0153",
    0x9E: "\u017e", 0x9F: "\u0178",
}


def _numeric(digits: str, base: int) -> str:
    # Anything past eight digits is out of range anyway (and int() refuses very long strings).
    code = int(digits, base) if len(digits.lstrip("0")) <= 8 else 0x110000
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return _C1_REPLACEMENTS.get(code) or chr(code)


def decode_attribute_value(raw: str) -> str:
    """Decode character references as HTML5 does inside an attribute value.

    Unlike `html.unescape`, a named reference without its `;` is left as written when the next
    character is `=` or alphanumeric (`?a=1&copy=2` keeps `&copy=`), which is what keeps query
    strings intact.
    """
    if "&" not in raw:
        return raw
    if raw.count("&") == raw.count("&amp;"):
        return raw.replace("&amp;", "&")  # the usual case: only escaped ampersands

    def replace(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return _numeric(m.group(1), 10)
        if m.group(2) is not None:
            return _numeric(m.group(2), 16)
        name = m.group(3)
        if name.endswith(";"):
            decoded = _HTML5_NAMED.get(name)
            return m.group(0) if decoded is None else decoded
        # Without `;` only the legacy names decode, and never right before `=`. A longer run of
        # letters that merely starts with a legacy name is followed by an alphanumeric
        # character, which the attribute rule leaves alone too.
        decoded = _HTML5_NAMED.get(name)
        if decoded is None or raw.startswith("=", m.end()):
            return m.group(0)
        return decoded

    return _CHARREF_RE.sub(replace, raw)


_UNQUOTED_UNSAFE = re.compile(rf"[{_WS}\"'=<>`]")


def encode_attribute_value(value: str, quote: str) -> str:
    """The text to put between the original quotes (or in place of an unquoted value).

    An unquoted value that would not survive unquoted (it never happens for our URL-safe tokens)
    gets double quotes, the only change of style that keeps the attribute intact.
    """
    text = value.replace("&", "&amp;")
    if quote == '"':
        return text.replace('"', "&quot;")
    if quote == "'":
        return text.replace("'", "&#39;")
    if not text or _UNQUOTED_UNSAFE.search(text):
        return '"' + text.replace('"', "&quot;") + '"'
    return text


def escape_for_double_quotes(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def strip_tags(text: str) -> str:
    """The text of a Run without its tags (a Run holds no comments or raw text)."""
    return _TAG_RE.sub(" ", text) if "<" in text else text


def has_image(text: str) -> bool:
    """Does this Run hold an <img> (which a Run only does when it isn't one of our pixels)?"""
    return _IMG_TAG.search(text) is not None
