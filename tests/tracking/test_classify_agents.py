"""Table-driven: every real user agent in the fixture, on an open and on a click."""

import json
from pathlib import Path

import pytest

from mailbeacon.tracking.classify import KINDS, HitFacts, classify
from mailbeacon.tracking.networks import Networks
from mailbeacon.tracking.useragents import GMAIL_PREFETCH_UA, parse_user_agent

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hits" / "user_agents.json"
AGENTS = json.loads(FIXTURE.read_text())["agents"]
BROWSER_HEADERS = {"Accept": "*/*", "Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def networks() -> Networks:
    return Networks.load(None)


def a_hit(user_agent: str, hit: str) -> HitFacts:
    # An address in no published list, an hour after sending: only the agent speaks.
    return HitFacts(id="h", message="m", hit=hit, method="GET", user_agent=user_agent,
                    ip="203.0.113.10", seconds_since_sent=3600.0, headers=BROWSER_HEADERS,
                    link=0 if hit == "click" else None, links_in_message=1)


@pytest.mark.parametrize("hit", ["open", "click"])
@pytest.mark.parametrize("agent", AGENTS, ids=[agent["name"] for agent in AGENTS])
def test_real_user_agent_gets_the_expected_verdict(agent, hit, networks):
    verdict = classify(a_hit(agent["ua"], hit), networks)
    kind, device_class, client = agent[hit]
    assert (verdict.kind, verdict.device_class, verdict.client) == (kind, device_class, client), verdict.reason
    assert verdict.kind in KINDS
    assert verdict.reason and verdict.id == "h"


def test_fixture_covers_every_kind_a_lone_agent_can_earn():
    kinds = {agent[hit][0] for agent in AGENTS for hit in ("open", "click")}
    assert kinds == {"human", "proxy_open", "prefetch", "scanner", "preview", "unknown"}


def test_gmail_prefetch_agent_is_recognised_despite_spacing():
    assert parse_user_agent(GMAIL_PREFETCH_UA.replace(" ", "  ")).role == "gmail_prefetch"


def test_generic_bot_lists_would_call_gmails_proxy_a_bot_but_mail_rules_run_first(networks):
    # The Gmail proxy UA contains no bot word, but it does look like an ancient Firefox 11,
    # which a stale-browser heuristic would flag; the proxy rule must win.
    verdict = classify(a_hit(AGENTS[0]["ua"], "open"), networks)
    assert verdict.kind == "proxy_open"


def test_an_unknown_agent_says_what_it_was():
    verdict = classify(a_hit("MUDV4", "open"), Networks.load(None))
    assert verdict.kind == "unknown"
    assert "MUDV4" in verdict.reason


def test_parse_never_raises_on_junk():
    for junk in (None, "", " ", "\x00\xff", "(" * 5000, "Mozilla/5.0 (" + "x" * 10000):
        assert parse_user_agent(junk).role in {"empty", "unrecognized", "bare_mozilla", "browser", "webview"}
