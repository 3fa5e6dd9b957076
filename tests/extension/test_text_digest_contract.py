"""The compose window's text digest (extension/src/lib/text-digest.js) is the one the send job computes from
Gmail's draft (backend/mailbeacon/tracking/fingerprint.py): if they ever disagree, every tracked send fails as
"stale draft". Both are run on the same awkward texts and must agree."""

from __future__ import annotations

import json
import subprocess

import pytest

from mailbeacon.tracking.fingerprint import html_text, text_digest

from .conftest import EXTENSION_DIR
from .test_node_unit_tests import node

TEXTS = [
    "Hi Sam, the new prices: https://example.com/pricing?plan=pro&seats=5",
    "line one\r\nline two\n\n\tindented\u00a0with nbsp",
    "zero\u200bwidth\u200cjoin\u200dword\u2060joiner\ufeffbom",
    "Cafe\u0301 na\u0308ive \u212b",  # decomposed letters, and the angstrom sign that NFC turns into Å
    "wide\u3000space, ideographic\u2003em, narrow\u202fnbsp, line\u2028para\u2029sep",
    "control separators \x1c\x1d\x1e\x1f and next-line \x85 count as whitespace in Python",
    "emoji \u2615\ufe0f and \U0001f469\u200d\U0001f4bb stay",
    "",
]


def js_digests(texts: list[str]) -> list[str]:
    script = (
        "import { textDigest } from './src/lib/text-digest.js';"
        "const texts = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(await Promise.all(texts.map(textDigest))));"
    )
    result = subprocess.run([node(), "--input-type=module", "-e", script, json.dumps(texts)], cwd=EXTENSION_DIR,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def extension_digests() -> list[str]:
    return js_digests(TEXTS)  # one node process for every text


@pytest.mark.parametrize("index", range(len(TEXTS)))
def test_the_extension_and_the_backend_compute_the_same_text_digest(extension_digests, index):
    assert extension_digests[index] == text_digest(TEXTS[index]), repr(TEXTS[index])


def test_markup_the_browser_turns_into_text_digests_the_same_on_both_sides():
    # What the compose body's textContent gives for this HTML, and what the backend reads from the draft's HTML.
    markup = '<div dir="ltr">Hi&nbsp;Sam,<br>the <a href="x">new</a> prices<style>p{}</style>&amp; more</div>'
    screen_text = "Hi\u00a0Sam,the new prices& more"
    assert js_digests([screen_text]) == [text_digest(html_text(markup))]
