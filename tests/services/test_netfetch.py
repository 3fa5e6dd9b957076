"""Fetching the publishers' network lists: from a local HTTP server standing in for Apple, Google, Microsoft and
AWS (the real download code, over real sockets), into a real networks directory that the classifier then reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbeacon.config import Config, ConfigError
from mailbeacon.jobs import context, maintenance
from mailbeacon.jobs.hits import process_hit_batch
from mailbeacon.runtime import Runtime
from mailbeacon.services.enrich import Enricher
from mailbeacon.services.netfetch import Fetcher
from mailbeacon.storage.models import Hit
from mailbeacon.tracking.classify import HitFacts, classify
from mailbeacon.tracking.netsources import SOURCE_NAMES, sources_named
from mailbeacon.tracking.networks import Networks
from mailbeacon.web.app import build_app, pipeline_of

from ..factories import CHROME_UA, make_message, wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hits"
GATEWAY_IP = "192.0.2.25"  # in no shipped list; the fetched Microsoft list says it is Exchange Online Protection


def endpoints_with_eop(*extra: str) -> bytes:
    """Microsoft's endpoints document, its Exchange Online Protection entry holding `extra` prefixes too."""
    entries = json.loads((FIXTURES / "microsoft-endpoints-sample.json").read_text())
    for entry in entries:
        if "*.mail.protection.outlook.com" in entry.get("urls", []):
            entry["ips"] = [*entry["ips"], *extra]
    return json.dumps(entries).encode()


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


class Publishers:
    """A local HTTP server answering each path as told, and remembering what it was asked."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[tuple[str, dict]] = []
        publishers = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
                path = self.path.split("?", 1)[0]
                publishers.requests.append((path, dict(self.headers)))
                answer = publishers.answers.get(path, Answer(404, b"not here"))
                etag = answer.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.length:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/lists"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, name: str, answer: Answer) -> None:
        self.answers[f"/lists/{name}"] = answer

    def asked_for(self, name: str) -> list[dict]:
        return [headers for path, headers in self.requests if path == f"/lists/{name}"]


@pytest.fixture
def publishers():
    server = Publishers()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def networks_dir(tmp_path) -> Path:
    directory = tmp_path / "networks"
    directory.mkdir()
    return directory


def verdict_for(networks_dir: Path) -> str:
    hit = HitFacts(id="h", message="m", hit="click", method="GET", user_agent=CHROME_UA, ip=GATEWAY_IP,
                   seconds_since_sent=3600.0, headers={"Accept-Language": "en"}, link=0, links_in_message=1)
    return classify(hit, Networks.load(networks_dir)).kind


def fetch_microsoft(publishers, networks_dir, **options):
    [result] = Fetcher(networks_dir, mirror_url=publishers.url, **options).fetch(sources_named(["microsoft"]))
    return result


@pytest.fixture
def installed(publishers, networks_dir) -> bytes:
    """A good Microsoft list already fetched and in force; returns its bytes."""
    body = endpoints_with_eop(f"{GATEWAY_IP[:-2]}0/24")
    publishers.serve("microsoft-endpoints.json", Answer(body=body, headers={"ETag": '"v1"'}))
    assert fetch_microsoft(publishers, networks_dir).outcome == "installed"
    assert verdict_for(networks_dir) == "scanner"
    return body


# --- the job, the way the scheduler runs it ------------------------------------------------------------------------

@pytest.fixture
def worker(config, networks_dir, publishers):
    """The worker's process state, with the fetch setting on for Microsoft and the local publishers as mirror."""
    rt = Runtime(config.replace(networks_dir=str(networks_dir), networks_fetch=("microsoft",),
                                networks_mirror_url=publishers.url))
    context.use_runtime(rt)
    context.set_enricher(Enricher(dns=False))
    yield rt
    rt.close()


def store_a_click(rt, session) -> Hit:
    message = make_message(session, sender=f"{uuid.uuid4().hex[:8]}@example.com", urls=["https://example.com/a"])
    process_hit_batch([{"uid": uuid.uuid4().hex, "at": time.time(), "type": "click", "link": 0,
                        "message_id": message.id, "method": "GET", "user_agent": CHROME_UA, "ip": GATEWAY_IP,
                        "headers": {"Accept-Language": "en"}}])
    with rt.db.session() as s:
        return s.scalar(select(Hit).where(Hit.message_id == message.id))


def test_the_scheduled_fetch_installs_a_good_list_and_the_next_hit_is_classified_by_it(worker, session, publishers,
                                                                                        networks_dir):
    assert store_a_click(worker, session).kind == "human"
    publishers.serve("microsoft-endpoints.json", Answer(body=endpoints_with_eop("192.0.2.0/24")))

    result = maintenance.fetch_networks()

    assert result["installed"] == ["microsoft-endpoints.json"] and result["version"]
    assert (networks_dir / "microsoft-endpoints.json").read_bytes() == endpoints_with_eop("192.0.2.0/24")
    hit = store_a_click(worker, session)
    assert hit.kind == "scanner" and "Exchange Online Protection" in hit.reason


def test_a_failed_fetch_in_the_job_leaves_the_list_in_force_and_its_verdicts(worker, session, publishers,
                                                                              networks_dir):
    publishers.serve("microsoft-endpoints.json", Answer(body=endpoints_with_eop("192.0.2.0/24")))
    maintenance.fetch_networks()
    assert store_a_click(worker, session).kind == "scanner"
    publishers.serve("microsoft-endpoints.json", Answer(body=b'[{"serviceArea": "Exchange", "ips": ["40.9'))

    result = maintenance.fetch_networks()

    assert result["installed"] == [] and "not valid JSON" in result["refused"]["microsoft-endpoints.json"]
    assert (networks_dir / "microsoft-endpoints.json").read_bytes() == endpoints_with_eop("192.0.2.0/24")
    assert store_a_click(worker, session).kind == "scanner"


def test_nothing_is_fetched_when_the_setting_is_off(config, networks_dir, publishers):
    publishers.serve("microsoft-endpoints.json", Answer(body=endpoints_with_eop("192.0.2.0/24")))
    rt = Runtime(config.replace(networks_dir=str(networks_dir), networks_mirror_url=publishers.url))
    assert rt.config.networks_fetch == ()
    context.use_runtime(rt)
    try:
        assert maintenance.fetch_networks() == {"fetched": False}
    finally:
        rt.close()
    assert publishers.requests == []
    assert list(networks_dir.iterdir()) == []


def test_the_embedded_maintenance_thread_runs_the_fetch(config, networks_dir, publishers):
    publishers.serve("microsoft-endpoints.json", Answer(body=endpoints_with_eop("192.0.2.0/24")))
    rt = Runtime(config.replace(redis_url=None, networks_dir=str(networks_dir), networks_fetch=("microsoft",),
                                networks_mirror_url=publishers.url))
    app = build_app(runtime=rt)
    pipeline = pipeline_of(app)
    pipeline.maintenance_tick_seconds = 0.05
    pipeline.maintenance_first_run_seconds = 0.2
    try:
        pipeline.start_background()
        wait_until(lambda: (networks_dir / "microsoft-endpoints.json").is_file(),
                   describe=lambda: publishers.requests)
    finally:
        pipeline.stop()
        rt.close()
    assert verdict_for(networks_dir) == "scanner"


# --- what is refused, and what is kept ----------------------------------------------------------------------------

@pytest.mark.parametrize("answer,why", [
    (Answer(500, b"Internal Server Error"), "HTTP 500"),
    (Answer(body=b"<html><body>Service unavailable</body></html>"), "not valid JSON"),
    (Answer(body=b"[]"), "holds no network"),
    (Answer(body=b'[{"serviceArea": "Exchange", "ips": ["40.92.0.0/15"'), "not valid JSON"),
    (Answer(body=b""), "empty"),
    (Answer(body=b"[" + b" " * 5000 + b"]"), "5002 bytes announced"),  # refused before a byte is read
    (Answer(body=b"[" + b" " * 5000 + b"]", length=False), "more than the 4096 bytes allowed"),
], ids=["500", "error-page", "empty-list", "truncated", "empty-body", "oversized", "oversized-unannounced"])
def test_a_bad_answer_leaves_the_previous_file_and_classification_in_place(publishers, networks_dir, installed,
                                                                          answer, why):
    publishers.serve("microsoft-endpoints.json", answer)
    result = fetch_microsoft(publishers, networks_dir, max_bytes=4096)
    assert result.outcome in ("refused", "failed") and why in result.detail
    assert (networks_dir / "microsoft-endpoints.json").read_bytes() == installed
    assert verdict_for(networks_dir) == "scanner"
    assert sorted(p.name for p in networks_dir.iterdir()) == [".fetch-state.json", "microsoft-endpoints.json"]


def test_an_unreachable_publisher_is_a_failure_that_changes_nothing(networks_dir, installed):
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = Fetcher(networks_dir, mirror_url=dead).fetch_file("microsoft", sources_named(["microsoft"])[0].files[0])
    assert result.outcome == "failed"
    assert (networks_dir / "microsoft-endpoints.json").read_bytes() == installed


def test_an_unchanged_list_costs_a_304_and_leaves_the_file_untouched(publishers, networks_dir, installed):
    before = (networks_dir / "microsoft-endpoints.json").stat().st_mtime_ns
    fingerprint = Networks.fingerprint(networks_dir)
    assert fetch_microsoft(publishers, networks_dir).outcome == "not_modified"
    assert publishers.asked_for("microsoft-endpoints.json")[-1].get("If-None-Match") == '"v1"'
    assert (networks_dir / "microsoft-endpoints.json").stat().st_mtime_ns == before
    assert Networks.fingerprint(networks_dir) == fingerprint


def test_the_same_bytes_again_without_validators_are_not_rewritten(publishers, networks_dir, installed):
    publishers.serve("microsoft-endpoints.json", Answer(body=installed))  # no ETag this time: a full answer
    fingerprint = Networks.fingerprint(networks_dir)
    assert fetch_microsoft(publishers, networks_dir).outcome == "unchanged"
    assert Networks.fingerprint(networks_dir) == fingerprint


def test_a_deleted_file_is_fetched_whole_again_not_asked_for_conditionally(publishers, networks_dir, installed):
    (networks_dir / "microsoft-endpoints.json").unlink()
    assert fetch_microsoft(publishers, networks_dir).outcome == "installed"
    assert "If-None-Match" not in publishers.asked_for("microsoft-endpoints.json")[-1]


def test_every_source_is_saved_under_the_name_the_loader_reads(publishers, networks_dir):
    for name, fixture in [("goog.json", "goog-sample.json"), ("cloud.json", "cloud-sample.json"),
                          ("apple-egress.csv", "apple-egress-sample.csv"),
                          ("microsoft-endpoints.json", "microsoft-endpoints-sample.json")]:
        publishers.serve(name, Answer(body=(FIXTURES / fixture).read_bytes()))
    publishers.serve("ip-ranges.json", Answer(body=json.dumps({"prefixes": [
        {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON"}],
        "ipv6_prefixes": [{"ipv6_prefix": "2600:1f14::/35", "service": "AMAZON"}]}).encode()))
    results = Fetcher(networks_dir, mirror_url=publishers.url).fetch(sources_named(SOURCE_NAMES))
    assert {r.file: r.outcome for r in results} == dict.fromkeys(
        ["apple-egress.csv", "goog.json", "cloud.json", "microsoft-endpoints.json", "ip-ranges.json"], "installed")
    networks = Networks.load(networks_dir)
    assert "apple_private_relay" in networks.tags_for("172.224.224.5")
    assert "aws" in networks.tags_for("3.5.141.1")
    assert "microsoft_eop" in networks.tags_for("40.92.1.1")
    assert "google_cloud" in networks.tags_for("34.0.0.1") and "google" not in networks.tags_for("34.0.0.1")


def test_the_publishers_own_urls_are_used_without_a_mirror(networks_dir):
    [apple] = sources_named(["apple"])[0].files
    [microsoft] = sources_named(["microsoft"])[0].files
    fetcher = Fetcher(networks_dir, client_request_id="0c5b3e1a-9d2f-4e7b-8a61-3f0d2c9b7e45")
    assert fetcher.url_for(apple) == "https://mask-api.icloud.com/egress-ip-ranges.csv"
    assert fetcher.url_for(microsoft) == ("https://endpoints.office.com/endpoints/worldwide"
                                          "?clientrequestid=0c5b3e1a-9d2f-4e7b-8a61-3f0d2c9b7e45")
    assert Fetcher(networks_dir, urls={"apple-egress.csv": "http://mirror.test/a.csv"}).url_for(apple) == \
        "http://mirror.test/a.csv"


# --- the setting ------------------------------------------------------------------------------------------------------

SECRET = {"MAILBEACON_SECRET_KEY": "s" * 32}


def settings(tmp_path, **env) -> Config:
    return Config.from_env({**SECRET, "MAILBEACON_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **env})


def test_the_fetch_setting_is_off_by_default_and_takes_names_or_all(tmp_path):
    assert settings(tmp_path).networks_fetch == ()
    on = {"MAILBEACON_NETWORKS_DIR": str(tmp_path)}
    assert settings(tmp_path, **on, MAILBEACON_NETWORKS_FETCH="all").networks_fetch == SOURCE_NAMES
    assert settings(tmp_path, **on, MAILBEACON_NETWORKS_FETCH=" AWS, apple ").networks_fetch == ("apple", "aws")
    assert settings(tmp_path, **on, MAILBEACON_NETWORKS_FETCH="off").networks_fetch == ()
    mirrored = settings(tmp_path, **on, MAILBEACON_NETWORKS_MIRROR_URL="https://mirror.example/lists/")
    assert mirrored.networks_mirror_url == "https://mirror.example/lists"


@pytest.mark.parametrize("env,name", [
    ({"MAILBEACON_NETWORKS_FETCH": "apple,ip2asn", "MAILBEACON_NETWORKS_DIR": "/x"}, "MAILBEACON_NETWORKS_FETCH"),
    ({"MAILBEACON_NETWORKS_FETCH": "all"}, "MAILBEACON_NETWORKS_DIR"),
    ({"MAILBEACON_NETWORKS_MIRROR_URL": "ftp://mirror"}, "MAILBEACON_NETWORKS_MIRROR_URL"),
])
def test_a_malformed_fetch_setting_names_the_variable(tmp_path, env, name):
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, **env)


# --- `mailbeacon networks fetch` ------------------------------------------------------------------------------------

def mailbeacon(args, env):
    return subprocess.run([sys.executable, "-m", "mailbeacon.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_the_command_fetches_the_named_sources_now(config_env, networks_dir, publishers):
    publishers.serve("microsoft-endpoints.json", Answer(body=endpoints_with_eop("192.0.2.0/24")))
    env = {**config_env, "MAILBEACON_NETWORKS_DIR": str(networks_dir), "MAILBEACON_NETWORKS_MIRROR_URL": publishers.url}
    result = mailbeacon(["networks", "fetch", "--source", "microsoft"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["installed"] == ["microsoft-endpoints.json"]
    assert verdict_for(networks_dir) == "scanner"


def test_the_command_fetches_what_the_setting_names_and_exits_1_when_a_list_is_refused(config_env, networks_dir,
                                                                                     publishers):
    publishers.serve("microsoft-endpoints.json", Answer(body=b"<html>maintenance</html>"))
    env = {**config_env, "MAILBEACON_NETWORKS_DIR": str(networks_dir), "MAILBEACON_NETWORKS_MIRROR_URL": publishers.url,
           "MAILBEACON_NETWORKS_FETCH": "microsoft"}
    result = mailbeacon(["networks", "fetch"], env)
    assert result.returncode == 1
    assert "refused" in result.stderr and "Traceback" not in result.stderr
    assert not (networks_dir / "microsoft-endpoints.json").exists()


@pytest.mark.parametrize("args,extra,needle", [
    (["networks", "fetch"], {}, "MAILBEACON_NETWORKS_FETCH is off"),
    (["networks", "fetch", "--source", "ip2asn"], {}, "unknown source 'ip2asn'"),
    (["networks", "fetch", "--source", "apple"], {"MAILBEACON_NETWORKS_DIR": ""}, "MAILBEACON_NETWORKS_DIR"),
    (["networks", "fetch", "--source", "apple"], {"MAILBEACON_NETWORKS_DIR": "/nonexistent/networks"},
     "is not a directory"),
], ids=["off", "unknown-source", "no-directory", "missing-directory"])
def test_the_command_refuses_a_users_mistake_with_one_line_and_status_2(config_env, networks_dir, publishers, args,
                                                                       extra, needle):
    env = {**config_env, "MAILBEACON_NETWORKS_DIR": str(networks_dir), "MAILBEACON_NETWORKS_MIRROR_URL": publishers.url,
           **extra}
    result = mailbeacon(args, env)
    assert result.returncode == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert publishers.requests == []
