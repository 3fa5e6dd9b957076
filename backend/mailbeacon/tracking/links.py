"""The per-message list of tracked links.

One registry lives for one message. Every part of the message (the HTML body and its text/plain
alternative) registers the destinations it rewrites here, so a destination that appears in both
gets one index and one click URL, and a click on either counts as a click on the same link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrackedLink:
    index: int  # 0-based, in document order of first appearance
    url: str  # the destination exactly as written (decoded from HTML); '' for the honeypot
    honeypot: bool = False

    def to_dict(self) -> dict:
        return {"index": self.index, "url": self.url, "honeypot": self.honeypot}


class LinkRegistry:
    """Assigns link indexes; the same destination used twice in a message (HTML and its text alternative) shares one.

    `click_url_for(index)` is called once per index, so a token generator with side effects (or a
    random component) still yields one stable click URL per link.

    The honeypot link has no destination (`url == ''`): nobody can see or reach it, so whatever
    requests it is a machine, and the click handler has nothing to redirect to.
    """

    def __init__(self, click_url_for: Callable[[int], str]) -> None:
        self._click_url_for = click_url_for
        self._links: list[TrackedLink] = []
        self._click_urls: list[str] = []
        self._index_by_url: dict[str, int] = {}
        self._honeypot_index: int | None = None

    def track(self, url: str) -> str:
        """Return the click URL for `url`, registering it on first sight."""
        if not isinstance(url, str) or not url:
            raise ValueError("a tracked link needs a non-empty destination")
        index = self._index_by_url.get(url)
        if index is None:
            index = self._register(TrackedLink(index=len(self._links), url=url))
            self._index_by_url[url] = index
        return self._click_urls[index]

    def track_honeypot(self) -> str:
        """Register the honeypot link (once per message) and return its click URL."""
        if self._honeypot_index is None:
            self._honeypot_index = self._register(
                TrackedLink(index=len(self._links), url="", honeypot=True)
            )
        return self._click_urls[self._honeypot_index]

    @property
    def links(self) -> list[TrackedLink]:
        return list(self._links)

    def _register(self, link: TrackedLink) -> int:
        click_url = self._click_url_for(link.index)
        if not isinstance(click_url, str) or not click_url:
            raise ValueError(f"click_url_for({link.index}) returned no URL")
        self._links.append(link)
        self._click_urls.append(click_url)
        return link.index
