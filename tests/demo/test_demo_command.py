"""`mailbeacon demo` as a real process: one URL line on stdout, the page answers, Ctrl-C or SIGTERM ends it
cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import certifi
import pytest
import requests

# The command object as cli.py registers it; run on its own so this test does not depend on the registration.
RUN_COMMAND = "from mailbeacon.demo import demo_command; demo_command(prog_name='mailbeacon demo')"


def start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBEACON_")}
    # As many CI images do: a CA bundle in the environment, which requests lets override a Session's verify. The
    # Outlook sender's sign-in at start must still trust the Microsoft stand-in's own CA.
    env["REQUESTS_CA_BUNDLE"] = env["CURL_CA_BUNDLE"] = certifi.where()
    return subprocess.Popen([sys.executable, "-c", RUN_COMMAND, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_prints_one_url_serves_the_page_and_stops_on_a_signal(stop_signal):
    process = start()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        session = requests.Session()
        session.trust_env = False
        page = session.get(url, timeout=10)
        assert page.status_code == 200 and "mailbeacon demo" in page.text
        assert "Alex Sender" in page.text and "Jordan Sender" in page.text  # both senders signed in
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == "" and "Traceback" not in err  # the URL was the only line
    try:
        session.get(url, timeout=2)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError(f"the demo page still answers after {signal.Signals(stop_signal).name}")


def test_a_host_no_browser_can_open_ends_with_one_line_and_status_2():
    process = start("--host", "0.0.0.0")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2 and out == ""
    assert err.strip().startswith("mailbeacon: --host '0.0.0.0' is not an address") and len(err.splitlines()) == 1
