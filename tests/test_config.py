import base64
import os

import pytest

from mailbeacon.config import Config, ConfigError

SECRET = {"MAILBEACON_SECRET_KEY": "s" * 32}


def test_embedded_default_is_a_sqlite_file_and_no_redis(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})
    assert config.database_url == f"sqlite:///{tmp_path / 'mailbeacon.db'}"
    assert config.redis_url is None and config.embedded_queue


def test_embedded_secret_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Config.from_env({}).secret_key
    second = Config.from_env({}).secret_key
    assert first == second and len(first) >= 32
    assert oct(os.stat(tmp_path / "mailbeacon.db.secret").st_mode & 0o777) == "0o600"


def test_postgres_without_a_secret_key_is_refused():
    with pytest.raises(ConfigError, match="MAILBEACON_SECRET_KEY"):
        Config.from_env({"MAILBEACON_DATABASE_URL": "postgresql://db/x"})


def test_postgres_urls_use_the_psycopg3_driver():
    config = Config.from_env({**SECRET, "MAILBEACON_DATABASE_URL": "postgres://u:p@db:5432/x"})
    assert config.database_url == "postgresql+psycopg://u:p@db:5432/x"


def test_every_documented_setting_is_read(tmp_path):
    key = base64.urlsafe_b64encode(b"k" * 32).decode()
    config = Config.from_env({
        **SECRET,
        "MAILBEACON_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "MAILBEACON_REDIS_URL": "redis://127.0.0.1:6379/3",
        "MAILBEACON_PUBLIC_URL": "https://t.example.com/",
        "MAILBEACON_NETWORKS_DIR": "/etc/mb/networks",
        "MAILBEACON_RETENTION_DAYS": "30",
        "MAILBEACON_TRUSTED_PROXIES": "2",
        "MAILBEACON_CORS_ORIGINS": "chrome-extension://abc, https://addin.example.com",
        "MAILBEACON_TOKEN_KEYS": f"7:{key},3:{key}",
        "MAILBEACON_MAX_MESSAGE_BYTES": "2048",
        "MAILBEACON_HONEYPOT_LINK": "off",
        "MAILBEACON_WORKER_TTL": "15",
        "MAILBEACON_SERVER_THREADS": "8",
    })
    assert config.public_url == "https://t.example.com"
    assert config.redis_url == "redis://127.0.0.1:6379/3" and not config.embedded_queue
    assert config.retention_days == 30 and config.trusted_proxies == 2
    assert config.cors_origins == ("chrome-extension://abc", "https://addin.example.com")
    assert [kid for kid, _ in config.token_keys] == [7, 3]
    assert config.max_message_bytes == 2048 and config.honeypot_link is False
    assert config.networks_dir == "/etc/mb/networks"
    assert config.worker_ttl == 15 and config.server_threads == 8


@pytest.mark.parametrize("name,value", [
    ("MAILBEACON_RETENTION_DAYS", "soon"),
    ("MAILBEACON_RETENTION_DAYS", "0"),
    ("MAILBEACON_TOKEN_KEYS", "nokid"),
    ("MAILBEACON_TOKEN_KEYS", "300:" + "a" * 30),
    ("MAILBEACON_TOKEN_KEYS", "1:c2hvcnQ"),
    ("MAILBEACON_PUBLIC_URL", "ftp://x"),
    ("MAILBEACON_HONEYPOT_LINK", "maybe"),
])
def test_malformed_settings_name_the_variable(name, value, tmp_path):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**SECRET, "MAILBEACON_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", name: value})


def test_settings_are_read_in_config_py_and_nowhere_else():
    """DESIGN.md: every MAILBEACON_* variable is read by Config.from_env() and nowhere else (writing one for a
    child process, as `serve --threads` does, is allowed)."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "backend" / "mailbeacon"
    reads = re.compile(r"""(getenv\(|environ\.get\(|environ\[)\s*["']MAILBEACON_[A-Z_]+["']\s*(\](?!\s*=[^=])|[,)])""")
    offenders = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py") if path.name != "config.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if reads.search(line)]
    assert offenders == []
    documented = set(re.findall(r"`(MAILBEACON_[A-Z_]+)`", (package.parents[1] / "README.md").read_text()))
    source = (package / "config.py").read_text()
    assert sorted(name for name in documented if f'"{name}"' not in source) == []
