import io
import json
import logging

from mailbeacon.logs import JsonFormatter, configure_logging, scrub


def test_scrub_removes_tokens_addresses_and_full_ips():
    text = scrub("GET /c/EgEBANl1ivDPTH9GhvbcbA from 203.0.113.77 for ayse@example.org with Bearer mbt_abcdef123456 "
                 "and 2001:db8:1234:5678::9 code=4/0AbCdEfGh")
    assert "EgEBANl1ivDPTH9GhvbcbA" not in text and "/c/<token>" in text
    assert "203.0.113.77" not in text and "203.0.113.x" in text
    assert "ayse@example.org" not in text and "mbt_abcdef123456" not in text
    assert "2001:db8:1234:5678::9" not in text and "4/0AbCdEfGh" not in text


def test_scrub_leaves_durations_and_versions_alone():
    assert scrub("job finished in 0:00:00.442393s, version 2.12.0") == "job finished in 0:00:00.442393s, version 2.12.0"


def test_log_lines_are_json_with_extras_scrubbed():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    logging.getLogger("mailbeacon.test").info("hit for %s", "bob@example.com", extra={"path": "/o/AAAAAAAAAAAAAAAAAAAAAAAA"})
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "info" and line["msg"] == "hit for <address>"
    assert line["path"] == "/o/<token>"


def test_request_log_has_the_request_id_and_no_token(client):
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    response = client.get("/healthz", headers={"X-Request-Id": "req-12345678"})
    assert response.headers["X-Request-Id"] == "req-12345678"
    lines = [json.loads(l) for l in stream.getvalue().splitlines() if l.strip()]
    access = [l for l in lines if l.get("logger") == "mailbeacon.access"]
    assert access and access[-1]["request_id"] == "req-12345678" and access[-1]["path"] == "/healthz"
