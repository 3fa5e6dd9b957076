"""Track a whole RFC 5322 message: find its body parts, rewrite them, keep everything else.

`inject(raw, options)` returns the tracked bytes and a report. It never raises for a bad
message: a refusal (not requested, too large, malformed, signed, encrypted, empty) comes back in
the report together with the original bytes, untouched.

The message is never regenerated. The structure is located in the raw bytes (mimetree.py), the
text/html and text/plain bodies are decoded, rewritten (html.py, text.py) and re-encoded in their
own transfer encoding and charset (transfer.py), and only those body bytes are spliced back.
Headers, attachments, inline images, preamble and epilogue, boundaries and line endings keep
every byte. Parts with a filename or `Content-Disposition: attachment`, and anything inside an
attached message (message/rfc822), are never modified.
"""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .envelope import Envelope, MalformedMessage, read_envelope
from .html import Edit, HtmlPlan, analyse_html, plan_html_edits
from .links import LinkRegistry, TrackedLink
from .mimetree import MimePart, parse_structure
from .text import armor as text_armor
from .text import plan_text_edits
from .transfer import ByteEdit, DecodedBody, TransferError, body_line_ending, decode_body, encode_body
from .transfer import IDENTITY_ENCODINGS

MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1

_LEFT_ALONE_WORDS = {
    "quoted_history": "in quoted history",
    "not_http": "not http(s) (mailto:, tel:, #anchors, cid:, relative or template links)",
    "marked_notrack": "marked not to track",
    "unsubscribe": "List-Unsubscribe URL(s)",
    "already_tracked": "already our click URLs",
    "undecodable": "with bytes the charset can't decode",
}


@dataclass(frozen=True)
class InjectionOptions:
    track_opens: bool
    track_clicks: bool
    pixel_url: str | None  # this message's open URL (None when opens are off)
    click_url_for: Callable[[int], str]  # link index -> click URL
    tracking_base: str  # e.g. "https://t.example.com", to recognise our old pixels and links
    honeypot: bool = True
    max_bytes: int = 25 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.track_opens and not self.pixel_url:
            raise ValueError("track_opens needs a pixel_url")


@dataclass
class InjectionReport:
    tracked: bool  # True when anything was changed
    skipped_reason: str | None  # None | not_requested | empty_body | signed | encrypted | malformed | too_large
    detail: str | None  # one human sentence
    links: list[TrackedLink]
    pixels: int
    html_parts: int  # HTML parts changed
    text_parts: int  # text/plain parts changed
    links_left_alone: int  # non-http, excluded, inside quoted history
    old_pixels_removed: int
    notes: list[str]
    recipients: list[str] = field(default_factory=list)  # everyone who shares this pixel
    left_alone: dict[str, int] = field(default_factory=dict)  # links_left_alone by reason

    def to_dict(self) -> dict:
        return {
            "tracked": self.tracked, "skipped_reason": self.skipped_reason, "detail": self.detail,
            "links": [link.to_dict() for link in self.links], "pixels": self.pixels,
            "html_parts": self.html_parts, "text_parts": self.text_parts,
            "links_left_alone": self.links_left_alone, "left_alone": dict(self.left_alone),
            "old_pixels_removed": self.old_pixels_removed, "notes": list(self.notes),
            "recipients": list(self.recipients),
        }


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str, recipients: list[str] | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.recipients = reason, detail, recipients or []


@dataclass
class _Body:
    """A text part we may rewrite."""

    part: MimePart
    is_html: bool
    must_change: bool
    decoded: DecodedBody | None = None
    text: str = ""
    codec: str = "ascii"
    plan: HtmlPlan | None = None


def inject(raw: bytes, options: InjectionOptions) -> tuple[bytes, InjectionReport]:
    raw = bytes(raw)
    try:
        return _Injection(raw, options).run()
    except _Refusal as refusal:
        return raw, InjectionReport(
            tracked=False, skipped_reason=refusal.reason, detail=refusal.detail, links=[],
            pixels=0, html_parts=0, text_parts=0, links_left_alone=0, old_pixels_removed=0,
            notes=[], recipients=refusal.recipients)


class _Injection:
    def __init__(self, raw: bytes, options: InjectionOptions) -> None:
        self.raw = raw
        self.options = options
        self.notes: list[str] = []
        self.left_alone: Counter = Counter()
        self.recipients: list[str] = []

    def refuse(self, reason: str, detail: str) -> _Refusal:
        return _Refusal(reason, detail, self.recipients)

    def run(self) -> tuple[bytes, InjectionReport]:
        options = self.options
        if not (options.track_opens or options.track_clicks):
            raise self.refuse("not_requested", "neither open nor click tracking was requested")
        if len(self.raw) > options.max_bytes:
            raise self.refuse("too_large", f"the message is {len(self.raw)} bytes, over the "
                                           f"limit of {options.max_bytes} bytes")
        try:
            envelope = read_envelope(self.raw)
            self.recipients = envelope.recipients
            root = parse_structure(self.raw)
        except MalformedMessage as error:
            raise self.refuse("malformed", error.reason) from None
        self._refuse_signed_or_encrypted(root)
        bodies = self._bodies(root)
        self._inspect(bodies)
        return self._rewrite(bodies, envelope)

    # --- checks, before anything changes -------------------------------------------------------

    def _refuse_signed_or_encrypted(self, root: MimePart) -> None:
        for part in root.walk():
            ctype = part.content_type
            if ctype == "multipart/signed":
                protocol = part.param("protocol") or ""
                kind = "PGP/MIME" if "pgp" in protocol else "S/MIME"
                raise self.refuse("signed", f"multipart/signed: tracking would break the {kind} signature")
            if ctype == "multipart/encrypted":
                raise self.refuse("encrypted", "multipart/encrypted: the body is encrypted and "
                                               "can't be changed without breaking it")
            # An opaque S/MIME body is the whole message (its smime.p7m is labelled an attachment
            # all the same); a .p7m file attached beside the sender's text is only a file.
            opaque = part.number == "" or not part.is_attachment
            if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime") and opaque:
                if part.param("smime-type") == "signed-data":
                    raise self.refuse("signed", f"{ctype} (signed-data): tracking would break "
                                                "the S/MIME signature")
                raise self.refuse("encrypted", f"{ctype}: the body is S/MIME-encrypted and can't "
                                               "be changed")
            if ctype == "application/pgp-encrypted" and opaque:
                raise self.refuse("encrypted", "application/pgp-encrypted: the body is encrypted "
                                               "and can't be changed")

    def _bodies(self, root: MimePart) -> list[_Body]:
        bodies = []
        attachments = 0
        for part in root.walk():
            if part.content_type not in ("text/html", "text/plain"):
                continue
            if part.is_attachment:
                attachments += 1
                continue
            is_html = part.content_type == "text/html"
            must_change = self.options.track_clicks or (is_html and self.options.track_opens)
            bodies.append(_Body(part, is_html, must_change))
        if attachments:
            self.notes.append(f"{attachments} text attachment(s) left untouched")
        return bodies

    def _inspect(self, bodies: list[_Body]) -> None:
        visible = False
        message_eol = body_line_ending(self.raw)
        for body in bodies:
            part = body.part
            try:
                body.decoded = decode_body(self.raw[part.body_start:part.end],
                                           part.transfer_encoding, eol=message_eol)
            except TransferError as error:
                if body.must_change:
                    raise self.refuse("malformed", f"{part.label}: {error.reason}") from None
                visible = True  # we can't read it, but it is not nothing
                continue
            body.text, body.codec = self._decode_text(body.decoded.data, part)
            if body.is_html:
                body.plan = analyse_html(body.text, tracking_base=self.options.tracking_base)
                visible = visible or body.plan.has_visible_content
                found = body.plan.armor
            else:
                visible = visible or bool(body.text.strip())
                found = text_armor(body.text)
            if found:
                raise self.refuse(found, f"inline PGP ({'signed' if found == 'signed' else 'encrypted'}"
                                         f" message) in {part.label}: tracking would break it")
        if not visible:
            raise self.refuse("empty_body", "nothing to track: no HTML or text part has visible "
                                            "content")

    def _decode_text(self, data: bytes, part: MimePart) -> tuple[str, str]:
        declared = part.charset
        codec = None
        if declared:
            try:
                info = codecs.lookup(declared)
                # base64, rot13 and the like are codecs but no charset (the flag is how the
                # standard library itself tells them apart).
                codec = info.name if getattr(info, "_is_text_encoding", True) else None
            except (LookupError, ValueError):
                pass
            if codec is None:
                self.notes.append(f"{part.label}: unknown charset {declared!r}, read as UTF-8; "
                                  "bytes that are not UTF-8 were kept as they were")
        if codec in (None, "ascii") and not data.isascii():
            codec = "utf-8"  # what undeclared 8-bit text is in practice; stray bytes are kept below
        codec = codec or "ascii"
        # surrogateescape keeps undecodable bytes, so text we don't change goes back unchanged.
        try:
            return data.decode(codec, "surrogateescape"), codec
        except UnicodeError:
            self.notes.append(f"{part.label}: its {codec} text did not decode; read as UTF-8")
            return data.decode("utf-8", "surrogateescape"), "utf-8"

    # --- the rewrite ---------------------------------------------------------------------------

    def _rewrite(self, bodies: list[_Body], envelope: Envelope) -> tuple[bytes, InjectionReport]:
        options = self.options
        registry = LinkRegistry(options.click_url_for)
        # A link the sender marked in the HTML stays untracked in the text alternative too.
        marked = frozenset(site.url for body in bodies if body.plan for site in body.plan.links
                           if site.marked and site.url)
        excluded = frozenset(envelope.list_unsubscribe)
        replacements: list[tuple[int, int, bytes]] = []
        pixels = html_parts = text_parts = old_pixels = 0
        honeypot_placed = False
        for body in bodies:
            if not body.must_change or body.decoded is None:
                continue
            if body.is_html:
                assert body.plan is not None
                wants_honeypot = options.track_clicks and options.honeypot and not honeypot_placed
                stats = plan_html_edits(
                    body.plan, track_link=registry.track if options.track_clicks else None,
                    pixel_url=options.pixel_url if options.track_opens else None,
                    honeypot_url=registry.track_honeypot if wants_honeypot else None,
                    excluded_urls=excluded)
                honeypot_placed = honeypot_placed or stats.honeypot_inserted
                self.left_alone.update(stats.left_alone)
                if stats.base_href:
                    self.notes.append(f"{body.part.label} has <base href>: relative links were "
                                      "left as they are")
                edits, errors = stats.edits, "xmlcharrefreplace"
            else:
                tstats = plan_text_edits(body.text, track_link=registry.track, excluded_urls=excluded,
                                         marked_urls=marked, tracking_base=options.tracking_base)
                self.left_alone.update(tstats.left_alone)
                edits, errors = tstats.edits, "strict"
            new_body = self._encode(body, edits, errors)
            if new_body is None or new_body == body.decoded.body:
                continue
            replacements.append((body.part.body_start, body.part.end, new_body))
            if body.is_html:
                html_parts += 1
                pixels += int(stats.pixel_inserted)
                old_pixels += stats.old_pixels_removed
                if stats.old_honeypots_removed:
                    self.notes.append(f"{body.part.label}: removed {stats.old_honeypots_removed} "
                                      "honeypot link(s) left from an earlier tracking of this text")
            else:
                text_parts += 1
        output = _splice(self.raw, replacements)
        self._explain(bodies, honeypot_placed)
        links = registry.links
        report = InjectionReport(
            tracked=output != self.raw, skipped_reason=None, detail=None, links=links,
            pixels=pixels, html_parts=html_parts, text_parts=text_parts,
            links_left_alone=sum(self.left_alone.values()), old_pixels_removed=old_pixels,
            notes=self.notes, recipients=self.recipients, left_alone=dict(self.left_alone))
        report.detail = _summary(report, options)
        return output, report

    def _encode(self, body: _Body, edits: list[Edit], errors: str) -> bytes | None:
        assert body.decoded is not None
        if not edits:
            return body.decoded.body
        try:
            byte_edits = _byte_edits(body.text, edits, body.codec, body.decoded.data, errors)
            if byte_edits is None:
                new_text = "".join(_apply(body.text, edits))
                byte_edits = [ByteEdit(0, len(body.decoded.data),
                                       new_text.encode(body.codec, "surrogateescape"))]
                self.notes.append(f"{body.part.label}: the {body.codec} text was re-encoded "
                                  "whole; it reads the same, its bytes may differ")
        except UnicodeError:
            self.notes.append(f"{body.part.label} was left as it was: its charset {body.codec!r} "
                              "can't hold the new links")
            return None
        new_body = encode_body(body.decoded, byte_edits)
        if body.decoded.encoding in IDENTITY_ENCODINGS and _longest_line(new_body) > max(
                MAX_LINE_OCTETS, _longest_line(body.decoded.body)):
            self.notes.append(f"{body.part.label} ({body.decoded.encoding}) now has a line longer "
                              f"than {MAX_LINE_OCTETS} octets; a relay may wrap it")
        return new_body

    def _explain(self, bodies: list[_Body], honeypot: bool) -> None:
        options = self.options
        has_html = any(b.is_html for b in bodies)
        if options.track_opens and any(not b.is_html for b in bodies):
            if has_html:
                self.notes.append("the text/plain alternative has no open pixel (nothing in plain "
                                  "text loads an image): reading it is never counted as an open")
            else:
                self.notes.append("plain-text message: there is nowhere to put an open pixel, so "
                                  "opens can't be tracked")
        if len(self.recipients) > 1:
            self.notes.append(f"{len(self.recipients)} recipients share one pixel and the same "
                              "click URLs: a hit says someone (or their mail system) opened or "
                              "clicked, not who")
        if self.left_alone:
            parts = ", ".join(f"{count} {_LEFT_ALONE_WORDS.get(reason, reason)}"
                              for reason, count in self.left_alone.most_common())
            self.notes.append(f"links left alone: {parts}")
        if honeypot:
            self.notes.append("a hidden honeypot link was added: people can't see or reach it, "
                              "so whatever follows it is a machine")


def _byte_edits(text: str, edits: list[Edit], codec: str, data: bytes,
                errors: str) -> list[ByteEdit] | None:
    """Map edits on the decoded text to edits on its bytes.

    None when the charset is stateful (its pieces don't add up to the original bytes), in which
    case only a whole re-encoding is honest.
    """
    replacements = [edit.text.encode(codec, errors) for edit in edits]  # may raise
    result = []
    pieces = []
    char = byte = 0
    for edit, replacement in zip(edits, replacements):
        before = text[char:edit.start].encode(codec, "surrogateescape")
        replaced = text[edit.start:edit.end].encode(codec, "surrogateescape")
        pieces += (before, replaced)
        byte += len(before)
        result.append(ByteEdit(byte, byte + len(replaced), replacement))
        byte += len(replaced)
        char = edit.end
    pieces.append(text[char:].encode(codec, "surrogateescape"))
    return result if b"".join(pieces) == data else None


def _apply(text: str, edits: list[Edit]):
    pos = 0
    for edit in edits:
        yield text[pos:edit.start]
        yield edit.text
        pos = edit.end
    yield text[pos:]


def _splice(raw: bytes, replacements: list[tuple[int, int, bytes]]) -> bytes:
    if not replacements:
        return raw
    pieces = []
    pos = 0
    for start, end, data in sorted(replacements):
        pieces += (raw[pos:start], data)
        pos = end
    pieces.append(raw[pos:])
    return b"".join(pieces)


def _longest_line(data: bytes) -> int:
    return max((len(line.rstrip(b"\r")) for line in data.split(b"\n")), default=0)


def _summary(report: InjectionReport, options: InjectionOptions) -> str:
    real_links = sum(1 for link in report.links if not link.honeypot)
    if report.tracked:
        done = []
        if options.track_clicks:
            done.append(f"{real_links} link(s)")
        if options.track_opens:
            done.append(f"{report.pixels} pixel(s)")
        where = []
        if report.html_parts:
            where.append(f"{report.html_parts} HTML part(s)")
        if report.text_parts:
            where.append(f"{report.text_parts} text part(s)")
        return f"tracked {' and '.join(done)} in {' and '.join(where)}"
    if options.track_clicks and not options.track_opens:
        return "nothing to change: no http(s) link to track"
    return "nothing to change: no HTML part to hold a pixel and no link to track"
