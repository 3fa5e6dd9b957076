"""A local Microsoft: identity platform v2.0 and Graph v1.0 over real TLS, for msal and requests.

    with serve_microsoft_standin(auto_approve=True) as ms:
        app = msal.ConfidentialClientApplication(
            DEFAULT_CLIENT_ID, client_credential=DEFAULT_CLIENT_SECRET,
            authority=ms.authority("common"), instance_discovery=False, http_client=ms.http_session())
        requests.get(f"{ms.graph_url}/me", headers=..., verify=ms.ca_bundle)

msal refuses plain-HTTP authorities, so the server always speaks TLS with a certificate from a CA made
at start (trustme); `ca_bundle` is that CA's PEM for `verify=`. Nothing is patched in the client: the
server speaks the protocol.

Beware: msal's own `verify=` sets a requests Session's `verify`, which requests lets the environment's
REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override. Where those are set (CI images often set them), hand msal
`http_client=` a session built like `http_session()` instead.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import trustme
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .microsoft_admin import build_admin_blueprint
from .microsoft_directory import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from .microsoft_graph import build_graph_blueprint, build_userinfo_blueprint
from .microsoft_identity import build_identity_blueprint
from .microsoft_state import DEFAULT_ACCESS_TOKEN_LIFETIME, MicrosoftState

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "MicrosoftStandinApp",
    "RunningStandin",
    "create_microsoft_standin",
    "serve_microsoft_standin",
]

log = logging.getLogger(__name__)


@dataclass
class MicrosoftStandinApp:
    """The stand-in as a WSGI application, with the state its switches live on."""

    flask_app: Flask
    state: MicrosoftState

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.flask_app(environ, start_response)


def create_microsoft_standin(
    *,
    auto_approve: bool = False,
    access_token_lifetime: int = DEFAULT_ACCESS_TOKEN_LIFETIME,
    base_url: str = "https://127.0.0.1",
) -> MicrosoftStandinApp:
    state = MicrosoftState(auto_approve=auto_approve, access_token_lifetime=access_token_lifetime, base_url=base_url)
    flask_app = Flask(__name__)
    flask_app.json.sort_keys = False  # keep Graph's and Entra's property order
    flask_app.register_blueprint(build_identity_blueprint(state))
    flask_app.register_blueprint(build_graph_blueprint(state), url_prefix="/v1.0")
    flask_app.register_blueprint(build_userinfo_blueprint(state))
    flask_app.register_blueprint(build_admin_blueprint(state))
    return MicrosoftStandinApp(flask_app, state)


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs method, path and status at debug level; never the query string, which can carry codes."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("microsoft stand-in: " + format, *args)


class RunningStandin:
    """A stand-in serving on a real TLS socket in a background thread."""

    def __init__(self, server: BaseWSGIServer, app: MicrosoftStandinApp, workdir: Path, ca_bundle: Path) -> None:
        self._server = server
        self._workdir = workdir
        self.app = app
        self.state = app.state
        self.ca_bundle = str(ca_bundle)
        host = server.server_address[0]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"https://{shown}:{server.server_port}"
        self.state.base_url = self.base_url
        self._thread = threading.Thread(target=server.serve_forever, name="microsoft-standin", daemon=True)
        self._thread.start()

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def instance_discovery_url(self) -> str:
        """Pass as msal's `instance_discovery=` to keep msal's authority validation switched on."""
        return f"{self.base_url}/common/discovery/instance"

    def authority(self, tenant: str = "common") -> str:
        return f"{self.base_url}/{tenant}"

    def http_session(self) -> requests.Session:
        """A requests session that trusts the stand-in's CA (give it to msal as `http_client`).

        `trust_env` is off because requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's
        `verify`, and a proxy from the environment has no business seeing loopback traffic. A per-request
        `verify=ca_bundle` is not overridden, so plain `requests.get(..., verify=ms.ca_bundle)` works too.
        """
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        return session

    def msal_app(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_credential: str | None = DEFAULT_CLIENT_SECRET,
        tenant: str = "common",
        **kwargs: Any,
    ) -> Any:
        """An msal ConfidentialClientApplication wired to this stand-in (imported lazily)."""
        import msal

        kwargs.setdefault("instance_discovery", False)
        kwargs.setdefault("http_client", self.http_session())
        return msal.ConfidentialClientApplication(
            client_id, client_credential=client_credential, authority=self.authority(tenant), **kwargs
        )

    def sign_in_with_msal(
        self,
        app: Any,
        scopes: list[str],
        *,
        account: str | None = None,
        redirect_uri: str = "http://127.0.0.1/auth/microsoft/callback",
        response_mode: str = "form_post",
    ) -> dict[str, Any]:
        """Run msal's whole auth-code flow (PKCE, state, nonce) against the stand-in; return msal's result.

        `account` (a UPN) is sent as login_hint when auto-approving and clicked on the consent page
        otherwise.
        """
        auto = self.state.auto_approve
        flow = app.initiate_auth_code_flow(
            scopes, redirect_uri=redirect_uri, response_mode=response_mode, login_hint=account if auto else None
        )
        auth_response = self.complete_authorization(flow["auth_uri"], account=None if auto else account)
        return app.acquire_token_by_auth_code_flow(flow, auth_response)

    def complete_authorization(self, auth_uri: str, *, account: str | None = None) -> dict[str, str]:
        """Play the person at the authorize page and return the redirect's parameters.

        With `account` (a UPN) the consent form is submitted for that account, as a click would;
        without it the stand-in must be auto-approving. The result is what msal's
        `acquire_token_by_auth_code_flow` takes as `auth_response`.
        """
        with self.http_session() as session:
            response = session.get(auth_uri, allow_redirects=False)
            if account is not None and response.status_code == 200:
                form = dict(parse_qsl(urlsplit(auth_uri).query))
                form.update(account=self.state.user(account).oid, decision="accept")
                response = session.post(auth_uri.split("?")[0], data=form, allow_redirects=False)
            if response.status_code == 200 and 'id="form_post"' in response.text:
                return _form_post_fields(response.text)
            if response.status_code != 302:
                raise RuntimeError(f"authorize did not redirect (HTTP {response.status_code})")
            location = urlsplit(response.headers["Location"])
            return dict(parse_qsl(location.fragment or location.query))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> RunningStandin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


def _form_post_fields(page: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(page)
    return parser.fields


def serve_microsoft_standin(
    host: str = "127.0.0.1", port: int = 0, *, auto_approve: bool = False, **kwargs: Any
) -> RunningStandin:
    """Start the stand-in on https://host:port (port 0: any free port) and return it running."""
    app = create_microsoft_standin(auto_approve=auto_approve, **kwargs)
    ca = trustme.CA(organization_name="mailbeacon Microsoft stand-in")
    certificate = ca.issue_cert("127.0.0.1", "localhost", "::1", *([host] if host not in ("127.0.0.1", "::1") else []))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    workdir = Path(tempfile.mkdtemp(prefix="mailbeacon-ms-standin-"))
    ca_bundle = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    try:
        server = make_server(host, port, app, threaded=True, ssl_context=context,
                             request_handler=_QuietRequestHandler)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return RunningStandin(server, app, workdir, ca_bundle)
