"""`mailbeacon demo`: the Google stand-in, the backend with its in-process worker, a signed-in sender, one page.

Everything runs in this process on free loopback ports: the stand-in (OAuth and Gmail REST), the backend in
embedded mode (SQLite, the hit pipeline's in-process worker, send jobs in its in-process pool) with its public
URL pointing at itself so the pixel and the links in the mail come back to it, and the demo page. The sender is
signed in through the real flow (backend → stand-in consent → backend callback → code exchange), so the API token
the page's sender uses is an ordinary one.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import shutil
import tempfile
import threading
import webbrowser
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ..config import Config
from ..devservers.google import RunningStandin, serve_google_standin
from ..runtime import Runtime
from .feed import ApiFeed
from .sender import DemoError, SenderClient, pick_sender_address
from .webapp import DemoParties, create_demo_app

log = logging.getLogger(__name__)

# The demo's stand-in Chrome extension: 32 letters a-p, like every Chrome extension id.
DEMO_EXTENSION_ID = ("mbdemo" * 6)[:32]
DEMO_CLIENT_ID = "mailbeacon-demo.apps.googleusercontent.com"
DEMO_SENDER = "alex.sender@example.com"
DEMO_RECIPIENT = "sam.recipient@example.net"
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


class _QuietHandler(WSGIRequestHandler):
    """No request lines on the terminal: paths carry hit tokens and query strings carry sign-in codes."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("demo server answered %s %s", self.command, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("demo server connection error: " + format, *args)


def _not_ready(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
    return [b"starting"]


class _Server:
    """A threaded WSGI server in a background thread. Bound first, given its app once the app knows its URL."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self._server: BaseWSGIServer = make_server(host, port, _not_ready, threaded=True,
                                                   request_handler=_QuietHandler)
        self.host = self._server.socket.getsockname()[0]
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=name, daemon=True)
        self._closed = False

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def serve(self, app) -> None:
        self._server.app = app
        self._thread.start()

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


@dataclass
class DemoHandle:
    """A running demo. ``url`` is the page; ``stop()`` ends everything and removes the temporary data."""

    url: str
    backend_url: str
    google_url: str
    sender_email: str
    recipient_email: str
    sender_address: str | None
    workdir: Path
    runtime: Runtime
    google: RunningStandin
    _stack: ExitStack = field(repr=False)
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False)

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._stack.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stop() (from a signal handler or another thread); True once stopped."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> "DemoHandle":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _check_host(host: str) -> None:
    if host.strip() in _WILDCARDS:
        raise DemoError(f"--host {host!r} is not an address a browser can open; use 127.0.0.1 or this machine's "
                        "own address")


def _address_note(sender_address: str | None, demo_host: str) -> str:
    if sender_address:
        return (f"The sender's side (the extension's requests to the backend) leaves from {sender_address}, "
                "standing for the sender's computer; the recipient's side is this browser. mailbeacon remembers "
                "the addresses its API is used from and calls hits from them the sender's own (self), so on one "
                "address every open here would rightly count as the sender's.")
    if ipaddress.ip_address(demo_host).is_loopback:
        return ("The sender's side and this browser share one address here, so mailbeacon will call the opens "
                "and clicks the sender's own (self): from where it stands, they are. On Linux the demo gives the "
                "sender a second loopback address (127.0.0.2) to tell them apart.")
    return ("The sender's side talks to the backend from this machine. A browser on another machine reads as the "
            "recipient; this machine's own browser shares the sender's address, so its opens count as self.")


def _prepare_database(database_url: str) -> None:
    from ..storage import migrate
    from ..storage.db import Database

    if database_url.startswith("sqlite"):
        migrate.upgrade(database_url)
        return
    db = Database(database_url)
    try:
        current = migrate.current_revision(db.engine)
    finally:
        db.dispose()
    if current != migrate.head_revision():
        raise DemoError("the database schema is not up to date: run `mailbeacon db upgrade` first")


def run_demo(*, host: str = "127.0.0.1", port: int = 0, open_browser: bool = False,
             workdir: str | Path | None = None, database_url: str | None = None) -> DemoHandle:
    """Start the demo and return once its page answers. ``port`` 0 takes a free port.

    Data goes to a temporary folder removed by stop(), unless ``workdir`` names a folder to keep it in;
    ``database_url`` puts it in another database (PostgreSQL must already be migrated).
    """
    _check_host(host)
    stack = ExitStack()
    try:
        return _start(stack, host, port, open_browser, workdir, database_url)
    except BaseException:
        stack.close()
        raise


def _start(stack: ExitStack, host: str, port: int, open_browser: bool, workdir: str | Path | None,
           database_url: str | None) -> DemoHandle:
    from ..web.app import build_app, pipeline_of

    if workdir is None:
        folder = Path(tempfile.mkdtemp(prefix="mailbeacon-demo-"))
        stack.callback(shutil.rmtree, folder, True)
    else:
        folder = Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)

    google = serve_google_standin(host, 0, auto_approve=True)
    stack.callback(google.stop)
    backend = _Server(host, 0, "mailbeacon-demo-backend")
    stack.callback(backend.stop)

    client_secret = secrets.token_urlsafe(24)
    database_url = database_url or f"sqlite:///{folder / 'mailbeacon.db'}"
    _prepare_database(database_url)
    env = {
        "MAILBEACON_DATABASE_URL": database_url,
        "MAILBEACON_PUBLIC_URL": backend.url,  # pixels and links in the mail point back at this backend
        "MAILBEACON_SECRET_KEY": secrets.token_urlsafe(32),
        "MAILBEACON_SPOOL_DIR": str(folder / "spool"),
        "MAILBEACON_GOOGLE_CLIENT_ID": DEMO_CLIENT_ID,
        "MAILBEACON_GOOGLE_CLIENT_SECRET": client_secret,
        "MAILBEACON_GOOGLE_ISSUER": google.base_url,
        "MAILBEACON_GMAIL_API_URL": google.base_url + "/",
        "MAILBEACON_EXTENSION_IDS": DEMO_EXTENSION_ID,
    }
    rt = Runtime(Config.from_env(env))
    stack.callback(rt.close)
    app = build_app(runtime=rt)
    pipeline = pipeline_of(app)
    stack.callback(pipeline.stop)
    pipeline.start_background()  # the embedded worker: hits are classified and stored in-process
    backend.serve(app)
    stack.callback(backend.stop)  # again, so that it stops serving before the pipeline and database close
    google.state.register_client(DEMO_CLIENT_ID, client_secret, name="mailbeacon demo",
                                 redirect_uris=[f"{backend.url}/auth/google/callback"])

    sender_address = pick_sender_address(backend.host)
    sender = SenderClient(backend.url, source_address=sender_address, extension_id=DEMO_EXTENSION_ID)
    stack.callback(sender.close)
    signed_in = sender.sign_in(login_hint=DEMO_SENDER)
    # The sign-in asks only for the email scope, so names come from the stand-in's own accounts.
    sender_account, recipient = google.state.user(signed_in.email), google.state.user(DEMO_RECIPIENT)

    page = _Server(host, port, "mailbeacon-demo-page")
    stack.callback(page.stop)
    allowed = {page.netloc}
    if ipaddress.ip_address(page.host).is_loopback:
        allowed.add(f"localhost:{page.port}")
    parties = DemoParties(sender_email=signed_in.email,
                          sender_name=signed_in.name or (sender_account.name if sender_account else None),
                          recipient_email=DEMO_RECIPIENT, recipient_name=recipient.name if recipient else None,
                          address_note=_address_note(sender_address, page.host))
    page.serve(create_demo_app(parties=parties, google=google.state, sender=sender,
                               feed=ApiFeed(sender), allowed_hosts=allowed))
    url = page.url + "/"
    if open_browser:
        webbrowser.open(url)
    return DemoHandle(url=url, backend_url=backend.url, google_url=google.base_url, sender_email=signed_in.email,
                      recipient_email=DEMO_RECIPIENT, sender_address=sender_address, workdir=folder, runtime=rt,
                      google=google, _stack=stack)
