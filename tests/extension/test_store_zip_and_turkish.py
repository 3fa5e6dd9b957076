"""The store zip (extension/build_zip.py) ships what Chrome loads and nothing else, reproducibly; loaded from that
zip in a Chromium whose language is Turkish, the extension speaks Turkish, signs in, and signing out revokes its
token on the backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
import requests
from playwright.sync_api import expect

from .conftest import CHROMIUM_ARGS, EXTENSION_DIR, SENDER, screenshot


def build(output, *extra) -> zipfile.ZipFile:
    subprocess.run([sys.executable, str(EXTENSION_DIR / "build_zip.py"), "--output", str(output), *extra],
                   check=True, capture_output=True, timeout=60)
    return zipfile.ZipFile(output)


def test_the_store_zip_ships_what_chrome_loads_without_the_key(tmp_path):
    archive = build(tmp_path / "a.zip")
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    assert "key" not in manifest, "the store refuses a manifest with a key"
    assert manifest["host_permissions"] == ["https://mail.google.com/*"], "only Gmail is asked for at install"
    assert "http://127.0.0.1/*" in manifest["optional_host_permissions"]
    named = [manifest["background"]["service_worker"], manifest["options_page"], manifest["action"]["default_popup"],
             *manifest["icons"].values(), *manifest["content_scripts"][0]["js"], *manifest["content_scripts"][0]["css"],
             "_locales/en/messages.json", "_locales/tr/messages.json", "src/content/main.js"]
    assert not [name for name in named if name not in names]
    assert not [name for name in names if name.split("/")[0] in ("test", "tools", "dist")
                or name in ("README.md", "package.json", "build_zip.py")]
    build(tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes(), "the same tree, the same bytes"


@pytest.mark.browser
def test_loaded_from_the_zip_in_a_turkish_browser_it_speaks_turkish_and_signs_out(chromium_path, playwright, backend,
                                                                                   tmp_path):
    unpacked = tmp_path / "unpacked"
    build(tmp_path / "dev.zip", "--keep-key").extractall(unpacked)  # the key keeps the id the backend allows
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(chromium_path), headless=True, locale="tr-TR",
        args=[*CHROMIUM_ARGS, f"--disable-extensions-except={unpacked}", f"--load-extension={unpacked}",
              "--lang=tr"], env={**os.environ, "LANGUAGE": "tr", "LANG": "tr_TR.UTF-8"})
    try:
        worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        ext = worker.url.split("/")[2]
        page = context.new_page()
        page.goto(f"chrome-extension://{ext}/src/options/options.html")
        expect(page.locator("#sign-in")).to_have_text("Google ile oturum aç")
        page.fill("#backend", backend["base"])
        page.click("#save-backend")
        expect(page.locator("#backend-status")).to_have_text("Kaydedildi.")
        page.click("#sign-in")
        expect(page.locator("#who")).to_contain_text("Bağlı hesap: ")
        expect(page.locator("#who")).to_contain_text(SENDER)
        screenshot(page, "09-options-turkish")
        token = worker.evaluate("chrome.storage.local.get('session').then((s) => s.session.token)")
        me = requests.get(f"{backend['base']}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200

        page.click("#sign-out")
        expect(page.locator("#account-status")).to_have_text("Oturum kapatıldı.")
        after = requests.get(f"{backend['base']}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                             timeout=10)
        assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_token"
        assert worker.evaluate("chrome.storage.local.get('session')") == {}

        # Signed in again, then the token is revoked elsewhere: the next call hears 401 and the extension asks
        # to sign in again instead of failing quietly.
        page.click("#sign-in")
        expect(page.locator("#who")).to_contain_text(SENDER)
        session = worker.evaluate("chrome.storage.local.get('session').then((s) => s.session)")
        revoked = requests.delete(f"{backend['base']}/api/v1/tokens/{session['tokenId']}", timeout=10,
                                  headers={"Authorization": f"Bearer {session['token']}"})
        assert revoked.status_code == 204
        popup = context.new_page()
        popup.goto(f"chrome-extension://{ext}/src/popup/popup.html")
        expect(popup.locator("#signed-out")).to_be_visible()
        expect(page.locator("#who")).to_have_text("Bağlı değil. E-postalarınızı izlemek için oturum açın.")
        assert worker.evaluate("chrome.action.getBadgeText({})") == "!"
    finally:
        context.close()
