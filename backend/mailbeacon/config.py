"""Configuration: every MAILBEACON_* variable is read here and nowhere else.

The embedded default (no variables at all) is a SQLite file in the working directory, jobs run in-process and
no Redis is needed; secrets that must survive a restart (the signing and encryption keys) are generated once and
kept in a file beside the database so that links in mail already sent keep working.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _keyring(env: Mapping[str, str], name: str, fallback: bytes) -> tuple[tuple[int, bytes], ...]:
    """Parse `kid:base64secret,kid:base64secret`; the first entry signs or encrypts, all of them verify or decrypt.

    Keeping retired keys in the list is what lets keys rotate without breaking mail already sent.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return ((1, fallback),)
    ring: list[tuple[int, bytes]] = []
    for item in raw.split(","):
        kid_text, sep, secret_text = item.strip().partition(":")
        if not sep:
            raise ConfigError(f"{name}: each entry is KID:BASE64SECRET")
        try:
            kid = int(kid_text)
        except ValueError:
            raise ConfigError(f"{name}: key id {kid_text!r} is not a number 1-255") from None
        if not 1 <= kid <= 255:
            raise ConfigError(f"{name}: key id {kid} is not in 1-255")
        try:
            secret = base64.urlsafe_b64decode(secret_text + "=" * (-len(secret_text) % 4))
        except ValueError:
            raise ConfigError(f"{name}: key {kid} is not valid base64") from None
        if len(secret) < 16:
            raise ConfigError(f"{name}: key {kid} must be at least 16 bytes")
        if any(k == kid for k, _ in ring):
            raise ConfigError(f"{name}: key id {kid} appears twice")
        ring.append((kid, secret))
    return tuple(ring)


def _extension_ids(env: Mapping[str, str]) -> tuple[str, ...]:
    ids = _list(env, "MAILBEACON_EXTENSION_IDS")
    for ext_id in ids:
        # Chrome extension ids are 32 letters a-p; anything else could smuggle a host into the redirect URL.
        if len(ext_id) != 32 or any(ch not in "abcdefghijklmnop" for ch in ext_id):
            raise ConfigError(f"MAILBEACON_EXTENSION_IDS: {ext_id!r} is not a Chrome extension id")
    return ids


# --- Microsoft (Outlook add-in: sign-in, single sign-on, Graph) -------------------------------------------------
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
MICROSOFT_GRAPH_URL = "https://graph.microsoft.com/v1.0"


def _https_base(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name, "").strip() or default).rstrip("/")
    if not value.startswith("https://"):
        # msal refuses anything else, and a Graph token must never travel in the clear.
        raise ConfigError(f"{name} must start with https://")
    return value


def _microsoft_settings(env: Mapping[str, str]) -> dict:
    """The MAILBEACON_MICROSOFT_* block. Unset client id/secret: Outlook sign-in answers "not configured"."""
    ca_bundle = env.get("MAILBEACON_MICROSOFT_CA_BUNDLE", "").strip() or None
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ConfigError(f"MAILBEACON_MICROSOFT_CA_BUNDLE: no such file {ca_bundle!r}")
    app_id_uri = env.get("MAILBEACON_MICROSOFT_API_APP_ID_URI", "").strip().rstrip("/") or None
    if app_id_uri is not None and not app_id_uri.startswith("api://"):
        raise ConfigError("MAILBEACON_MICROSOFT_API_APP_ID_URI must start with api://")
    return {
        "microsoft_client_id": env.get("MAILBEACON_MICROSOFT_CLIENT_ID", "").strip() or None,
        "microsoft_client_secret": env.get("MAILBEACON_MICROSOFT_CLIENT_SECRET", "").strip() or None,
        "microsoft_authority": _https_base(env, "MAILBEACON_MICROSOFT_AUTHORITY", MICROSOFT_AUTHORITY),
        "microsoft_graph_url": _https_base(env, "MAILBEACON_MICROSOFT_GRAPH_URL", MICROSOFT_GRAPH_URL),
        "microsoft_ca_bundle": ca_bundle,
        "microsoft_api_app_id_uri": app_id_uri,
    }


def _networks_fetch(env: Mapping[str, str], networks_dir: str | None) -> dict:
    """MAILBEACON_NETWORKS_FETCH (which publishers' lists the scheduled job downloads; off by default, since many
    deployments have no way out to the internet) and MAILBEACON_NETWORKS_MIRROR_URL (fetch them from a mirror)."""
    from .tracking.netsources import parse_source_list  # plain data, imports nothing of ours

    try:
        sources = parse_source_list(env.get("MAILBEACON_NETWORKS_FETCH", ""))
    except ValueError as error:
        raise ConfigError(f"MAILBEACON_NETWORKS_FETCH: {error}") from None
    if sources and networks_dir is None:
        raise ConfigError("MAILBEACON_NETWORKS_FETCH needs MAILBEACON_NETWORKS_DIR: the directory the lists go into")
    mirror = env.get("MAILBEACON_NETWORKS_MIRROR_URL", "").strip().rstrip("/") or None
    if mirror is not None and not mirror.startswith(("http://", "https://")):
        raise ConfigError("MAILBEACON_NETWORKS_MIRROR_URL must start with http:// or https://")
    return {"networks_fetch": sources, "networks_mirror_url": mirror}


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        return Path(url[len(prefix):])
    return None


def _persistent_secret(database_url: str) -> str:
    """Embedded mode: one random secret per SQLite database, kept beside it (mode 0600)."""
    db_path = _sqlite_path(database_url)
    if db_path is None:
        raise ConfigError("MAILBEACON_SECRET_KEY is required when the database is not a local SQLite file")
    secret_file = db_path.with_name(db_path.name + ".secret")
    if secret_file.exists():
        return secret_file.read_text().strip()
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


@dataclass(frozen=True)
class Config:
    database_url: str = "sqlite:///mailbeacon.db"
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8025"
    secret_key: str = ""
    networks_dir: str | None = None
    networks_fetch: tuple[str, ...] = ()  # source names (tracking/netsources.py); empty: nothing is downloaded
    networks_mirror_url: str | None = None
    retention_days: int = 180
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()
    token_keys: tuple[tuple[int, bytes], ...] = ()
    encryption_keys: tuple[tuple[int, bytes], ...] = ()
    max_message_bytes: int = 25 * 1024 * 1024
    honeypot_link: bool = True
    spool_dir: str = ".mailbeacon/spool"
    admin_token: str | None = None
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8025
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_issuer: str = "https://accounts.google.com"
    gmail_api_url: str = "https://gmail.googleapis.com/"
    extension_ids: tuple[str, ...] = ()
    api_token_days: int = 30
    # Microsoft: see _microsoft_settings. The authority is the identity platform's base (a tenant is appended).
    microsoft_client_id: str | None = None
    microsoft_client_secret: str | None = None
    microsoft_authority: str = MICROSOFT_AUTHORITY
    microsoft_graph_url: str = MICROSOFT_GRAPH_URL
    microsoft_ca_bundle: str | None = None  # a PEM to trust instead of the system's (the local stand-in's CA)
    microsoft_api_app_id_uri: str | None = None  # default: api://<public host>/<client id>, as the manifest says
    api_rate_per_minute: int = 600
    stream_url: str | None = None
    worker_ttl: int = 60  # seconds an RQ worker's heartbeat lives; a dead worker's batches are recovered after it
    # WSGI threads per `serve` process, for everything but /o and /c (those wait on the event loop, not in a
    # thread): API calls, sign-in, admin, and in embedded mode the notification streams, which hold one each.
    server_threads: int = 32
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    @staticmethod
    def networks_dir_from_env(env: Mapping[str, str] | None = None) -> str | None:
        """For commands that need only the network lists (`mailbeacon classify`), without the rest of the setup."""
        env = os.environ if env is None else env
        return env.get("MAILBEACON_NETWORKS_DIR", "").strip() or None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        database_url = env.get("MAILBEACON_DATABASE_URL", "").strip() or f"sqlite:///{Path.cwd() / 'mailbeacon.db'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://"):]
        if database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would make SQLAlchemy look for psycopg2.
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
        secret_key = env.get("MAILBEACON_SECRET_KEY", "").strip() or _persistent_secret(database_url)
        if len(secret_key) < 16:
            raise ConfigError("MAILBEACON_SECRET_KEY must be at least 16 characters")
        public_url = env.get("MAILBEACON_PUBLIC_URL", "").strip().rstrip("/")
        port = _int(env, "MAILBEACON_PORT", 8025, minimum=0)
        host = env.get("MAILBEACON_HOST", "").strip() or "127.0.0.1"
        if not public_url:
            public_url = f"http://{host}:{port}"
        if not public_url.startswith(("http://", "https://")):
            raise ConfigError("MAILBEACON_PUBLIC_URL must start with http:// or https://")
        from .crypto import derive_key  # local import: crypto imports nothing from here

        networks_dir = cls.networks_dir_from_env(env)
        return cls(
            database_url=database_url,
            redis_url=env.get("MAILBEACON_REDIS_URL", "").strip() or None,
            public_url=public_url,
            secret_key=secret_key,
            networks_dir=networks_dir,
            **_networks_fetch(env, networks_dir),
            retention_days=_int(env, "MAILBEACON_RETENTION_DAYS", 180, minimum=1),
            trusted_proxies=_int(env, "MAILBEACON_TRUSTED_PROXIES", 0),
            cors_origins=_list(env, "MAILBEACON_CORS_ORIGINS"),
            token_keys=_keyring(env, "MAILBEACON_TOKEN_KEYS", derive_key(secret_key, b"hit-tokens")),
            encryption_keys=_keyring(env, "MAILBEACON_ENCRYPTION_KEYS", derive_key(secret_key, b"secrets-at-rest")),
            max_message_bytes=_int(env, "MAILBEACON_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=1024),
            honeypot_link=_bool(env, "MAILBEACON_HONEYPOT_LINK", True),
            spool_dir=env.get("MAILBEACON_SPOOL_DIR", "").strip() or str(Path.cwd() / ".mailbeacon" / "spool"),
            admin_token=env.get("MAILBEACON_ADMIN_TOKEN", "").strip() or None,
            log_level=(env.get("MAILBEACON_LOG_LEVEL", "").strip() or "INFO").upper(),
            host=host,
            port=port,
            google_client_id=env.get("MAILBEACON_GOOGLE_CLIENT_ID", "").strip() or None,
            google_client_secret=env.get("MAILBEACON_GOOGLE_CLIENT_SECRET", "").strip() or None,
            google_issuer=(env.get("MAILBEACON_GOOGLE_ISSUER", "").strip() or "https://accounts.google.com").rstrip("/"),
            gmail_api_url=env.get("MAILBEACON_GMAIL_API_URL", "").strip() or "https://gmail.googleapis.com/",
            extension_ids=_extension_ids(env),
            api_token_days=_int(env, "MAILBEACON_API_TOKEN_DAYS", 30, minimum=1),
            **_microsoft_settings(env),
            api_rate_per_minute=_int(env, "MAILBEACON_API_RATE_PER_MINUTE", 600, minimum=1),
            worker_ttl=_int(env, "MAILBEACON_WORKER_TTL", 60, minimum=5),
            server_threads=_int(env, "MAILBEACON_SERVER_THREADS", 32, minimum=1),
            stream_url=(env.get("MAILBEACON_STREAM_URL", "").strip().rstrip("/") or None),
            extra={k: v for k, v in env.items() if k.startswith("MAILBEACON_")},
        )
