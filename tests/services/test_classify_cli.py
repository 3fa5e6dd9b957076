"""`mailbeacon classify` end to end: JSON lines in, one verdict per line out."""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mailbeacon.services.classify_cli import run_classify
from mailbeacon.services.enrich import Enricher
from mailbeacon.tracking.classify import KINDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"
MESSAGES = (FIXTURES / "messages.jsonl").read_text()
EXPECTED = [json.loads(line) for line in MESSAGES.splitlines()]
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


@pytest.fixture
def networks_dir(tmp_path) -> str:
    shutil.copy(FIXTURES / "apple-egress-sample.csv", tmp_path / "apple-egress.csv")
    return str(tmp_path)


def run(text: str, networks_dir: str | None) -> tuple[int, list[dict], str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run_classify(io.StringIO(text), stdout, networks_dir=networks_dir, stderr=stderr)
    return status, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


def test_every_situation_in_the_fixture_gets_its_expected_verdict(networks_dir):
    status, verdicts, errors = run(MESSAGES, networks_dir)
    assert (status, errors) == (0, "")
    assert [v["id"] for v in verdicts] == [line["id"] for line in EXPECTED]
    for line, verdict in zip(EXPECTED, verdicts):
        assert verdict["kind"] == line["expect"], (line["id"], verdict["reason"])
        assert verdict["kind"] in KINDS and verdict["reason"]


def test_output_lines_carry_id_kind_reason_device_class_and_client(networks_dir):
    _, verdicts, _ = run(MESSAGES, networks_dir)
    gmail = next(v for v in verdicts if v["id"] == "gmail-5s")
    assert gmail == {"id": "gmail-5s", "kind": "proxy_open", "reason": gmail["reason"],
                     "device_class": "proxy", "client": "Gmail"}


def test_ids_come_back_exactly_as_given():
    line = {"id": 17, "message": "m", "hit": "open", "user_agent": CHROME}
    _, verdicts, _ = run(json.dumps(line) + "\n", None)
    assert verdicts[0]["id"] == 17


def test_a_later_burst_in_the_input_reclassifies_earlier_lines():
    lines = [{"id": f"c{i}", "message": "m", "hit": "click", "user_agent": CHROME, "ip": "198.51.100.20",
              "headers": {"Accept-Language": "en"}, "seconds_since_sent": 3600 + i * 0.5, "link": i}
             for i in range(3)]
    _, alone, _ = run(json.dumps(lines[0]) + "\n", None)
    _, together, _ = run("".join(json.dumps(line) + "\n" for line in lines), None)
    assert alone[0]["kind"] == "human"
    assert [v["kind"] for v in together] == ["scanner"] * 3


def test_without_apples_egress_list_the_mpp_fetch_outside_apples_block_is_unknown():
    _, verdicts, _ = run(MESSAGES, None)
    assert next(v for v in verdicts if v["id"] == "apple-mpp")["kind"] == "unknown"


def test_blank_lines_are_skipped():
    line = json.dumps({"id": "a", "message": "m", "hit": "open", "user_agent": CHROME})
    status, verdicts, _ = run(f"\n{line}\n\n", None)
    assert status == 0 and len(verdicts) == 1


def test_empty_input_prints_nothing_and_succeeds():
    assert run("", None) == (0, [], "")


@pytest.mark.parametrize("bad_line, complaint", [
    ("{not json", "line 2: not valid JSON"),
    ('{"id": "x", "message": "m", "hit": "view"}', "line 2: 'hit' must be"),
    ('["id", "x"]', "line 2: expected a JSON object"),
])
def test_a_bad_line_is_named_and_nothing_is_printed(bad_line, complaint):
    good = json.dumps({"id": "a", "message": "m", "hit": "open", "user_agent": CHROME})
    status, verdicts, errors = run(f"{good}\n{bad_line}\n{good}\n", None)
    assert status == 1
    assert verdicts == []
    assert errors.startswith("mailbeacon classify: ") and complaint in errors
    assert errors.count("\n") == 1 and "Traceback" not in errors


def test_an_unreadable_networks_directory_is_a_one_line_error(tmp_path):
    status, verdicts, errors = run(MESSAGES, str(tmp_path / "missing"))
    assert (status, verdicts) == (2, [])
    assert "cannot load network lists" in errors and errors.count("\n") == 1


def test_asns_are_filled_from_a_local_ip2asn_table_in_the_directory(tmp_path):
    (tmp_path / "ip2asn-v4.tsv").write_text("198.51.100.0\t198.51.100.255\t15324\tUS\tBARRACUDA\n")
    line = {"id": "a", "message": "m", "hit": "click", "user_agent": CHROME, "ip": "198.51.100.9",
            "headers": {"Accept-Language": "en"}, "seconds_since_sent": 9000}
    _, verdicts, _ = run(json.dumps(line) + "\n", str(tmp_path))
    assert verdicts[0]["kind"] == "scanner"
    assert "AS15324" in verdicts[0]["reason"]


def command(*args: str, stdin: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAILBEACON_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "mailbeacon.cli", *args], input=stdin, text=True,
                          capture_output=True, env=env, timeout=60)


def test_the_mailbeacon_classify_command_reads_the_networks_directory_from_the_environment(networks_dir):
    result = command("classify", stdin=MESSAGES, env_extra={"MAILBEACON_NETWORKS_DIR": networks_dir})
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert kinds == [line["expect"] for line in EXPECTED]


def test_the_command_rejects_a_malformed_line_without_a_traceback():
    result = command("classify", stdin='{"id": "a", "message": "m", "hit": "open"}\n{oops\n', env_extra={})
    assert result.returncode != 0
    assert result.stdout == ""
    assert "line 2" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


class OneZoneResolver:
    """A local stand-in for DNS: one gateway whose PTR name resolves back to it."""

    def gethostbyaddr(self, ip):
        if ip == "198.51.100.41":
            return "mx0b-00190b01.pphosted.com", [], [ip]
        raise socket.herror(1, "unknown host")

    def getaddrinfo(self, host, port):
        return [(2, 1, 6, "", ("198.51.100.41", 0))]


def test_absent_reverse_dns_is_looked_up_by_the_worker_enricher_when_one_is_given():
    lines = [{"id": "gw", "message": "m", "hit": "click", "user_agent": CHROME, "ip": "198.51.100.41",
              "seconds_since_sent": 9000},
             {"id": "person", "message": "m2", "hit": "click", "user_agent": CHROME, "ip": "203.0.113.9",
              "seconds_since_sent": 9000}]
    stdout = io.StringIO()
    status = run_classify(io.StringIO("".join(json.dumps(line) + "\n" for line in lines)), stdout,
                          networks_dir=None, stderr=io.StringIO(), enricher=Enricher(resolver=OneZoneResolver()))
    verdicts = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert status == 0
    assert [v["kind"] for v in verdicts] == ["scanner", "human"]
    assert "pphosted.com" in verdicts[0]["reason"]
