"""The add-in's pure JavaScript modules under node:test, and its text digest checked against the backend's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mailbeacon.addin_manifest import SEND_HANDLER
from mailbeacon.tracking.fingerprint import html_text, text_digest
from mailbeacon.web.addin_files import EVENT_RUNTIME, web_files

from ..conftest import service_missing

NODE = Path("/usr/bin/node")
HERE = Path(__file__).parent / "node"

# Bodies the way Outlook writes them, and the corners of the digest contract (tracking/fingerprint.py).
BODIES = [
    ('<html><head><meta charset="utf-8"><style>p{margin:0}</style></head><body><div dir="ltr">Hi Rita,'
     '<br>the new <a href="https://example.com/pricing?plan=pro&amp;seats=5">prices</a>.</div></body></html>', "html"),
    ("<p>Fiyatlar&nbsp;için&#160;tıklayın &#x15E;&#351; &quot;teklif&quot; &lt;3 &amp; &copy; 2025</p>", "html"),
    ("<div>a<!-- hidden --> b<script>var x = '<p>';</script>c<title>t</title></div>", "html"),
    ("<p>S\u0327ekerler \u200bzero\u2060width\ufeff and\u00a0nbsp</p>", "html"),
    ("<P>Upper <B>case</B> <STYLE>x</STYLE>tags</P>", "html"),
    ("Plain text\r\n\twith   spaces\u0085and\u001fcontrols", "text"),
    ("", "html"),
    ("<p>Emoji 🎉 and CJK 漢字 and a 4-byte &#x1F600;</p>", "html"),
]
UNSURE = [("<p>a &notin; b &AMP; c</p>", "html"), ("<p>&#128; and &amp without semicolon</p>", "html")]


def node_or_skip() -> Path:
    if not NODE.exists():
        service_missing("node", f"{NODE} is absent")
    return NODE


def test_the_pure_modules_and_the_assembled_event_runtime_pass_their_node_tests(tmp_path):
    node = node_or_skip()
    bundle = tmp_path / "commands.js"
    bundle.write_bytes(web_files()[EVENT_RUNTIME].body)  # what the backend serves, less its deployment line
    done = subprocess.run([str(node), "--test", str(HERE)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MB_SEND_HANDLER": SEND_HANDLER, "MB_EVENT_RUNTIME": str(bundle)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


def digests(samples) -> list[str | None]:
    done = subprocess.run([str(node_or_skip()), str(HERE / "digest-cli.js")], input=json.dumps(samples),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def backend_digest(content: str, content_type: str) -> str:
    return text_digest(html_text(content) if content_type == "html" else content)


def test_the_add_in_digests_a_body_exactly_as_the_backend_does():
    assert digests(BODIES) == [backend_digest(c, t) for c, t in BODIES]


@pytest.mark.parametrize("sample", UNSURE)
def test_where_it_cannot_be_sure_the_add_in_sends_no_digest_rather_than_a_wrong_one(sample):
    assert digests([sample]) == [None]
