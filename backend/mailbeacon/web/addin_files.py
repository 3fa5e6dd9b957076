"""/addin/… (the Outlook add-in's web files: task pane, event runtime, sign-in landing page, icons) and the origin's
list of add-in event runtimes.

The files are `addin-manifest/src/` and `addin-manifest/assets/`, kept once, in the checkout. An installed wheel has
no checkout beside it, so the wheel's build copies both folders into the package (`mailbeacon/data/addin/`, see
setup.py) and they are read from there when present: `mailbeacon serve` serves the same files from a wheel as from
an editable checkout. commands/commands.js is not among them: it is assembled from the modules it carries
(web/addin_bundle.py) when the index is built.

Safety by construction: the files are read once into an index keyed by their relative path, and a request is
answered only when its path is a key of that index. The path is never joined onto a directory, so no spelling of
`..`, no encoded slash and no absolute path can reach another file. Only the suffixes in CONTENT_TYPES are indexed.

Two answers depend on the deployment, because classic Outlook on Windows runs commands.js alone in a JavaScript-only
runtime that has no `location` and accepts only absolute URLs: commands.js is served with one line in front that
names the public URL, and /.well-known/microsoft-officeaddins-allowed.json lists commands.js, which that runtime
requires before it lets the file use single sign-on or make cross-origin requests.

Outlook caches add-in pages hard, and a page of one release with a script of another breaks in ways users can't
fix, so pages and scripts are revalidated on every load (`no-cache` with a strong ETag, answered 304 when
unchanged); only the icons may be cached for a day. Pages carry a Content-Security-Policy that lets scripts,
styles, images and connections come from our own origin and from appsforoffice.microsoft.com (Office.js) only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, request
from werkzeug.exceptions import NotFound

from .addin_bundle import EVENT_RUNTIME, event_runtime

bp = Blueprint("addin_files", __name__)

PACKAGED_ADDIN = ("data", "addin")  # where the wheel's build puts src/ and assets/
CHECKOUT_ADDIN = Path(__file__).resolve().parents[3] / "addin-manifest"
# Served path prefix -> folder under the add-in's root: the icons are served under assets/, next to src/'s files.
SERVED_FOLDERS = (("", "src"), ("assets/", "assets"))
OFFICE_JS_ORIGIN = "https://appsforoffice.microsoft.com"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
REVALIDATE = "no-cache"
ICON_CACHE = "public, max-age=86400"
ALLOWED_LIST_PATH = "/.well-known/microsoft-officeaddins-allowed.json"
# The dialog's landing page is opened with a one-time sign-in code in its query string: never keep a copy.
NO_STORE_PAGES = frozenset({"signed-in.html"})
MAX_DEPTH = 6


@dataclass(frozen=True)
class WebFile:
    body: bytes
    content_type: str
    etag: str
    cache_control: str

    @property
    def is_page(self) -> bool:
        return self.content_type.startswith("text/html")


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _cache_control(path: str, content_type: str) -> str:
    if path in NO_STORE_PAGES:
        return "no-store"
    return ICON_CACHE if content_type.startswith("image/") else REVALIDATE


def _walk(folder: Traversable, prefix: str, depth: int, found: dict[str, WebFile]) -> None:
    if depth > MAX_DEPTH:
        return
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue  # editor and OS droppings are never part of the add-in
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            _walk(entry, relative + "/", depth + 1, found)
            continue
        content_type = CONTENT_TYPES.get(_suffix(entry.name))
        if content_type is None:
            continue
        found[relative] = _web_file(relative, entry.read_bytes(), content_type)


def _web_file(relative: str, body: bytes, content_type: str) -> WebFile:
    return WebFile(body=body, content_type=content_type, etag=hashlib.sha256(body).hexdigest()[:32],
                   cache_control=_cache_control(relative, content_type))


def addin_root() -> Traversable:
    """The folder holding the add-in's src/ and assets/: the wheel's copy when installed, else the checkout's."""
    packaged = resources.files("mailbeacon").joinpath(*PACKAGED_ADDIN)
    return packaged if packaged.joinpath("src").is_dir() else CHECKOUT_ADDIN


@cache
def web_files() -> dict[str, WebFile]:
    """Every servable file of the add-in, by its path under /addin/, the event runtime assembled (once per process)."""
    root = addin_root()
    found: dict[str, WebFile] = {}
    for prefix, folder in SERVED_FOLDERS:
        if root.joinpath(folder).is_dir():
            _walk(root.joinpath(folder), prefix, 0, found)
    if found:
        bundle = event_runtime({name: file.body for name, file in found.items()})
        found[EVENT_RUNTIME] = _web_file(EVENT_RUNTIME, bundle, CONTENT_TYPES[".js"])
    return found


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def content_security_policy(*, public_url: str, stream_url: str | None = None) -> str:
    """The policy for our pages. The stream may live on a service of its own (MAILBEACON_STREAM_URL)."""
    connect = ["'self'", OFFICE_JS_ORIGIN]
    for extra in (_origin(public_url), _origin(stream_url)):
        if extra and extra not in connect:
            connect.append(extra)
    directives = [
        "default-src 'none'",
        f"script-src 'self' {OFFICE_JS_ORIGIN}",
        f"connect-src {' '.join(connect)}",
        "img-src 'self'",
        "style-src 'self'",
        f"frame-src 'self' {OFFICE_JS_ORIGIN}",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
    # No frame-ancestors: Outlook on the web frames the pages from hosts Microsoft adds to as it pleases.
    return "; ".join(directives)


def deployment_line(public_url: str) -> bytes:
    """The line in front of commands.js: where this backend is, for a runtime that can't ask `location`."""
    return f"globalThis.MAILBEACON_PUBLIC_URL = {json.dumps(public_url)};  // added by the serving backend\n".encode()


@cache
def _event_runtime(public_url: str) -> WebFile:
    plain = web_files()[EVENT_RUNTIME]
    return _web_file(EVENT_RUNTIME, deployment_line(public_url) + plain.body, plain.content_type)


@bp.get(ALLOWED_LIST_PATH)
def allowed_event_runtimes():
    """Classic Outlook lets an event runtime use SSO and CORS only if its origin lists the file here."""
    public_url = current_app.extensions["mailbeacon"].config.public_url
    response = current_app.response_class(
        json.dumps({"allowed": [f"{public_url}/addin/{EVENT_RUNTIME}"]}), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/addin/<path:name>")
def addin_file(name: str):
    found = web_files().get(name)
    if found is None:
        raise NotFound("No such add-in file.")
    if name == EVENT_RUNTIME:
        found = _event_runtime(current_app.extensions["mailbeacon"].config.public_url)
    response = current_app.response_class(status=200)
    response.headers["Content-Type"] = found.content_type
    response.headers["Cache-Control"] = found.cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.set_etag(found.etag)
    if found.is_page:
        config = current_app.extensions["mailbeacon"].config
        response.headers["Content-Security-Policy"] = content_security_policy(
            public_url=config.public_url, stream_url=config.stream_url)
    if request.if_none_match.contains(found.etag) and found.cache_control != "no-store":
        response.status_code = 304
        return response
    response.set_data(found.body)
    return response
