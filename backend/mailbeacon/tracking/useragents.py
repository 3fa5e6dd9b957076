"""Recognise who sent a tracking request from its User-Agent alone.

This module only says what a user agent *claims* to be; whether that claim
makes the hit human, a proxy, a prefetch or a scanner is classify.py's call,
because the same agent means different things on an open and on a click
(Yahoo's proxy fetching the pixel is a real open, fetching a link it is a
preview).

Mail-specific agents are recognised before anything generic on purpose:
generic bot lists call Gmail's image proxy a bot, and it is the recipient
really opening the message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

AgentRole = Literal[
    "empty",  # no User-Agent at all
    "bare_mozilla",  # exactly "Mozilla/5.0": Apple's Mail Privacy Protection fetcher, or a lazy script
    "gmail_image_proxy",  # GoogleImageProxy: Gmail showing the message to its reader
    "gmail_prefetch",  # Gmail fetching images before its UI displays the message
    "mail_proxy",  # another provider's image proxy (Yahoo Mail, Outlook.com)
    "background_fetch",  # an OS mail daemon syncing in the background (iOS dataaccessd)
    "preview",  # a chat or social app unfurling a link
    "security_scanner",  # a mail-security product naming itself
    "automation",  # an HTTP library, command-line tool or headless browser
    "crawler",  # a search or AI crawler
    "office_link_check",  # Office probing a link before handing it to the browser
    "mail_client",  # a desktop or mobile mail program
    "webview",  # an embedded web view without a browser name (iOS Mail, Android mail apps)
    "browser",  # a browser: webmail on an open, the person's click on a click
    "unrecognized",
]

DeviceClass = Literal["desktop", "mobile", "tablet", "webmail", "proxy", "unknown"]


@dataclass(frozen=True)
class Agent:
    role: AgentRole
    name: str | None = None  # "Gmail", "Slack", "curl", "Chrome", "Outlook" …
    device_class: DeviceClass = "unknown"
    platform: str | None = None  # "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS"
    # Outlook for Windows' own requests ("Microsoft Office/16.0 … Microsoft Outlook"): on a click
    # these are Outlook checking the link, and the browser's request follows.
    office_shell: bool = False
    major_version: int | None = None  # of the browser, to spot the stale versions scanners use


# Gmail's prefetcher sends this exact, frozen string from Google's addresses (SparkPost, Jan 2022).
GMAIL_PREFETCH_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0"
)

# Mail providers' image proxies other than Gmail's: a fetch of the pixel is the reader opening.
_MAIL_PROXIES: tuple[tuple[str, str], ...] = (
    ("yahoomailproxy", "Yahoo Mail"),
    ("yahoo mailproxy", "Yahoo Mail"),
    ("yahoocachesystem", "Yahoo Mail"),
    ("outlookimageproxy", "Outlook"),
)

# Link unfurlers identify themselves; the token is matched case-insensitively anywhere in the UA.
# Order matters only where one token contains another.
_PREVIEWERS: tuple[tuple[str, str], ...] = (
    ("slackbot-linkexpanding", "Slack"),
    ("slack-imgproxy", "Slack"),
    ("slackbot", "Slack"),
    ("skypeuripreview", "Microsoft Teams"),
    ("microsoftpreview", "Microsoft Teams"),
    ("teamsbot", "Microsoft Teams"),
    ("bingpreview", "Bing"),
    ("facebot twitterbot", "Apple Messages"),  # iMessage appends both to a Safari UA
    ("facebookexternalhit", "Facebook"),
    ("facebookcatalog", "Facebook"),
    ("telegrambot", "Telegram"),  # "TelegramBot (like TwitterBot)"
    ("twitterbot", "X"),
    ("linkedinbot", "LinkedIn"),
    ("discordbot", "Discord"),
    ("whatsapp/", "WhatsApp"),
    ("snap url preview", "Snapchat"),
    ("pinterestbot", "Pinterest"),
    ("redditbot", "Reddit"),
    ("vkshare", "VK"),
    ("iframely", "Iframely"),
    ("embedly", "Embedly"),
    ("mattermost-bot", "Mattermost"),
    ("rocket.chat", "Rocket.Chat"),
    ("bluesky cardyb", "Bluesky"),
    ("mastodon/", "Mastodon"),
    ("google-pagerenderer", "Google"),
    ("googlemessages", "Google Messages"),
)

# Mail-security products that do name themselves (most spoof a browser; networks catch those).
_SECURITY_SCANNERS: tuple[tuple[str, str], ...] = (
    ("barracuda sentinel", "Barracuda"),
    ("barracuda", "Barracuda"),
    ("safelinks", "Microsoft Defender (Safe Links)"),
    ("safe links", "Microsoft Defender (Safe Links)"),
    ("microsoft-urlanalyzer", "Microsoft Defender"),
    ("urldefense", "Proofpoint"),
    ("proofpoint", "Proofpoint"),
    ("mimecast", "Mimecast"),
    ("ironport", "Cisco Secure Email"),
    ("trendmicro", "Trend Micro"),
    ("trend micro", "Trend Micro"),
    ("forcepoint", "Forcepoint"),
    ("fortiguard", "Fortinet"),
    ("sophos", "Sophos"),
    ("messagelabs", "Symantec"),
    ("cloudmark", "Cloudmark"),
    ("google-safety", "Google Safe Browsing"),
    ("checkpoint", "Check Point"),
    ("check point", "Check Point"),
    ("avanan", "Check Point Avanan"),
    ("zscaler", "Zscaler"),
    ("netcraft", "Netcraft"),
    ("urlscan", "urlscan.io"),
    ("virustotal", "VirusTotal"),
    ("scmguard", "SCM Guard"),
)

# HTTP libraries and tools: no person is behind these. Matched at the start of the UA, which is
# where every one of them puts its name.
_AUTOMATION_PREFIX = re.compile(
    r"^(?P<name>curl|wget|python-requests|python-urllib|python-httpx|python/|aiohttp|httpx|"
    r"go-http-client|okhttp|java/|java |apache-httpclient|jakarta commons-httpclient|libwww-perl|"
    r"lwp::simple|node-fetch|node|axios|undici|got |ruby|faraday|typhoeus|guzzlehttp|guzzle|"
    r"postmanruntime|insomnia|httpie|reqwest|deno/|bun/|colly|scrapy|mechanize|winhttp|"
    r"microsoft-winhttp|ahc/|jetty|lua-resty-http|dalvik/|cfnetwork|hubspot connect|"
    r"amazon cloudfront|microsoft exchange/|office 365 connectors|w3c-checklink|cortex/|"
    r"fasthttp|http\.rb|rest-client|restsharp|unirest|php|zgrab|masscan|nmap|nuclei)",
    re.IGNORECASE,
)
_HEADLESS_TOKENS = ("headlesschrome", "phantomjs", "puppeteer", "playwright", "selenium",
                    "chrome-lighthouse", "slimerjs", "electron-fetch")

_KNOWN_CRAWLERS = (
    "googlebot", "adsbot-google", "mediapartners-google", "google-inspectiontool", "googleother",
    "storebot-google", "bingbot", "msnbot", "adidxbot", "yandexbot", "yandeximages", "baiduspider",
    "duckduckbot", "ahrefsbot", "semrushbot", "mj12bot", "dotbot", "petalbot", "gptbot",
    "chatgpt-user", "oai-searchbot", "claudebot", "claude-user", "anthropic-ai", "perplexitybot",
    "ccbot", "bytespider", "applebot", "amazonbot", "archive.org_bot", "ia_archiver", "sogou",
    "exabot", "seznambot", "qwantify", "yahoo! slurp", "coccocbot", "dataforseobot", "blexbot",
)
_GENERIC_CRAWLER = re.compile(r"(bot|crawl|spider|slurp|scanner|scraper|fetcher)", re.IGNORECASE)

# Office probing a hyperlink before opening the browser: always a machine request.
_OFFICE_PROBES = ("microsoft office existence discovery", "microsoft office protocol discovery",
                  "microsoft office upload center", "microsoft office/", "ms-office", "msoffice")

# Mail programs that name themselves.
_MAIL_CLIENTS: tuple[tuple[str, str], ...] = (
    ("outlook-ios/", "Outlook"),
    ("outlook-android/", "Outlook"),
    ("macoutlook/", "Outlook"),
    ("microsoft outlook", "Outlook"),
    ("outlook/", "Outlook"),
    ("thunderbird/", "Thunderbird"),
    ("betterbird/", "Thunderbird"),
    ("icedove/", "Thunderbird"),
    ("em client", "eM Client"),
    ("emclient/", "eM Client"),
    ("mailbird/", "Mailbird"),
    ("airmail", "Airmail"),
    ("postbox", "Postbox"),
    ("the bat!", "The Bat!"),
    ("foxmail/", "Foxmail"),
    ("mailspring/", "Mailspring"),
    ("bluemail/", "BlueMail"),
    ("spark/", "Spark"),
    ("canary mail", "Canary Mail"),
    ("windowsmail/", "Windows Mail"),
    ("webview/3.0", "Windows Mail"),
    ("yahoomobilemail", "Yahoo Mail"),
    ("jp.co.yahoo.ymail", "Yahoo Mail"),
    ("yahoo%20mail/", "Yahoo Mail"),
    ("lotus-notes", "HCL Notes"),
    ("lotus notes", "HCL Notes"),
    ("evolution/", "Evolution"),
    ("kmail", "KMail"),
    ("claws mail", "Claws Mail"),
    ("seamonkey/", "SeaMonkey"),
    ("navermailapp", "NAVER Mail"),
    ("mailmaster", "Mail Master"),
    ("superhuman", "Superhuman"),
)

# Programs that only exist on desktops, for when their user agent names no platform.
_DESKTOP_CLIENTS = frozenset({"Thunderbird", "eM Client", "Mailbird", "Airmail", "Postbox",
                              "The Bat!", "Foxmail", "Mailspring", "Windows Mail", "HCL Notes",
                              "Evolution", "KMail", "Claws Mail", "SeaMonkey", "Canary Mail"})

_BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:Edg|EdgA|EdgiOS)/(\d+)"), "Edge"),
    (re.compile(r"\bEdge/(\d+)"), "Edge"),
    (re.compile(r"\b(?:OPR|OPiOS)/(\d+)"), "Opera"),
    (re.compile(r"\bSamsungBrowser/(\d+)"), "Samsung Internet"),
    (re.compile(r"\bYaBrowser/(\d+)"), "Yandex Browser"),
    (re.compile(r"\bVivaldi/(\d+)"), "Vivaldi"),
    (re.compile(r"\bUCBrowser/(\d+)"), "UC Browser"),
    (re.compile(r"\bFxiOS/(\d+)"), "Firefox"),
    (re.compile(r"\bFirefox/(\d+)"), "Firefox"),
    (re.compile(r"\bCriOS/(\d+)"), "Chrome"),
    (re.compile(r"\bChrome/(\d+)"), "Chrome"),
    (re.compile(r"\bVersion/(\d+)[\d.]* (?:Mobile/\S+ )?Safari/"), "Safari"),
    (re.compile(r"MSIE (\d+)"), "Internet Explorer"),
    (re.compile(r"Trident/.*rv:(\d+)"), "Internet Explorer"),
)


def parse_user_agent(user_agent: str | None) -> Agent:
    """Say what a User-Agent claims to be. Never raises."""
    ua = (user_agent or "").strip()
    # A few hundred distinct agents make up nearly all traffic: remember them (Agent is frozen).
    return _parse(ua) if len(ua) <= 1024 else _parse_uncached(ua)


@functools.lru_cache(maxsize=4096)
def _parse(ua: str) -> Agent:
    return _parse_uncached(ua)


def _parse_uncached(ua: str) -> Agent:
    if not ua:
        return Agent("empty")
    low = ua.lower()
    platform, device = _platform(ua, low)

    if low == "mozilla/5.0":
        return Agent("bare_mozilla")
    if "googleimageproxy" in low:
        return Agent("gmail_image_proxy", "Gmail", "proxy")
    if _is_gmail_prefetch(ua):
        return Agent("gmail_prefetch", "Gmail", "proxy")
    for token, name in _MAIL_PROXIES:
        if token in low:
            return Agent("mail_proxy", name, "proxy")
    if "dataaccessd" in low:
        # "iOS/16.5 (20F66) dataaccessd/1.0": the OS name leads, the device is not said.
        if low.startswith("ios/"):
            platform, device = "iOS", "mobile"
        elif low.startswith("macos/"):
            platform, device = "macOS", "desktop"
        return Agent("background_fetch", "Apple Mail", device, platform)
    for token, name in _PREVIEWERS:
        if token in low:
            return Agent("preview", name)
    for token, name in _SECURITY_SCANNERS:
        if token in low:
            return Agent("security_scanner", name)
    match = _AUTOMATION_PREFIX.match(ua)
    if match:
        return Agent("automation", match.group("name").strip(" /"))
    if any(token in low for token in _HEADLESS_TOKENS):
        return Agent("automation", "headless browser")
    if any(token in low for token in _KNOWN_CRAWLERS) or _looks_like_generic_crawler(ua, low):
        return Agent("crawler", _crawler_name(ua))
    if low.startswith(("microsoft office existence", "microsoft office protocol",
                       "microsoft office upload")):
        return Agent("office_link_check", "Microsoft Office", "desktop", "Windows")

    client = _mail_client(low)
    if client is not None:
        office_shell = any(token in low for token in _OFFICE_PROBES)
        if client == "Outlook" and platform is None:
            # "MacOutlook/…", "Outlook-iOS/… .prod.iphone" and friends: the app name says where.
            platform, device = ("iOS", "mobile") if "outlook-ios" in low else ("Windows", "desktop")
        if device == "unknown" and client in _DESKTOP_CLIENTS:
            device = "desktop"
        return Agent("mail_client", client, device, platform, office_shell=office_shell)
    if any(token in low for token in _OFFICE_PROBES):
        # Word/Excel/Outlook share the "ms-office" token; on a pixel it is Outlook rendering mail.
        return Agent("mail_client", "Outlook", "desktop", "Windows", office_shell=True)

    browser = _browser(ua)
    if browser is not None and not _is_webview(low):
        name, major = browser
        return Agent("browser", name, device, platform, major_version=major)
    if _is_webview(low) or (browser is None and "applewebkit/" in low and platform is not None):
        # No browser name: an app's embedded view. On Apple platforms with no app token this is
        # Apple Mail (macOS) or Mail on iOS/iPadOS rendering the message.
        name = "Apple Mail" if platform in ("macOS", "iOS") and _is_plain_apple_webkit(low) else None
        return Agent("webview", name, device, platform)
    return Agent("unrecognized", _first_product(ua), device, platform)


def _is_gmail_prefetch(ua: str) -> bool:
    compact = " ".join(ua.split())
    return compact == GMAIL_PREFETCH_UA or compact.endswith("Edge/12.246 Mozilla/5.0")


def _looks_like_generic_crawler(ua: str, low: str) -> bool:
    # Real browser UAs can contain "bot" inside a device model (Android's CUBOT phones), so the
    # generic pattern only counts where crawlers put it: a self-describing "compatible;"/+http
    # comment, or a UA that does not pretend to be a browser at all.
    if not _GENERIC_CRAWLER.search(ua):
        return False
    return "+http" in low or "compatible;" in low or not low.startswith("mozilla/")


def _platform(ua: str, low: str) -> tuple[str | None, DeviceClass]:
    if "ipad" in low:
        return "iOS", "tablet"
    if "iphone" in low or "ipod" in low:
        return "iOS", "mobile"
    if "android" in low:
        # Android browsers on phones say "Mobile" and on tablets leave it out; apps that write
        # their own UA ("Outlook-Android/…") say neither, and are nearly always on a phone.
        tablet = low.startswith("mozilla/") and "mobile" not in low
        return "Android", "tablet" if tablet else "mobile"
    if "windows phone" in low:
        return "Windows Phone", "mobile"
    if "windows nt" in low or "win64" in low or "windows " in low:
        return "Windows", "desktop"
    if "macintosh" in low or "mac os x" in low:
        return "macOS", "desktop"
    if "cros " in low:
        return "ChromeOS", "desktop"
    if "x11" in low or "linux" in low:
        return "Linux", "desktop"
    return None, "unknown"


def _mail_client(low: str) -> str | None:
    for token, name in _MAIL_CLIENTS:
        if token in low:
            return name
    return None


def _browser(ua: str) -> tuple[str, int | None] | None:
    if not ua.startswith("Mozilla/") and not ua.startswith("Opera/"):
        return None
    for pattern, name in _BROWSERS:
        match = pattern.search(ua)
        if match:
            digits = next((group for group in match.groups() if group), None)
            return name, int(digits) if digits else None
    return None


def _is_webview(low: str) -> bool:
    # Android WebView marks itself "; wv)"; iOS in-app views lack both "Safari/" and "Version/".
    if "; wv)" in low:
        return True
    apple_mobile = ("iphone" in low or "ipad" in low or "ipod" in low) and "mobile/" in low
    return apple_mobile and "safari/" not in low and not any(
        token in low for token in ("crios/", "fxios/", "edgios/", "opios/"))


_IOS_APP_TOKENS = ("fban", "fbav", "instagram", "linkedinapp", "twitter", "line/", "gsa/",
                   "micromessenger", "snapchat", "pinterest", "tiktok", "musical_ly")


def _is_plain_apple_webkit(low: str) -> bool:
    # Apple Mail's own requests carry nothing after "(KHTML, like Gecko)" but an iOS build tag;
    # another app's web view adds its name (FBAN, Instagram, GSA …).
    if "safari/" in low or "version/" in low or "chrome" in low or "firefox" in low:
        return False
    return not any(token in low for token in _IOS_APP_TOKENS)


_CRAWLER_NAME = re.compile(r"[A-Za-z0-9_.!-]*(?:bot|crawler|spider|slurp)", re.IGNORECASE)


def _crawler_name(ua: str) -> str | None:
    match = _CRAWLER_NAME.search(ua)
    return match.group(0) if match else _first_product(ua)


def _first_product(ua: str) -> str | None:
    product = ua.split(" ", 1)[0].split("/", 1)[0].strip("();,")
    return product or None
