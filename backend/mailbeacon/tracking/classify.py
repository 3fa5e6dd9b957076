"""Tell machine hits from human ones, and say why.

Every hit gets a kind and a reason; machine hits are kept and counted apart, never
dropped. The kinds:

  self        the sender reading their own mail
  scanner     security gateways and link checkers
  preview     link unfurlers (Slack, Teams, Bing, Yahoo fetching a link)
  prefetch    fetched ahead of reading (Apple Mail Privacy Protection, Gmail's prefetcher):
              the message may or may not have been read
  proxy_open  a real open seen through a mail provider's image proxy: no device, no place
  human       a person opening or clicking
  unknown     the evidence is too thin to say

classify() judges one hit from what that hit shows. classify_message() judges a
message's hits together, because some evidence only exists across hits — a burst of
clicks, a click on the hidden trap link — and it re-classifies the hits around it.
The rules run in a fixed order, first match wins; each says why it sits where it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .hitfacts import HitFacts
from .netlists import address_to_int
from .networks import Networks
from .useragents import Agent, parse_user_agent

__all__ = ["HitFacts", "Verdict", "KINDS", "classify", "classify_message", "Evidence", "assess"]

KINDS = ("human", "proxy_open", "prefetch", "scanner", "preview", "self", "unknown")

# Our client reports "the sender is viewing this message"; the fetch it causes (Gmail's proxy,
# Outlook rendering) lands within a few seconds. Twenty seconds covers a slow proxy without
# swallowing a recipient's open that merely happens later. Two seconds of negative slack
# absorbs clock skew between the sender's machine and ours.
SELF_VIEW_WINDOW = 20.0
SELF_VIEW_SKEW = 2.0
# Gateways scan within seconds to minutes of delivery. Being that fast corroborates other
# machine signals but never decides alone: a prospect who is waiting for the mail is that fast.
FAST_AFTER_SEND = 60.0
# Scanners often present browser versions years out of date.
STALE_MAJOR_VERSION = {"Chrome": 90, "Firefox": 78}

# Categories whose addresses are shared by many unrelated people, so an equal address proves
# nothing about who is behind it.
_SHARED_EGRESS = frozenset({"apple_relay", "google", "yahoo", "mail_security"})
_DATACENTRE = frozenset({"microsoft", "cloud"})

_NETWORK_NAMES = {
    "microsoft_eop": "Microsoft Exchange Online Protection",
    "microsoft_365": "Microsoft 365",
    "microsoft": "Microsoft",
    "barracuda": "Barracuda",
    "mimecast": "Mimecast",
    "proofpoint": "Proofpoint",
    "cisco_secure_email": "Cisco Secure Email",
    "symantec_email": "Symantec Email Security",
    "trend_micro": "Trend Micro",
    "apple_private_relay": "iCloud Private Relay",
    "apple": "Apple",
    "google": "Google",
    "google_cloud": "Google Cloud",
    "yahoo": "Yahoo",
    "aws": "AWS",
    "azure": "Azure",
}

_WEBMAIL_HOSTS = (
    ("outlook.live.com", "Outlook on the web"),
    ("outlook.office.com", "Outlook on the web"),
    ("outlook.office365.com", "Outlook on the web"),
    ("outlook.cloud.microsoft", "Outlook on the web"),
    ("mail.yahoo.com", "Yahoo Mail"),
    ("mail.aol.com", "AOL Mail"),
    ("mail.proton.me", "Proton Mail"),
    ("mail.protonmail.com", "Proton Mail"),
    ("fastmail.com", "Fastmail"),
    ("mail.zoho.", "Zoho Mail"),
    ("mail.google.com", "Gmail"),
    ("icloud.com", "iCloud Mail"),
    ("mail.yandex.", "Yandex Mail"),
    ("e.mail.ru", "Mail.ru"),
    ("mail.gmx.", "GMX"),
    ("web.de", "WEB.DE"),
)


@dataclass(frozen=True)
class Verdict:
    id: str
    kind: str
    reason: str
    device_class: str = "unknown"
    client: str | None = None


@dataclass(frozen=True)
class Evidence:
    """What one hit shows, worked out once and shared by the single-hit and message rules."""

    agent: Agent
    ip_tags: frozenset[str]
    asn_tags: frozenset[str]
    rdns_tags: frozenset[str]  # from forward-confirmed reverse DNS only
    unconfirmed_rdns_tags: frozenset[str]  # a PTR name claiming a vendor, not confirmed: never counts
    categories: frozenset[str]

    def networks_in(self, category: str, networks: Networks) -> list[str]:
        tags = self.ip_tags | self.asn_tags | self.rdns_tags
        return sorted(tag for tag in tags if networks.category(tag) == category)


def assess(hit: HitFacts, networks: Networks) -> Evidence:
    ip_tags = networks.tags_for(hit.ip)
    asn_tags = networks.tags_for_asn(hit.asn)
    named = networks.tags_for_hostname(hit.reverse_dns)
    confirmed = named if hit.forward_confirmed is True else frozenset()
    tags = ip_tags | asn_tags | confirmed
    categories = frozenset(c for c in (networks.category(tag) for tag in tags) if c)
    return Evidence(parse_user_agent(hit.user_agent), ip_tags, asn_tags, confirmed,
                    named - confirmed, categories)


def classify(hit: HitFacts, networks: Networks) -> Verdict:
    """Judge one hit on its own evidence."""
    return _judge(hit, assess(hit, networks), networks)


def classify_message(hits: Sequence[HitFacts], networks: Networks) -> list[Verdict]:
    """Judge a message's hits together; verdicts come back in the order of `hits`.

    Hits of different messages may be mixed: each message is judged on its own hits.
    """
    from .bursts import apply_message_rules  # the message rules build on this module

    evidence = [assess(hit, networks) for hit in hits]
    verdicts = [_judge(hit, ev, networks) for hit, ev in zip(hits, evidence)]
    by_message: dict[str, list[int]] = {}
    for index, hit in enumerate(hits):
        by_message.setdefault(hit.message, []).append(index)
    for indexes in by_message.values():
        apply_message_rules(hits, evidence, verdicts, indexes)
    return verdicts


def _judge(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict:
    for rule in _RULES:
        verdict = rule(hit, ev, networks)
        if verdict is not None:
            return verdict
    raise AssertionError("the last rule always decides")  # pragma: no cover


def _verdict(hit: HitFacts, kind: str, reason: str, ev: Evidence | None = None,
             client: str | None = None) -> Verdict:
    device = ev.agent.device_class if ev is not None else "unknown"
    return Verdict(hit.id, kind, reason, device, client)


# --- the rules, in order ---------------------------------------------------------------------

def _sender_themself(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """First, because the sender's own signals beat everything: the commonest complaint about
    trackers is the sender's glance at Sent reported as the recipient's open."""
    agent = ev.agent
    if hit.sender_cookie:
        return _verdict(hit, "self", "the sender's own cookie came with the request", ev, agent.name)
    ago = hit.sender_viewing_seconds_ago
    if ago is not None and -SELF_VIEW_SKEW <= ago <= SELF_VIEW_WINDOW:
        return _verdict(hit, "self", f"the sender was viewing this message {max(ago, 0):.0f} s before",
                        ev, agent.name)
    own = address_to_int(hit.sender_last_ip) if hit.sender_last_ip else None
    if own is not None and address_to_int(hit.ip or "") == own:
        # Relays and proxies put thousands of people behind one address; equality there is chance.
        if not ev.categories & _SHARED_EGRESS:
            return _verdict(hit, "self", "from the sender's own recent address", ev, agent.name)
    return None


def _trap_link(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """The hidden honeypot link cannot be seen, so no person clicks it — whatever the agent says."""
    if hit.honeypot:
        return _verdict(hit, "scanner", "followed the hidden trap link no reader can see")
    return None


def _unfurler(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Self-declared unfurlers, before the generic machine rules so that a preview is counted as
    a preview (Slack probes with HEAD; Teams fetches from Microsoft's ranges)."""
    agent = ev.agent
    if agent.role == "preview":
        return _verdict(hit, "preview", f"link preview by {agent.name}", client=agent.name)
    if hit.hit == "click" and agent.role in ("gmail_image_proxy", "mail_proxy"):
        # A mail provider's proxy fetching a link is it building a preview, not the reader clicking.
        return _verdict(hit, "preview", f"{agent.name}'s proxy fetched the link", client=agent.name)
    return None


def _not_a_plain_get(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Browsers and mail clients GET a pixel or a link; HEAD is a checker asking whether it exists."""
    method = (hit.method or "GET").strip().upper()
    if method != "GET":
        return _verdict(hit, "scanner", f"{method} request: people's software fetches with GET")
    return None


def _no_user_agent(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Every browser, mail client and mail proxy sends a User-Agent; only scripts send none."""
    if ev.agent.role == "empty":
        return _verdict(hit, "scanner", "no user agent")
    return None


def _declared_machine(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Tools, crawlers and security products that say what they are."""
    agent = ev.agent
    what = {
        "security_scanner": f"security scanner ({agent.name})",
        "automation": f"automated client ({agent.name})",
        "crawler": f"crawler ({agent.name})",
        "office_link_check": "Office checking the link before opening it",
    }.get(agent.role)
    return _verdict(hit, "scanner", what) if what else None


def _mail_filter_network(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """A published mail-filtering network decides even behind a browser user agent: Safe Links
    and Defender detonate mail in a sandboxed Chrome from Microsoft's ranges. It runs before the
    proxy rules so that a proxy's user agent borrowed by a gateway does not pass as an open."""
    for tags, wording in (
        (ev.ip_tags, "from {}'s published network"),
        (ev.rdns_tags, f"reverse DNS {hit.reverse_dns} (forward-confirmed) is {{}}"),
        (ev.asn_tags, f"AS{hit.asn} is {{}}"),
    ):
        vendors = [tag for tag in sorted(tags) if networks.category(tag) == "mail_security"]
        if vendors:
            return _verdict(hit, "scanner", "mail security gateway: " + wording.format(_names(vendors)))
    return None


def _mail_proxies(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Mail providers' fetchers. Timing does not enter here: Gmail's proxy five seconds after
    sending is still the recipient opening (unless the sender was viewing, caught above)."""
    agent, is_open = ev.agent, hit.hit == "open"
    if agent.role == "gmail_image_proxy" and is_open:
        return _verdict(hit, "proxy_open", "Gmail's image proxy fetched the pixel: a real open, "
                        "device and place hidden" + _outside(hit, ev, "google"), ev, "Gmail")
    if agent.role == "mail_proxy" and is_open:
        return _verdict(hit, "proxy_open", f"{agent.name}'s image proxy fetched the pixel: a real "
                        "open, device and place hidden", ev, agent.name)
    if agent.role == "gmail_prefetch":
        if not is_open:
            return _verdict(hit, "scanner", "Gmail's prefetcher fetched a link")
        return _verdict(hit, "prefetch", "Gmail prefetched the images before showing the message: "
                        "it may not have been read" + _outside(hit, ev, "google"), ev, "Gmail")
    if agent.role == "background_fetch":
        if not is_open:
            return _verdict(hit, "scanner", "a background mail daemon fetched a link")
        return _verdict(hit, "prefetch", "fetched by the device's background mail sync: "
                        "it may not have been read", ev, agent.name)
    if agent.role == "bare_mozilla":
        if not is_open:
            return _verdict(hit, "scanner", 'user agent exactly "Mozilla/5.0": no browser clicks like that')
        apple = ev.categories & {"apple_relay", "apple"}
        if apple:
            where = _names(ev.networks_in("apple_relay", networks) or ev.networks_in("apple", networks))
            return Verdict(hit.id, "prefetch", "Apple Mail Privacy Protection prefetch "
                           f'(user agent "Mozilla/5.0" from {where}): it may not have been read',
                           "proxy", "Apple Mail")
        return _verdict(hit, "unknown", 'user agent exactly "Mozilla/5.0" but not from Apple\'s '
                        "egress ranges: Mail Privacy Protection with a stale list, or a script")
    return None


def _speculative_fetch(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """Browsers mark speculative loads (link prefetch and prerender) with a Purpose header."""
    for name in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"):
        value = (hit.header(name) or "").lower()
        if "prefetch" in value or "prerender" in value or "preview" in value:
            return _verdict(hit, "prefetch", f"the browser loaded it speculatively ({name}: {value})",
                            ev, ev.agent.name)
    return None


def _person(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict | None:
    """A browser, a mail program or a mail app's web view: a person, unless several weak machine
    signals agree (none of them decides alone)."""
    agent = ev.agent
    if agent.role not in ("browser", "mail_client", "webview"):
        return None
    weak = weak_machine_signals(hit, ev, networks)
    if len(weak) >= 2:
        return _verdict(hit, "scanner", "machine signals agree: " + "; ".join(weak))
    where = f" on {agent.platform}" if agent.platform else ""
    if hit.hit == "open" and agent.role == "browser":
        client = _webmail(hit)
        reason = f"opened in {client or 'webmail'} ({agent.name}{where})"
        verdict = Verdict(hit.id, "human", reason, "webmail", client)
    elif hit.hit == "open":
        name = agent.name or "a mail app"
        verdict = _verdict(hit, "human", f"opened in {name}{where}", ev, agent.name)
    elif agent.office_shell:
        verdict = _verdict(hit, "human", f"clicked in {agent.name}{where} (Outlook requested the link "
                           "itself; the browser's own request usually follows)", ev, agent.name)
    elif agent.role == "browser":
        verdict = _verdict(hit, "human", f"clicked in {agent.name}{where}", ev, agent.name)
    else:
        # Mail programs hand links to the browser; a click carrying their user agent comes from
        # a built-in browser (Outlook for iOS, an Android mail app, another app's web view).
        owner = f"{agent.name}'s" if agent.role == "mail_client" else "an app's"
        verdict = _verdict(hit, "human", f"clicked in {owner} built-in browser{where}", ev,
                           agent.name if agent.role == "mail_client" else None)
    notes = []
    if "apple_relay" in ev.categories:
        notes.append("through iCloud Private Relay, so no place")
    if weak:
        notes.append(f"{weak[0]}, which alone is not decisive")
    if ev.unconfirmed_rdns_tags:
        notes.append(f"reverse DNS {hit.reverse_dns} is not forward-confirmed, so it does not count")
    if notes:
        verdict = Verdict(verdict.id, verdict.kind, f"{verdict.reason}; {'; '.join(notes)}",
                          verdict.device_class, verdict.client)
    return verdict


def _too_little(hit: HitFacts, ev: Evidence, networks: Networks) -> Verdict:
    """Nothing above recognised it: say so rather than guess."""
    name = ev.agent.name or hit.user_agent[:40]
    return _verdict(hit, "unknown", f"unrecognised user agent ({name})")


_RULES = (_sender_themself, _trap_link, _unfurler, _not_a_plain_get, _no_user_agent,
          _declared_machine, _mail_filter_network, _mail_proxies, _speculative_fetch, _person,
          _too_little)


# --- helpers ---------------------------------------------------------------------------------

def weak_machine_signals(hit: HitFacts, ev: Evidence, networks: Networks) -> list[str]:
    """Signals that each fit a person too, so only agreement between them means a machine."""
    signals = []
    since = hit.seconds_since_sent
    if since is not None and 0 <= since < FAST_AFTER_SEND:
        signals.append(f"{since:.0f} s after sending")
    datacentre = sorted(tag for tag in ev.ip_tags | ev.asn_tags | ev.rdns_tags
                        if networks.category(tag) in _DATACENTRE)
    if datacentre:
        signals.append(f"from {_names(datacentre)} data-centre space")
    agent = ev.agent
    if agent.role == "browser" and "google" in ev.categories:
        # Google's own addresses serve its proxies and link checkers, not people's browsers.
        signals.append("a browser on Google's own network")
    floor = STALE_MAJOR_VERSION.get(agent.name or "")
    if agent.role == "browser" and floor and agent.major_version and agent.major_version < floor:
        signals.append(f"a years-old {agent.name} {agent.major_version}")
    return signals


def _names(tags: Sequence[str]) -> str:
    return " / ".join(_NETWORK_NAMES.get(tag, tag) for tag in tags)


def _outside(hit: HitFacts, ev: Evidence, category: str) -> str:
    # Worth saying, not deciding: the agent is distinctive, the lists may lag the provider.
    if hit.ip and category not in ev.categories:
        return f" (though not from {_NETWORK_NAMES.get(category, category)}'s published ranges)"
    return ""


def _webmail(hit: HitFacts) -> str | None:
    for name in ("Referer", "Origin"):
        host = (urlsplit(hit.header(name) or "").hostname or "").lower()
        for suffix, client in _WEBMAIL_HOSTS:
            if host and (host == suffix or host.endswith("." + suffix) or host.startswith(suffix)):
                return client
    return None
