"""`mailbeacon demo`: the Google and Microsoft stand-ins, the backend with its in-process worker, two signed-in
senders (Alex on Gmail, Jordan on Outlook), one page.

Everything runs in this process on free loopback ports: the stand-ins (standins.py), the backend in embedded mode
(SQLite, the hit pipeline's in-process worker, send jobs in its in-process pool) with its public URL pointing at
itself so the pixel and the links in the mail come back to it, and the demo page. Each sender is signed in through
their client's real flow (backend → stand-in consent → backend callback → code exchange), so the API tokens the
page's senders use are ordinary ones.
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
from ..devservers.google import RunningStandin as RunningGoogle
from ..devservers.microsoft import RunningStandin as RunningMicrosoft
from ..runtime import Runtime
from .feed import ApiFeed
from .outbox import GmailOutbox, OutlookOutbox
from .recipient import recipient_inboxes
from .sender import DemoError, GmailSender, OutlookSender, SenderClient, pick_sender_address
from .standins import DEMO_EXTENSION_ID, DEMO_OUTLOOK_SENDER, DEMO_RECIPIENT, DEMO_SENDER, StandIns, start_standins
from .webapp import DemoParties, DemoSender, create_demo_app

log = logging.getLogger(__name__)

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
    microsoft_url: str
    gmail_sender: str  # Alex's address, signed in through Google
    outlook_sender: str  # Jordan's, signed in through Microsoft
    recipient_email: str
    sender_address: str | None
    workdir: Path
    runtime: Runtime
    google: RunningGoogle
    microsoft: RunningMicrosoft
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
        return (f"The senders' side (the extension's and the add-in's requests to the backend) leaves from "
                f"{sender_address}, standing for the senders' computers; the recipient's side is this browser. "
                "mailbeacon remembers the addresses its API is used from and calls hits from them the sender's own "
                "(self), so on one address every open here would rightly count as the sender's.")
    if ipaddress.ip_address(demo_host).is_loopback:
        return ("The senders' side and this browser share one address here, so mailbeacon will call the opens "
                "and clicks the sender's own (self): from where it stands, they are. On Linux the demo gives the "
                "senders a second loopback address (127.0.0.2) to tell them apart.")
    return ("The senders' side talks to the backend from this machine. A browser on another machine reads as the "
            "recipient; this machine's own browser shares the senders' address, so its opens count as self.")


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

    standins = start_standins(stack, host)
    backend = _Server(host, 0, "mailbeacon-demo-backend")
    stack.callback(backend.stop)

    database_url = database_url or f"sqlite:///{folder / 'mailbeacon.db'}"
    _prepare_database(database_url)
    env = {
        "MAILBEACON_DATABASE_URL": database_url,
        "MAILBEACON_PUBLIC_URL": backend.url,  # pixels and links in the mail point back at this backend
        "MAILBEACON_SECRET_KEY": secrets.token_urlsafe(32),
        "MAILBEACON_SPOOL_DIR": str(folder / "spool"),
        **standins.backend_env(),
    }
    rt = Runtime(Config.from_env(env))
    stack.callback(rt.close)
    app = build_app(runtime=rt)
    pipeline = pipeline_of(app)
    stack.callback(pipeline.stop)
    pipeline.start_background()  # the embedded worker: hits are classified and stored in-process
    backend.serve(app)
    stack.callback(backend.stop)  # again, so that it stops serving before the pipeline and database close
    standins.register_backend(backend.url)

    sender_address = pick_sender_address(backend.host)
    senders = [_gmail_sender(stack, standins, backend.url, sender_address),
               _outlook_sender(stack, standins, backend.url, sender_address)]
    recipient = standins.google.state.user(DEMO_RECIPIENT)

    page = _Server(host, port, "mailbeacon-demo-page")
    stack.callback(page.stop)
    allowed = {page.netloc}
    if ipaddress.ip_address(page.host).is_loopback:
        allowed.add(f"localhost:{page.port}")
    parties = DemoParties(senders=senders, recipient_email=DEMO_RECIPIENT,
                          recipient_name=recipient.name if recipient else None,
                          address_note=_address_note(sender_address, page.host))
    own = [sender.email for sender in senders]
    page.serve(create_demo_app(
        parties=parties, allowed_hosts=allowed,
        inboxes=lambda: recipient_inboxes(standins.google.state, standins.microsoft.state, senders=own)))
    url = page.url + "/"
    if open_browser:
        webbrowser.open(url)
    return DemoHandle(url=url, backend_url=backend.url, google_url=standins.google.base_url,
                      microsoft_url=standins.microsoft.base_url, gmail_sender=senders[0].email,
                      outlook_sender=senders[1].email, recipient_email=DEMO_RECIPIENT, sender_address=sender_address,
                      workdir=folder, runtime=rt, google=standins.google, microsoft=standins.microsoft,
                      _stack=stack)


def _signed_in(stack: ExitStack, client: SenderClient, login_hint: str):
    stack.callback(client.close)
    return client.sign_in(login_hint=login_hint)


def _gmail_sender(stack: ExitStack, standins: StandIns, backend_url: str, source: str | None) -> DemoSender:
    client = GmailSender(backend_url, source_address=source, extension_id=DEMO_EXTENSION_ID)
    signed_in = _signed_in(stack, client, DEMO_SENDER)
    # The sign-in asks only for the email scope, so the name may come from the stand-in's own account.
    account = standins.google.state.user(signed_in.email)
    name = signed_in.name or (account.name if account else None)
    return DemoSender(key="gmail", service="Gmail", client="the Chrome extension", email=signed_in.email,
                      name=name, feed=ApiFeed(client),
                      outbox=GmailOutbox(standins.google.state, client, email=signed_in.email, name=name))


def _outlook_sender(stack: ExitStack, standins: StandIns, backend_url: str, source: str | None) -> DemoSender:
    client = OutlookSender(backend_url, source_address=source, ca_bundle=standins.microsoft.ca_bundle)
    signed_in = _signed_in(stack, client, DEMO_OUTLOOK_SENDER)
    return DemoSender(key="outlook", service="Outlook", client="the Outlook add-in", email=signed_in.email,
                      name=signed_in.name or standins.microsoft.state.user(signed_in.email).display_name,
                      feed=ApiFeed(client),
                      outbox=OutlookOutbox(standins.microsoft.state, client, email=signed_in.email))
