"""`mailbeacon addin-manifest`: writes the manifest for the configured or given URL; a mistake is one line."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from mailbeacon.addin_manifest import (
    DEFAULT_LOCALHOST_URL,
    addin_manifest_command,
    default_app_id,
    default_manifest_version,
    render_manifest,
)
from tests.addin import manifest_checks as checks
from tests.addin.conftest import APP_ID, SSO_CLIENT_ID


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A configuration that touches nothing outside tmp_path."""
    for name in list(os.environ):
        if name.startswith("MAILBEACON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAILBEACON_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("MAILBEACON_DATABASE_URL", f"sqlite:///{tmp_path / 'mb.db'}")
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def run(*args: str):
    return CliRunner().invoke(addin_manifest_command, list(args), catch_exceptions=False)


def test_writes_the_manifest_for_the_configured_public_url_to_stdout(env):
    env.setenv("MAILBEACON_PUBLIC_URL", "https://track.example.com")
    result = run()
    assert result.exit_code == 0
    assert result.stdout == render_manifest("https://track.example.com", app_id=default_app_id(
        "https://track.example.com"), version=default_manifest_version())


def test_public_url_option_wins_over_the_configuration(env):
    env.setenv("MAILBEACON_PUBLIC_URL", "https://track.example.com")
    result = run("--public-url", "https://other.example.com", "--app-id", APP_ID, "--version", "3.1")
    assert result.exit_code == 0
    assert result.stdout == render_manifest("https://other.example.com", app_id=APP_ID, version="3.1")


def test_output_file_gets_the_manifest_and_stderr_says_where(env, tmp_path):
    target = tmp_path / "manifest.xml"
    result = run("--public-url", "https://track.example.com/", "--output", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"wrote {target} for https://track.example.com" in result.stderr
    assert checks.manifest_errors(target.read_bytes(), localhost=False) == []
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".manifest")] == []


def test_rewriting_replaces_the_old_file_whole(env, tmp_path):
    target = tmp_path / "manifest.xml"
    target.write_text("x" * 100_000)
    assert run("--public-url", "https://track.example.com", "-o", str(target)).exit_code == 0
    assert target.read_text("utf-8").endswith("</OfficeApp>\n")


def test_localhost_flag_defaults_to_localhost_3000(env):
    result = run("--localhost")
    assert result.exit_code == 0
    assert f"<AppDomain>{DEFAULT_LOCALHOST_URL}</AppDomain>" in result.stdout
    assert checks.manifest_errors(result.stdout, localhost=True) == []


def test_sso_client_id_option_adds_single_sign_on(env):
    result = run("--public-url", "https://track.example.com", "--sso-client-id", SSO_CLIENT_ID)
    assert result.exit_code == 0
    assert f"<Resource>api://track.example.com/{SSO_CLIENT_ID}</Resource>" in result.stdout


def test_unset_public_url_explains_that_outlook_needs_https(env):
    result = run()
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("mailbeacon: public URL 'http://127.0.0.1:8025' is not https://")
    assert "MAILBEACON_PUBLIC_URL" in result.stderr


@pytest.mark.parametrize("args, reason", [
    (["--public-url", "https://track.example.com", "--version", "1.0.0.0.0"], "version '1.0.0.0.0'"),
    (["--public-url", "https://track.example.com", "--app-id", "abc"], "app id 'abc' is not a GUID"),
    (["--public-url", "https://localhost:3000"], "use --localhost"),
    (["--localhost", "--public-url", "https://track.example.com"], "--localhost needs"),
])
def test_bad_arguments_end_in_one_line_and_status_2(env, args, reason):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and reason in result.stderr
    assert "Traceback" not in result.output


def test_unwritable_output_is_a_one_line_error(env, tmp_path):
    result = run("--public-url", "https://track.example.com", "-o", str(tmp_path / "missing" / "manifest.xml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("mailbeacon: cannot write ")
    assert result.stderr.count("\n") == 1


def test_malformed_configuration_is_a_one_line_error(env):
    env.setenv("MAILBEACON_PUBLIC_URL", "ftp://track.example.com")
    result = run()
    assert result.exit_code == 2
    assert "MAILBEACON_PUBLIC_URL must start with http:// or https://" in result.stderr
