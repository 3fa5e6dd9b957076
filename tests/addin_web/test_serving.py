"""The backend serves the add-in's web files under /addin/, exactly the ones the manifest names, and nothing else."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mailbeacon.addin_manifest import MANIFEST_WEB_PATHS
from mailbeacon.web.addin_bundle import EVENT_RUNTIME_PARTS, MissingModules, event_runtime
from mailbeacon.web.addin_files import (EVENT_RUNTIME, OFFICE_JS_ORIGIN, content_security_policy, deployment_line,
                                        web_files)

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "addin-manifest" / "src"
ASSETS = REPO / "addin-manifest" / "assets"
PAGES = ("taskpane/taskpane.html", "commands/commands.html", "signed-in.html")


def source_of(path: str) -> Path:
    return ASSETS / path.split("/", 1)[1] if path.startswith("assets/") else SRC / path


def test_the_event_runtime_is_served_as_its_modules_one_after_another_unchanged(client):
    served = client.get(f"/addin/{EVENT_RUNTIME}")
    assert served.status_code == 200
    modules = b"".join((SRC / part).read_bytes() for part in EVENT_RUNTIME_PARTS)
    assert served.data == deployment_line("https://t.mailbeacon.test") + modules
    assert served.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert not (SRC / EVENT_RUNTIME).exists(), "commands.js is assembled by the backend, not kept in the sources"


def test_a_module_without_its_last_newline_cannot_run_into_the_next():
    files = {part: b"// " + part.encode() for part in EVENT_RUNTIME_PARTS}
    assert event_runtime(files).count(b"\n") == len(EVENT_RUNTIME_PARTS)


def test_a_missing_module_is_named_rather_than_left_out_of_the_bundle():
    files = {part: b";\n" for part in EVENT_RUNTIME_PARTS if part != "lib/api.js"}
    with pytest.raises(MissingModules, match="lib/api.js"):
        event_runtime(files)


@pytest.mark.parametrize("path", [p for p in MANIFEST_WEB_PATHS if p != EVENT_RUNTIME] +
                         ["signed-in.html", "taskpane/taskpane.js", "lib/api.js"])
def test_every_other_file_the_add_in_loads_is_served_byte_for_byte_from_the_sources(client, path):
    response = client.get(f"/addin/{path}")
    assert response.status_code == 200
    assert response.data == source_of(path).read_bytes()
    expected = {".png": "image/png", ".html": "text/html; charset=utf-8",
                ".js": "text/javascript; charset=utf-8"}[Path(path).suffix]
    assert response.headers["Content-Type"] == expected
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("page", PAGES)
def test_pages_allow_scripts_and_connections_only_from_our_origin_and_office_js(client, page):
    policy = client.get(f"/addin/{page}").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'self' {OFFICE_JS_ORIGIN}"
    assert directives["connect-src"].split() == ["'self'", OFFICE_JS_ORIGIN, "https://t.mailbeacon.test"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_a_stream_service_of_its_own_is_the_only_other_origin_pages_may_connect_to():
    policy = content_security_policy(public_url="https://t.example.com/mb",
                                     stream_url="https://stream.example.com/base")
    connect = next(p for p in policy.split("; ") if p.startswith("connect-src"))
    assert connect.split()[1:] == ["'self'", OFFICE_JS_ORIGIN, "https://t.example.com", "https://stream.example.com"]


def test_pages_and_scripts_are_revalidated_every_time_and_icons_cached_for_a_day(client):
    assert client.get("/addin/taskpane/taskpane.html").headers["Cache-Control"] == "no-cache"
    assert client.get("/addin/commands/commands.js").headers["Cache-Control"] == "no-cache"
    assert client.get("/addin/assets/icon-80.png").headers["Cache-Control"] == "public, max-age=86400"


def test_an_unchanged_file_is_answered_304_without_a_body(client):
    first = client.get("/addin/commands/commands.js")
    again = client.get("/addin/commands/commands.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    changed = client.get("/addin/commands/commands.js", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.data == first.data


def test_the_sign_in_landing_page_is_never_stored_and_sends_no_referrer(client):
    response = client.get("/addin/signed-in.html?code=one-time&state=s")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/addin/signed-in.html", headers={"If-None-Match": response.headers["ETag"]}).status_code == 200


@pytest.mark.parametrize("path", [
    "../addin_manifest.py", "../../mailbeacon/config.py", "..%2f..%2fconfig.py", "%2e%2e/manifest.template.xml",
    "lib/../../manifest.template.xml", "/etc/passwd", "manifest.template.xml", "assets/icon-16.png/",
    "taskpane/", "TASKPANE/TASKPANE.HTML", "taskpane\\taskpane.html", "commands/commands.js%00.png",
    "assets/.", "assets/..", "./signed-in.html",
])
def test_no_spelling_of_a_path_reaches_a_file_outside_the_add_in(client, path):
    response = client.get(f"/addin/{path}", follow_redirects=True)
    # Werkzeug merges doubled slashes with a redirect; wherever it leads, it stays under /addin/ and finds nothing.
    assert all(urlsplit(hop.headers["Location"]).path.startswith("/addin/") for hop in response.history)
    # A NUL anywhere in a request is refused as malformed before routing (400); every other spelling finds nothing.
    expected = (400, "invalid_request") if "%00" in path else (404, "not_found")
    assert (response.status_code, response.get_json()["error"]["code"]) == expected


def test_only_web_files_are_indexed():
    names = set(web_files())
    assert set(MANIFEST_WEB_PATHS) <= names
    assert all(Path(name).suffix in (".html", ".js", ".css", ".png") for name in names)
    assert not any(part.startswith(".") for name in names for part in name.split("/"))


def test_the_event_runtime_is_told_where_the_backend_is_because_classic_outlook_gives_it_no_location(client):
    first_line = client.get(f"/addin/{EVENT_RUNTIME}").data.split(b"\n", 1)[0]
    assert first_line.startswith(b'globalThis.MAILBEACON_PUBLIC_URL = "https://t.mailbeacon.test";')


def test_classic_outlook_finds_the_event_runtime_on_the_origins_allowed_list(client):
    response = client.get("/.well-known/microsoft-officeaddins-allowed.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {"allowed": ["https://t.mailbeacon.test/addin/commands/commands.js"]}
