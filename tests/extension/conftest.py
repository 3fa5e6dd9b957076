"""The extension in a real headless Chromium, against the real backend (a threaded server) and the Google stand-in,
with https://mail.google.com routed to the fake Gmail page.

One browser, backend and signed-in sender serve every browser test in this folder (made when the first one asks,
gone when the folder is done): starting Chromium and signing in is most of a browser test's time. Tests therefore
use their own subjects and compare before and after, never absolute counts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from mailbeacon.config import Config
from mailbeacon.devservers.google import serve_google_standin
from mailbeacon.jobs import context as job_context
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Base
from mailbeacon.web.app import build_app, pipeline_of

from ..conftest import TEST_SECRET, service_missing
from .fake_gmail import FakeGmail

REPO = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO / "extension"
ARTIFACTS = REPO / "artifacts" / "extension"
CHROMIUM = Path("/usr/bin/chromium")
SENDER = "alex.sender@example.com"
RECIPIENT = "sam.recipient@example.net"
CLIENT_ID = "mailbeacon-extension-tests.apps.googleusercontent.com"
CLIENT_SECRET = "mailbeacon-extension-tests-secret"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    # Chromium 156 would otherwise stop pages and the extension from reaching the backend on loopback.
    "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights",
]


def extension_id() -> str:
    """Chrome's id for the manifest's public key: the first 128 bits of its SHA-256, as letters a–p."""
    key = json.loads((EXTENSION_DIR / "manifest.json").read_text())["key"]
    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        service_missing("Chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="package")
def google():
    with serve_google_standin(auto_approve=True) as standin:
        yield standin


def _module_database(database_template, tmp: Path) -> str:
    if database_template["kind"] == "sqlite":
        path = tmp / "mailbeacon.db"
        shutil.copyfile(database_template["path"], path)
        return f"sqlite:///{path}"
    url = database_template["url"]
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


class _LateApp:
    """The server must be listening before the app exists: MAILBEACON_PUBLIC_URL names the port it got."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="package")
def backend(database_template, tmp_path_factory, google):
    """The real backend on a real socket, with the extension's id allowed and one trusted proxy hop (so a test can
    load the pixel "from the recipient's address" with X-Forwarded-For)."""
    tmp = tmp_path_factory.mktemp("extension-backend")
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    env = {
        "MAILBEACON_DATABASE_URL": _module_database(database_template, tmp),
        "MAILBEACON_PUBLIC_URL": base,
        "MAILBEACON_SECRET_KEY": TEST_SECRET,
        "MAILBEACON_SPOOL_DIR": str(tmp / "spool"),
        "MAILBEACON_GOOGLE_CLIENT_ID": CLIENT_ID,
        "MAILBEACON_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "MAILBEACON_GOOGLE_ISSUER": google.base_url,
        "MAILBEACON_GMAIL_API_URL": google.base_url + "/",
        "MAILBEACON_EXTENSION_IDS": extension_id(),
        "MAILBEACON_TRUSTED_PROXIES": "1",
    }
    google.state.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[f"{base}/auth/google/callback"],
                                 name="mailbeacon extension tests")
    rt = Runtime(Config.from_env(env))
    job_context.use_runtime(rt)
    late.app = build_app(runtime=rt)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield {"base": base, "rt": rt, "app": late.app}
    server.shutdown()
    server.server_close()
    pipeline_of(late.app).stop()
    rt.close()


@pytest.fixture(scope="package")
def playwright(chromium_path):
    """One Playwright driver for the folder: the sync API can't be started twice in one thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(chromium_path, playwright, tmp_path_factory, google):
    """Chromium with the unpacked extension, Gmail routed to the fake page. Yields (context, service worker, fake)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(chromium_path), headless=True, locale="en-US",
        args=[*CHROMIUM_ARGS, f"--disable-extensions-except={EXTENSION_DIR}",
              f"--load-extension={EXTENSION_DIR}", "--lang=en-US"],
        viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
    fake = FakeGmail(google.state, SENDER)
    fake.install(context)
    yield context, worker, fake
    context.close()


@pytest.fixture(scope="package")
def signed_in(browser, backend):
    """Sign the extension in the way a user does: its options page, the server address, "Sign in with Google"
    (chrome.identity.launchWebAuthFlow through the backend and the auto-approving stand-in)."""
    from playwright.sync_api import expect

    context, worker, fake = browser
    ext = worker.url.split("/")[2]
    page = context.new_page()
    page.goto(f"chrome-extension://{ext}/src/options/options.html")
    page.fill("#backend", backend["base"])
    page.click("#save-backend")
    expect(page.locator("#backend-status")).to_have_text("Saved.")
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text(SENDER)
    token = worker.evaluate("chrome.storage.local.get('session').then((s) => s.session.token)")
    yield {"context": context, "fake": fake, "ext": ext, "options": page,
           "token": token, **backend}


@pytest.fixture
def gmail(signed_in):
    """A Gmail tab with the extension running in it (its "Tracked" entry is the sign that it started)."""
    page = signed_in["context"].new_page()
    messages: list[str] = []
    failed: list[tuple[str, str]] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure or "")))
    page.goto("https://mail.google.com/mail/u/0/#inbox")
    page.wait_for_selector(".mb-nav-tracked")
    page.console_messages = messages  # type: ignore[attr-defined]
    page.failed_requests = failed  # type: ignore[attr-defined]
    yield page
    page.close()


def live_worker(context):
    """The extension's service worker as it is now: Chrome stops and restarts it, and each start is a new one."""
    workers = [w for w in context.service_workers if w.url.endswith("/src/background.js")]
    return workers[-1] if workers else context.wait_for_event("serviceworker")


def stop_worker(context) -> None:
    """What Chrome does to an idle MV3 worker after 30 s, done now (the DevTools protocol closes its target)."""
    session = context.browser.new_browser_cdp_session()
    try:
        targets = session.send("Target.getTargets")["targetInfos"]
        for target in targets:
            if target["type"] == "service_worker" and target["url"].endswith("/src/background.js"):
                session.send("Target.closeTarget", {"targetId": target["targetId"]})
    finally:
        session.detach()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
