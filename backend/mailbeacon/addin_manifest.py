"""The Outlook add-in's XML manifest, written for one deployment's public URL.

An XML manifest (not the unified JSON one) because only it installs as a line-of-business add-in on Mac, mobile
and older Windows. Outlook loads every page, script and icon the manifest names from the backend, so the
manifest is tied to the URL the backend is reachable at: `render_manifest` fills the template shipped in
`data/addin/manifest.template.xml` for that URL, and `mailbeacon addin-manifest` writes it out.

Pure: no network, no database; the only configuration read is `Config.from_env()` for the default public URL.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
import tempfile
import uuid
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import click

# The committed addin-manifest/manifest.xml is rendered for this URL (and the localhost variant for the second),
# with the default app id and version; a test keeps them equal to what render_manifest makes.
EXAMPLE_PUBLIC_URL = "https://mailbeacon.example.com"
DEFAULT_LOCALHOST_URL = "https://localhost:3000"

# Names the add-in's JavaScript has to use: commands.js must register the handler with
# Office.actions.associate(SEND_HANDLER, ...), and a Smart Alerts dialog's commandId opens COMPOSE_BUTTON_ID.
SEND_HANDLER = "onMessageSendHandler"
COMPOSE_BUTTON_ID = "mbComposeButton"

# Paths under <public URL>/addin/ that the manifest points at; the backend must serve each of them.
MANIFEST_WEB_PATHS = (
    "assets/icon-16.png",
    "assets/icon-32.png",
    "assets/icon-64.png",
    "assets/icon-80.png",
    "assets/icon-128.png",
    "commands/commands.html",
    "commands/commands.js",
    "taskpane/taskpane.html",
)

# Graph permissions the single sign-on token is consented for; the backend trades it on-behalf-of for these.
SSO_SCOPES = ("openid", "profile", "offline_access", "User.Read", "Mail.ReadWrite", "Mail.Send")

# What Office accepts in <Version>: one to four dot-separated numbers of up to five digits.
_VERSION = re.compile(r"[0-9]{1,5}(\.[0-9]{1,5}){0,3}")
# Characters that are never valid unescaped in a URL and would make Outlook reject or mangle it.
_BAD_URL_CHARACTERS = re.compile(r"[\s\"<>\\^`{|}]")
# The schema's limits: an AppDomain is a LongString (250), a URL at most 2048 characters.
_MAX_ORIGIN = 250
_MAX_URL = 2048
_LONGEST_WEB_PATH = max(len("/addin/" + path) for path in MANIFEST_WEB_PATHS)


class ManifestError(ValueError):
    """An argument that cannot make a manifest Outlook would install; the message says what to change."""


def render_manifest(public_url: str, *, app_id: str, version: str, localhost: bool = False,
                    sso_client_id: str | None = None, support_url: str | None = None) -> str:
    """The manifest for a backend reachable at `public_url` (its web files under `<public_url>/addin/`).

    `localhost` makes the development variant: the URL must then be https://localhost[:PORT] and the display
    name says "(localhost)"; otherwise a loopback URL is refused, so a dev manifest can't be shipped by mistake.
    `sso_client_id` (the backend's Entra application id) adds WebApplicationInfo for Office single sign-on.
    """
    base_url, origin, authority = _base_url(public_url, localhost=localhost)
    fields = {
        "app_id": _uuid(app_id, "app id"),
        "version": _version(version),
        "name_suffix": " (localhost)" if localhost else "",
        "base_url": base_url,
        "origin": origin,
        "support_url": _support_url(support_url, localhost=localhost) if support_url else base_url + "/",
        "send_handler": SEND_HANDLER,
    }
    sso = _web_application_info(_uuid(sso_client_id, "SSO client id"), authority) if sso_client_id else ""
    template = re.sub(r"^[ \t]*\$\{web_application_info\}\n", lambda _: sso, _template(), flags=re.MULTILINE)
    return string.Template(template).substitute({key: _xml(value) for key, value in fields.items()})


def default_app_id(public_url: str, *, localhost: bool = False) -> str:
    """A stable id per deployment: the same URL always gives the same id, so a regenerated manifest updates the
    installed add-in instead of adding a second one, and a staging and a production add-in can sit side by side."""
    base_url, _, _ = _base_url(public_url, localhost=localhost)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mailbeacon-outlook-addin:" + base_url))


def default_manifest_version() -> str:
    """The package's release number in Office's four-part form: 0.1.0 -> 0.1.0.0, 1.2.0rc1 -> 1.2.0.0."""
    from . import __version__

    release = re.match(r"[0-9]+(\.[0-9]+)*", __version__)
    parts = release.group(0).split(".")[:4] if release else ["0"]
    return ".".join(parts + ["0"] * (4 - len(parts)))


def _base_url(public_url: str, *, localhost: bool) -> tuple[str, str, str]:
    """(base URL without trailing slash, origin, host[:port]) after checking Outlook would load from it."""
    raw = public_url.strip()
    if _BAD_URL_CHARACTERS.search(raw):
        raise ManifestError(f"public URL {raw!r} contains characters that are not allowed in a URL")
    parts = urlsplit(raw)
    if parts.scheme.lower() != "https":
        hint = " (use https://localhost:PORT for development)" if localhost else ""
        raise ManifestError(f"public URL {raw!r} is not https://…: Outlook loads add-ins only over HTTPS{hint}")
    if parts.username is not None or parts.password is not None:
        raise ManifestError("public URL must not carry a user name or password")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ManifestError("public URL must not have a query or fragment")
    try:
        port = parts.port
    except ValueError:
        raise ManifestError(f"public URL {raw!r} has an invalid port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ManifestError(f"public URL {raw!r} has no host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ManifestError(f"public URL host {host!r} is not a valid domain name") from None
    if localhost and host != "localhost":
        raise ManifestError(f"--localhost needs a public URL on https://localhost[:PORT], not {raw!r}")
    if not localhost and _is_loopback(host):
        raise ManifestError(f"public URL {raw!r} is a loopback address: use --localhost for a development manifest")
    authority = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        authority += f":{port}"
    origin = "https://" + authority
    base_url = origin + parts.path.rstrip("/")
    if len(origin) > _MAX_ORIGIN or len(base_url) + _LONGEST_WEB_PATH > _MAX_URL:
        raise ManifestError("public URL is too long for an Office manifest")
    return base_url, origin, authority


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _support_url(url: str, *, localhost: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname or _BAD_URL_CHARACTERS.search(url.strip()):
        raise ManifestError(f"support URL {url!r} must be an https:// URL")
    if not localhost and _is_loopback(parts.hostname):
        raise ManifestError(f"support URL {url!r} is a loopback address")
    if len(url.strip()) > _MAX_URL:
        raise ManifestError("support URL is too long for an Office manifest")
    return url.strip()


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise ManifestError(f"{what} {value!r} is not a GUID such as 3f2b1c9e-0d4a-4e4f-9b7a-2c6d8e1f0a5b") from None


def _version(value: str) -> str:
    value = value.strip()
    if not _VERSION.fullmatch(value):
        raise ManifestError(f"version {value!r} is not one to four numbers separated by dots, such as 1.2.0.0")
    return value


def _web_application_info(client_id: str, authority: str) -> str:
    # The application ID URI must be api://<the add-in's host>/<client id> for Office to issue the SSO token.
    scopes = "".join(f"          <Scope>{_xml(scope)}</Scope>\n" for scope in SSO_SCOPES)
    return ("      <WebApplicationInfo>\n"
            f"        <Id>{client_id}</Id>\n"
            f"        <Resource>api://{_xml(authority)}/{client_id}</Resource>\n"
            "        <Scopes>\n"
            f"{scopes}"
            "        </Scopes>\n"
            "      </WebApplicationInfo>\n")


def _xml(value: str) -> str:
    return escape(value, {'"': "&quot;"})


@cache
def _template() -> str:
    return resources.files("mailbeacon").joinpath("data", "addin", "manifest.template.xml").read_text("utf-8")


@click.command("addin-manifest")
@click.option("--public-url", metavar="URL",
              help="HTTPS base URL the backend is reachable at (default: MAILBEACON_PUBLIC_URL; "
                   f"with --localhost, {DEFAULT_LOCALHOST_URL}).")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the manifest here instead of to standard output.")
@click.option("--localhost", is_flag=True, help="The development variant, served from https://localhost:PORT.")
@click.option("--app-id", metavar="GUID", help="Add-in id (default: derived from the public URL, stable).")
@click.option("--version", "manifest_version", metavar="N.N.N.N",
              help="Manifest version (default: the mailbeacon release, e.g. 0.1.0.0).")
@click.option("--sso-client-id", metavar="GUID", help="Entra application id, to enable Office single sign-on.")
@click.option("--support-url", metavar="URL", help="Help page shown by Outlook (default: the public URL).")
def addin_manifest_command(public_url: str | None, output: Path | None, localhost: bool, app_id: str | None,
                           manifest_version: str | None, sso_client_id: str | None,
                           support_url: str | None) -> None:
    """Write the Outlook add-in's XML manifest for this deployment's public URL."""
    from .cli import UserError, load_config  # deferred: cli.py imports this module to register the command

    hint = ""
    if public_url is None and localhost:
        public_url = DEFAULT_LOCALHOST_URL
    elif public_url is None:
        public_url = load_config().public_url
        hint = " (taken from MAILBEACON_PUBLIC_URL; set it or pass --public-url)"
    try:
        app_id = app_id or default_app_id(public_url, localhost=localhost)
        xml = render_manifest(public_url, app_id=app_id, version=manifest_version or default_manifest_version(),
                              localhost=localhost, sso_client_id=sso_client_id, support_url=support_url)
    except ManifestError as exc:
        raise UserError(f"{exc}{hint}") from None
    if output is None:
        click.echo(xml, nl=False)
        return
    try:
        _write_atomically(output, xml)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} for {public_url.strip().rstrip('/')} (add-in id {app_id})", err=True)


def _write_atomically(path: Path, text: str) -> None:
    """A half-written manifest is worse than none: Outlook caches what it fetched."""
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    addin_manifest_command()
