"""`mailbeacon demo` as a real process: one URL line on stdout, the page answers, Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

# The command object as cli.py registers it; run on its own so this test does not depend on the registration.
RUN_COMMAND = "from mailbeacon.demo import demo_command; demo_command(prog_name='mailbeacon demo')"


def start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBEACON_")}
    return subprocess.Popen([sys.executable, "-c", RUN_COMMAND, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_the_command_prints_one_url_serves_the_page_and_stops_on_ctrl_c():
    process = start()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        session = requests.Session()
        session.trust_env = False
        page = session.get(url, timeout=10)
        assert page.status_code == 200 and "mailbeacon demo" in page.text
        process.send_signal(signal.SIGINT)
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
        raise AssertionError("the demo page still answers after Ctrl-C")


def test_a_host_no_browser_can_open_ends_with_one_line_and_status_2():
    process = start("--host", "0.0.0.0")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2 and out == ""
    assert err.strip().startswith("mailbeacon: --host '0.0.0.0' is not an address") and len(err.splitlines()) == 1
