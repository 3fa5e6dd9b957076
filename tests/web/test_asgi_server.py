"""`mailbeacon serve` for real: granian, the asyncio front and the WSGI bridge, over a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import requests

from mailbeacon.tracking import tokens
from mailbeacon.tracking.tokens import Keyring
from mailbeacon.web.hits import PIXEL_GIF

from ..conftest import free_port
from ..servers import wait_for_port


@pytest.fixture
def served(tmp_path, config_env):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MAILBEACON_")}, **config_env,
           "MAILBEACON_PORT": str(port)}
    env.pop("MAILBEACON_REDIS_URL", None)  # embedded: the spool is the queue
    server = subprocess.Popen([sys.executable, "-m", "mailbeacon.cli", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}", port
    finally:
        os.killpg(server.pid, 15)
        server.communicate(timeout=20)


def test_pixel_head_and_click_over_a_real_socket(served, config):
    base, _port = served
    token = tokens.sign("open", 5, keyring=Keyring(config.token_keys))
    got = requests.get(f"{base}/o/{token}", timeout=5)
    assert (got.status_code, got.content) == (200, PIXEL_GIF)
    assert got.headers["Cache-Control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert "Set-Cookie" not in got.headers
    head = requests.head(f"{base}/o/{token}", timeout=5)
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "43")
    forged = requests.get(f"{base}/c/{token}", allow_redirects=False, timeout=5)  # an open token on /c
    assert forged.status_code == 404 and "Location" not in forged.headers


def test_a_chunked_body_reaches_the_application_through_the_bridge(served):
    base, _port = served

    def body():
        yield b'{"code": "not-a-real-code", '
        yield b'"code_verifier": "' + b"v" * 50 + b'", '
        yield b'"redirect_uri": "https://example.invalid/cb"}'

    answer = requests.post(f"{base}/auth/token", data=body(), headers={"Content-Type": "application/json"},
                           timeout=10)
    assert answer.status_code == 400 and answer.headers["X-Request-Id"]
    # Read whole: the code was looked at and refused, rather than the body being found missing or malformed.
    assert answer.json()["error"]["code"] != "invalid_request"


def test_a_malformed_request_line_is_refused_and_the_server_goes_on(served):
    base, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /o/x\x00y HTTP/1.1\r\nHost: a\r\n\r\n")
        reply = raw.recv(200)
    assert not reply.startswith(b"HTTP/1.1 5")
    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
