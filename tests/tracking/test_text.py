"""rewrite_text: bare and <angle-bracketed> URLs in text/plain, quoted history left alone."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbeacon.tracking.links import LinkRegistry
from mailbeacon.tracking.text import armor, find_urls, rewrite_text

BASE = "https://t.test"


def rewrite(text: str, **kwargs):
    registry = LinkRegistry(lambda i: f"{BASE}/c/{i}")
    out, stats = rewrite_text(text, track_link=registry.track, **kwargs)
    return out, stats, [link.url for link in registry.links]


@pytest.mark.parametrize("text, url", [
    ("See https://x.test/a.", "https://x.test/a"),
    ("See https://x.test/a, then", "https://x.test/a"),
    ("Really? https://x.test/a?!", "https://x.test/a"),
    ("'https://x.test/a'", "https://x.test/a"),
    ('"https://x.test/a";', "https://x.test/a"),
    ("(see https://x.test/a)", "https://x.test/a"),
    ("(see https://en.wikipedia.test/wiki/Set_(mathematics))", "https://en.wikipedia.test/wiki/Set_(mathematics)"),
    ("https://x.test/wiki/Set_(mathematics).", "https://x.test/wiki/Set_(mathematics)"),
    ("[https://x.test/a]", "https://x.test/a"),
    ("https://x.test/q?a=1&b=2#frag", "https://x.test/q?a=1&b=2#frag"),
    ("https://x.test/p?x=1.", "https://x.test/p?x=1"),
    ("\u201chttps://x.test/\u011f\u00fc\u015f\u201d", "https://x.test/\u011f\u00fc\u015f"),
    ("HTTP://X.TEST/A:", "HTTP://X.TEST/A"),
    ("<https://x.test/a.b,>", "https://x.test/a.b,"),
    ("link:<https://x.test/a>.", "https://x.test/a"),
    ("https://x.test/a\tnext", "https://x.test/a"),
    ("https://x.test/{{name}}/%%ID%%/*|X|*", "https://x.test/{{name}}/%%ID%%/*|X|*"),
])
def test_url_ends_are_found_where_a_reader_would_put_them(text, url):
    out, _, urls = rewrite(text)
    assert urls == [url]
    assert out == text.replace(url, f"{BASE}/c/0", 1)


@pytest.mark.parametrize("text", [
    "mailto:a@b.test", "www.x.test", "ftp://x.test/", "https://", "https://.", "xhttps://x.test/",
    "user@https://x.test", "no links here",
])
def test_things_that_are_not_http_urls_are_not_touched(text):
    out, _, urls = rewrite(text)
    assert (out, urls) == (text, [])


def test_quoted_lines_are_history_and_stay():
    text = "New https://new.test/\n> old https://old.test/\n  > also https://old2.test/\nback https://new.test/"
    out, stats, urls = rewrite(text)
    assert urls == ["https://new.test/"]
    assert out == text.replace("https://new.test/", f"{BASE}/c/0")
    assert stats.left_alone == {"quoted_history": 2}
    assert stats.quoted_history


@pytest.mark.parametrize("header", [
    "-----Original Message-----",
    "On Mon, Jan 6, 2025 at 10:12 AM Ay\u015fe Y\u0131lmaz <ayse@example.test> wrote:",
    "On Mon, Jan 6, 2025 at 10:12 AM Ay\u015fe Y\u0131lmaz <ayse@example.test>\nwrote:",
    "On 6 Jan 2025, at 10:12, Bob <b@x.test> wrote:",
    "Am 06.01.2025 um 10:12 schrieb Bob <b@x.test>:",
    "Le lun. 6 janv. 2025 \u00e0 10:12, Bob <b@x.test> a \u00e9crit :",
    "6 Oca 2025 Pzt, 10:12 tarihinde Bob <b@x.test> \u015funu yazd\u0131:",
    "---------- Forwarded message ---------",
    "Begin forwarded message:",
    "________________________________\nFrom: Bob <b@x.test>",
    "From: Bob <b@x.test>\nSent: Monday, January 6, 2025 10:12 AM",
])
def test_everything_after_a_reply_or_forward_header_is_history(header):
    text = f"Hi, see https://new.test/\r\n\r\n{header}\r\nOld text https://old.test/\r\n"
    out, stats, urls = rewrite(text.replace("\n", "\r\n").replace("\r\r\n", "\r\n"))
    assert urls == ["https://new.test/"]
    assert stats.left_alone == {"quoted_history": 1}


def test_a_sentence_mentioning_original_message_is_not_a_header():
    _, _, urls = rewrite("About the original message: https://a.test/\nhe wrote: https://b.test/")
    assert urls == ["https://a.test/", "https://b.test/"]


def test_excluded_and_already_tracked_urls_stay():
    text = f"Unsubscribe: https://n.test/u?x=1 or {BASE}/c/OLD or https://n.test/"
    out, stats, urls = rewrite(text, excluded_urls=frozenset({"https://n.test/u?x=1"}), tracking_base=BASE)
    assert urls == ["https://n.test/"]
    assert stats.left_alone == {"unsubscribe": 1, "already_tracked": 1}


def test_line_endings_and_every_other_character_are_kept():
    text = "a\r\nb https://x.test/ c\r\n\r\n\ttab https://y.test/\n"
    out, _, _ = rewrite(text)
    assert out == f"a\r\nb {BASE}/c/0 c\r\n\r\n\ttab {BASE}/c/1\n"


def test_inline_pgp_is_recognised_only_in_the_new_text():
    assert armor("-----BEGIN PGP MESSAGE-----\nhQEMA\n-----END PGP MESSAGE-----") == "encrypted"
    assert armor("Hi\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n") == "signed"
    assert armor("Hi\n> -----BEGIN PGP SIGNED MESSAGE-----\n") is None
    assert armor("Hi\nOn Mon, Bob wrote:\n-----BEGIN PGP MESSAGE-----\n") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from([
    "https://x.test/a", "<https://y.test/b>", "(https://z.test/c)", ".", ",", ")", "\n> ", "\n", " "])),
    max_size=20).map("".join))
def test_rewriting_changes_nothing_but_the_urls_it_reports(text):
    out, stats, _ = rewrite(text)
    rebuilt = text
    for edit in reversed(stats.edits):
        rebuilt = rebuilt[:edit.start] + edit.text + rebuilt[edit.end:]
        assert text[edit.start:edit.end].lower().startswith("http")
    assert rebuilt == out
    assert len(stats.edits) == stats.links_tracked
    assert stats.links_tracked + stats.links_left_alone == len(find_urls(text))
