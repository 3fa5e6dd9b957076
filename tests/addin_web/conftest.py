"""The add-in in a real headless Chromium, against the real backend over HTTPS and the Microsoft stand-in.

- `ms`: the Microsoft stand-in (identity platform and Graph over TLS), one per session, reset for every test.
- `backend`: build_app on a threaded werkzeug server with its own TLS certificate, on a port the OS picks, its
  public URL that address, configured only through MAILBEACON_* variables. It serves the add-in under /addin/.
- `outlook(...)`: a browser context playing Outlook: https://outlook.test/ is the Outlook window (shell.html), in
  which the task pane and the event runtime load from the backend; office.js is answered with the stand-in
  (office-standin.js), whose host is an OfficeHost (office_host.py) answering through a Playwright binding.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import trustme
from werkzeug.serving import make_server

from mailbeacon.config import Config
from mailbeacon.devservers.microsoft import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, serve_microsoft_standin
from mailbeacon.runtime import Runtime
from mailbeacon.web.app import build_app, pipeline_of

from ..conftest import service_missing
from .office_host import ComposeItem, OfficeHost

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
    "PrivateNetworkAccessSendPreflights",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "addin"
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
SHELL = "https://outlook.test/"
WORK = "sam.seller@contoso.onmicrosoft.com"
RECIPIENT = "rita.recipient@fabrikam.onmicrosoft.com"
RECIPIENT_ADDRESS = "127.0.0.2"  # the recipient's computer; the sender's browser is 127.0.0.1
RECIPIENT_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/131.0.0.0 Safari/537.36")
WAIT_MS = 20_000


@pytest.fixture(scope="session")
def running_standin():
    with serve_microsoft_standin(auto_approve=True) as standin:
        yield standin


@pytest.fixture
def ms(running_standin):
    running_standin.state.reset()
    return running_standin


@pytest.fixture(scope="session")
def tls():
    """A CA of our own and a certificate for 127.0.0.1 from it: the backend speaks HTTPS, as Outlook demands."""
    ca = trustme.CA(organization_name="mailbeacon add-in tests")
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    folder = Path(tempfile.mkdtemp(prefix="mailbeacon-addin-tls-"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    yield certificate, folder / "ca.pem"
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Backend:
    url: str
    rt: Runtime
    app: object
    ca_bundle: str

    def fetch_as_recipient(self, url: str) -> http.client.HTTPResponse:
        """GET a pixel or link from the recipient's address with a desktop browser's user agent."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == self.url, url
        context = ssl.create_default_context(cafile=self.ca_bundle)
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=10,
                                                 source_address=(RECIPIENT_ADDRESS, 0))
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers={"User-Agent": RECIPIENT_AGENT, "Accept": "image/avif,image/webp,*/*"})
        response = connection.getresponse()
        response.body = response.read()
        connection.close()
        return response

    def wait_for(self, check, timeout: float = 15.0):
        """Poll the database until `check(session)` is truthy (the hit pipeline and jobs run in threads)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.rt.db.session() as session:
                value = check(session)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)


@pytest.fixture
def backend(config_env, ms, tls):
    from mailbeacon.jobs import context

    certificate, ca_bundle = tls
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    env = {**config_env,
           "MAILBEACON_PUBLIC_URL": url,
           "MAILBEACON_MICROSOFT_CLIENT_ID": DEFAULT_CLIENT_ID,
           "MAILBEACON_MICROSOFT_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
           "MAILBEACON_MICROSOFT_AUTHORITY": ms.base_url,
           "MAILBEACON_MICROSOFT_GRAPH_URL": ms.graph_url,
           "MAILBEACON_MICROSOFT_CA_BUNDLE": ms.ca_bundle,
           "MAILBEACON_MICROSOFT_API_APP_ID_URI": f"api://{DEFAULT_CLIENT_ID}"}
    # Microsoft only hands sign-ins back to registered redirect URIs: ours is this server's callback.
    ms.state.directory.apps[DEFAULT_CLIENT_ID].redirect_uris = (f"{url}/auth/microsoft/callback",)
    rt = Runtime(Config.from_env(env))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(tls_context)
    server = make_server("127.0.0.1", 0, app, threaded=True, fd=listener.fileno())
    # TLS with the handshake in each connection's own thread: werkzeug's ssl_context= shakes hands inside its
    # accept loop, one client at a time, and Chromium, opening many connections at once, gives some of them up
    # (net::ERR_TOO_MANY_RETRIES on a page's last stylesheet).
    server.socket = tls_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.ssl_context = tls_context  # what werkzeug reads to call the requests https
    thread = threading.Thread(target=server.serve_forever, name="addin-backend", daemon=True)
    thread.start()
    yield Backend(url=url, rt=rt, app=app, ca_bundle=str(ca_bundle))
    server.shutdown()
    server.server_close()
    listener.close()
    pipeline_of(app).stop()
    rt.close()


# Module scope, not session: a second sync_playwright() (tests/demo, tests/extension) can't start in this thread
# while one is running.
@pytest.fixture(scope="module")
def addin_browser():
    if not CHROMIUM.exists():
        service_missing("Debian's chromium", f"{CHROMIUM} is absent (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Outlook:
    """One Outlook window in its own browser context: the shell page, its task pane and event runtime."""

    def __init__(self, browser, backend: Backend, host: OfficeHost, name: str) -> None:
        self.backend, self.host, self.name = backend, host, name
        self.context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 820})
        self.context.expose_binding("__officeHost", host.binding)
        standin = (HERE / "office-standin.js").read_text(encoding="utf-8")
        shell = (HERE / "shell.html").read_text(encoding="utf-8")
        self.context.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, body=standin, content_type="text/javascript; charset=utf-8"))
        self.context.route(f"{SHELL}**", lambda route: route.fulfill(
            status=200, body=shell, content_type="text/html; charset=utf-8"))
        self.page = None
        self.shots = 0
        self.console: list[str] = []  # the pages' errors, printed by pytest when a test fails

    def _watch(self, page) -> None:
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") and "img-src data:" not in m.text else None)
        page.on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))
        # The Outlook window blocks remote images in bodies (a CSP failure there is the pixel, as intended).
        page.on("requestfailed", lambda r: r.failure == "csp" or self.console.append(
            f"request failed: {r.url} {r.failure}"))

    @property
    def pane(self):
        return self.page.frame_locator("#taskpane")

    def pane_frame(self):
        return next(f for f in self.page.frames if "/addin/taskpane/" in f.url)

    def runtime_frame(self):
        return next(f for f in self.page.frames if "/addin/commands/" in f.url)

    def open(self, *, runtime: bool = True) -> "Outlook":
        pane = quote(f"{self.backend.url}/addin/taskpane/taskpane.html", safe="")
        url = f"{SHELL}?pane={pane}"
        if runtime:
            url += "&runtime=" + quote(f"{self.backend.url}/addin/commands/commands.html", safe="")
        self.page = self.context.new_page()
        self._watch(self.page)
        self.page.goto(url)
        self.render()
        if runtime:
            self.page.wait_for_function("() => [...document.querySelectorAll('iframe')].length > 0")
            self.wait_until(lambda: self._runtime_ready())
        return self

    def _runtime_ready(self) -> bool:
        try:
            return bool(self.runtime_frame().evaluate(
                "() => Boolean(window.__officeStandin && window.__officeStandin.associated.onMessageSendHandler)"))
        except StopIteration:
            return False

    def render(self) -> None:
        self.page.evaluate("state => window.shell.render(state)", self.host.shell_state())

    def wait_until(self, predicate, timeout_ms: int = WAIT_MS):
        """Wait for a condition on the Python side while the page keeps running (bindings are served meanwhile)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {getattr(predicate, '__name__', 'a condition')}")
            self.page.wait_for_timeout(50)

    def send(self) -> dict:
        """The person selects Send: Outlook raises OnMessageSend in the event runtime; returns what it completed."""
        before = len(self.host.completions)
        self.runtime_frame().evaluate("() => window.__officeStandin.fire('onMessageSendHandler')")
        self.wait_until(lambda: len(self.host.completions) > before, timeout_ms=90_000)
        self.render()
        return self.host.completions[-1]

    def show_read(self, message) -> None:
        """Select a message in Sent Items: the shell shows it and the task pane opens on it."""
        self.host.read = message
        self.host.read_notifications = {}
        self.render()
        self.page.evaluate("() => window.shell.reloadPane()")

    def screenshot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        self.render()
        path = ARTIFACTS / f"{self.name}-{self.shots}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        for line in self.console:
            print(f"[{self.name}] {line}")
        self.context.close()


@pytest.fixture
def outlook(addin_browser, backend, ms, request):
    opened: list[Outlook] = []

    def make(*, host_name: str = "OutlookWebApp", platform: str = "OfficeOnline", language: str = "en-US",
             compose: ComposeItem | None = None, sso_error: int | None = None) -> Outlook:
        host = OfficeHost(ms, user=WORK, language=language, host_name=host_name, platform=platform)
        host.compose = compose
        host.sso_error = sso_error
        name = request.node.originalname.removeprefix("test_")[:48]
        variant = getattr(getattr(request.node, "callspec", None), "id", "")
        window = Outlook(addin_browser, backend, host, name=f"{name}-{variant}" if variant else name)
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.close()
