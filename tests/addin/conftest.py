from __future__ import annotations

from pathlib import Path

import pytest

from mailbeacon.addin_manifest import EXAMPLE_PUBLIC_URL, default_manifest_version, render_manifest

ADDIN_DIR = Path(__file__).resolve().parents[2] / "addin-manifest"
APP_ID = "3f2b1c9e-0d4a-4e4f-9b7a-2c6d8e1f0a5b"
SSO_CLIENT_ID = "0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"


def mutate(xml: str, old: str, new: str, *, count: int = 1) -> str:
    """Replace text that must occur exactly `count` times, so a test can't pass because its edit missed."""
    assert xml.count(old) == count, f"{old!r} occurs {xml.count(old)} times, expected {count}"
    return xml.replace(old, new)


@pytest.fixture(scope="session")
def production_xml() -> str:
    return render_manifest(EXAMPLE_PUBLIC_URL, app_id=APP_ID, version=default_manifest_version())


@pytest.fixture(scope="session")
def sso_xml() -> str:
    return render_manifest("https://track.example.org/mailbeacon", app_id=APP_ID, version="2.3.0.1",
                           sso_client_id=SSO_CLIENT_ID)


@pytest.fixture(scope="session")
def localhost_xml() -> str:
    return render_manifest("https://localhost:3000", app_id=APP_ID, version="1.0", localhost=True)
