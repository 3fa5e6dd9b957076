"""A local stand-in for Google: OpenID Connect / OAuth 2.0 and the Gmail REST API on one base URL.

The real client libraries (authlib, google-auth, google-api-python-client) talk to it unpatched::

    with serve_google_standin(auto_approve=True) as google:
        gmail = build("gmail", "v1", credentials=creds, static_discovery=True,
                      client_options={"api_endpoint": google.base_url})

``google.state`` steers it (accounts, injected faults, stale drafts, lost responses, revocation) and
shows what was sent; ``/_standin/`` exposes the same switches as JSON for other processes, and
``/_standin/mail`` shows the stand-in mailboxes to a person running the demo.
"""

from __future__ import annotations

import logging
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import google_admin, google_gmail, google_oauth
from .google_errors import (
    GoogleApiError,
    OAuthError,
    api_not_found_page,
    backend_error,
    oauth_fault,
    rate_limited,
)
from .google_faults import GMAIL_OPERATIONS
from .google_http import CallContext
from .google_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleState
from .google_uploads import continue_resumable, finished_input, is_resumable_start, is_upload

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "GoogleState",
    "RunningStandin",
    "StandinApp",
    "create_google_standin",
    "serve_google_standin",
]

log = logging.getLogger(__name__)

_GMAIL = "/gmail/v1/users/<userId>"
_UPLOAD = "/upload/gmail/v1/users/<userId>"


def _url_map() -> Map:
    def rule(path: str, endpoint: str, *methods: str) -> Rule:
        return Rule(path, endpoint=endpoint, methods=list(methods))

    return Map(
        [
            rule("/.well-known/openid-configuration", "oidc.discovery", "GET"),
            rule("/o/oauth2/v2/auth", "oauth.authorize", "GET", "POST"),
            rule("/o/oauth2/v2/decision", "oauth.decision", "POST"),
            rule("/token", "oauth.token", "POST"),
            rule("/revoke", "oauth.revoke", "GET", "POST"),
            rule("/v1/userinfo", "oauth.userinfo", "GET", "POST"),
            rule("/oauth2/v3/userinfo", "oauth.userinfo", "GET", "POST"),
            rule("/oauth2/v3/certs", "oauth.certs", "GET"),
            rule("/tokeninfo", "oauth.tokeninfo", "GET", "POST"),
            rule("/oauth2/v3/tokeninfo", "oauth.tokeninfo", "GET", "POST"),
            rule(f"{_GMAIL}/profile", "users.getProfile", "GET"),
            rule(f"{_GMAIL}/labels", "users.labels.list", "GET"),
            rule(f"{_GMAIL}/drafts", "users.drafts.list", "GET"),
            rule(f"{_GMAIL}/drafts", "users.drafts.create", "POST"),
            rule(f"{_UPLOAD}/drafts", "users.drafts.create", "POST"),
            rule(f"{_GMAIL}/drafts/send", "users.drafts.send", "POST"),
            rule(f"{_UPLOAD}/drafts/send", "users.drafts.send", "POST"),
            rule(f"{_GMAIL}/drafts/<id>", "users.drafts.get", "GET"),
            rule(f"{_GMAIL}/drafts/<id>", "users.drafts.update", "PUT"),
            rule(f"{_UPLOAD}/drafts/<id>", "users.drafts.update", "PUT"),
            rule(f"{_GMAIL}/drafts/<id>", "users.drafts.delete", "DELETE"),
            rule(f"{_GMAIL}/messages", "users.messages.list", "GET"),
            rule(f"{_GMAIL}/messages/send", "users.messages.send", "POST"),
            rule(f"{_UPLOAD}/messages/send", "users.messages.send", "POST"),
            rule(f"{_GMAIL}/messages/<id>", "users.messages.get", "GET"),
            rule(f"{_GMAIL}/messages/<messageId>/attachments/<id>", "users.messages.attachments.get", "GET"),
            rule(f"{_GMAIL}/threads", "users.threads.list", "GET"),
            rule(f"{_GMAIL}/threads/<id>", "users.threads.get", "GET"),
            rule("/_standin/", "admin.describe", "GET"),
            rule("/_standin/settings", "admin.settings", "POST"),
            rule("/_standin/users", "admin.add_user", "POST"),
            rule("/_standin/clients", "admin.register_client", "POST"),
            rule("/_standin/faults", "admin.fail_next", "POST"),
            rule("/_standin/delay", "admin.set_delay", "POST"),
            rule("/_standin/stale-drafts", "admin.stale_drafts", "POST"),
            rule("/_standin/lost-responses", "admin.lose_response", "POST"),
            rule("/_standin/revoke", "admin.revoke", "POST"),
            rule("/_standin/expire-tokens", "admin.expire_tokens", "POST"),
            rule("/_standin/drafts", "admin.save_draft", "POST"),
            rule("/_standin/deliveries", "admin.deliver", "POST"),
            rule("/_standin/sent", "admin.sent", "GET"),
            rule("/_standin/mailboxes/<email>", "admin.mailbox", "GET"),
            rule("/_standin/reset", "admin.reset", "POST"),
            rule("/_standin/mail", "admin.mail_index", "GET"),
            rule("/_standin/mail/<email>", "admin.mail_list", "GET"),
            rule("/_standin/mail/<email>/<id>", "admin.mail_message", "GET"),
        ],
        strict_slashes=False,
    )


_HANDLERS = {**google_oauth.HANDLERS, **google_gmail.HANDLERS}


class StandinApp:
    """The WSGI application. ``state`` is the :class:`GoogleState` it serves."""

    def __init__(self, state: GoogleState) -> None:
        self.state = state
        self._url_map = _url_map()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if is_upload(request) and "upload_id" in request.args:
            outcome = continue_resumable(self.state, request)
            if isinstance(outcome, Response):
                return outcome
            context = CallContext(self.state, request, outcome.operation, finished_input(outcome))
            return self._perform(context, outcome.view_args)
        try:
            endpoint, args = self._url_map.bind_to_environ(request.environ).match()
        except NotFound:
            return api_not_found_page()
        except MethodNotAllowed:
            return api_not_found_page() if request.path.startswith(("/gmail/", "/upload/")) else Response(
                b"Method Not Allowed", status=405
            )
        except HTTPException as redirect:  # a trailing-slash redirect
            return redirect.get_response(request.environ)  # type: ignore[return-value]
        context = CallContext(self.state, request, endpoint)
        if endpoint.startswith("admin."):
            return google_admin.run(context, endpoint, args)
        return self._perform(context, args)

    def _perform(self, context: CallContext, args: dict[str, Any]) -> Response:
        operation = context.operation
        faults = self.state.faults
        gmail = operation in GMAIL_OPERATIONS
        delay = faults.delay_for(operation)
        if delay:
            self.state.sleep(delay)
        failure = faults.take_failure(operation)
        if failure is not None:
            if not gmail:
                return oauth_fault(failure.status, failure.retry_after).response()
            if failure.status == 429:
                return rate_limited(failure.retry_after).response()
            return backend_error(failure.status).response()
        try:
            if gmail and context.upload is None and is_resumable_start(context.request):
                response = google_gmail.start_upload(context, args)
            else:
                response = _HANDLERS[operation](context, **args)
        except (GoogleApiError, OAuthError) as error:
            response = error.response()
        if response.status_code < 400 and response.status_code != 308:
            mode = faults.take_lost_response(operation)
            if mode is not None:
                return self._lose(context.request, mode, gmail)
        return response

    @staticmethod
    def _lose(request: Request, mode: str, gmail: bool) -> Response:
        """The work is done; now make the client believe it failed."""
        connection = request.environ.get("werkzeug.socket")
        if mode == "drop" and connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            # Whatever is written next hits a dead socket; werkzeug treats that as a dropped client.
            return Response(b"", status=500)
        return backend_error(500).response() if gmail else oauth_fault(500, None).response()


def create_google_standin(
    *, auto_approve: bool = False, access_token_lifetime: int = 3600, base_url: str | None = None
) -> StandinApp:
    """A stand-in WSGI app. Without ``base_url`` the issuer is taken from each request's host."""
    state = GoogleState(auto_approve=auto_approve, access_token_lifetime=access_token_lifetime)
    state.base_url = base_url.rstrip("/") if base_url else None
    return StandinApp(state)


class _QuietHandler(WSGIRequestHandler):
    """Log method and path only: query strings can carry tokens (``/revoke?token=``)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("stand-in connection error: " + format, *args)


class RunningStandin:
    """A stand-in serving on a real socket in a background thread. Use as a context manager."""

    def __init__(self, server: BaseWSGIServer, app: StandinApp, base_url: str, ca_path: Path | None) -> None:
        self._server = server
        self.app = app
        self.state = app.state
        self.base_url = base_url
        # With tls=True: a PEM file of the throwaway CA that signed the server certificate.
        self.ca_path = ca_path
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="google-standin", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self.ca_path is not None:
            self.ca_path.unlink(missing_ok=True)

    def __enter__(self) -> RunningStandin:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _tls_context(host: str) -> tuple[ssl.SSLContext, Path]:
    import trustme  # only needed for TLS; a project dependency

    authority = trustme.CA()
    certificate = authority.issue_cert(host, "127.0.0.1", "localhost", "::1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    handle = tempfile.NamedTemporaryFile(prefix="google-standin-ca-", suffix=".pem", delete=False)
    with handle:
        handle.write(authority.cert_pem.bytes())
    return context, Path(handle.name)


def serve_google_standin(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: bool = False,
    auto_approve: bool = False,
    access_token_lifetime: int = 3600,
) -> RunningStandin:
    """Start the stand-in on ``host:port`` (port 0: any free port) and return once it accepts requests.

    With ``tls=True`` it serves HTTPS with a certificate from a throwaway CA (``.ca_path``), which
    google-api-python-client needs for media uploads (see :mod:`.google_uploads`).
    """
    app = create_google_standin(auto_approve=auto_approve, access_token_lifetime=access_token_lifetime)
    context, ca_path = _tls_context(host) if tls else (None, None)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler, ssl_context=context)
    bound_port = server.socket.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"{'https' if tls else 'http'}://{shown_host}:{bound_port}"
    app.state.base_url = base_url
    return RunningStandin(server, app, base_url, ca_path)
