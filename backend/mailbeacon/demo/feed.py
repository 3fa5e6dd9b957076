"""What a sender sees, read through that sender's own API token exactly as their client (the extension, the add-in)
reads it. Each demo sender has a feed of their own, so each sees only their own messages.

The page's sender panel gets one snapshot per sender from the demo app::

    {"messages": [<GET /api/v1/messages/{id}> for the newest few, each with its timeline],
     "notifications": [<GET /api/v1/notifications> items, newest first],
     "error": <why the last refresh failed, or absent>}

The items are the API's own JSON, unchanged, so the panel shows the kind and reason the classifier gave each hit
as the product's clients receive them. The requests go through the sender's own client (from the senders'
address, with that sender's token), never from the browser: the browser plays the recipient.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from .sender import DemoError, SenderClient

MESSAGES_SHOWN = 5
NOTIFICATIONS_SHOWN = 50
# Every open tab polls once a second; one refresh per interval serves them all. With MESSAGES_SHOWN details a
# refresh is 2 + MESSAGES_SHOWN calls, which keeps a second's worth well inside the per-token rate limit.
REFRESH_SECONDS = 0.9


class SenderFeed(Protocol):
    def snapshot(self) -> dict: ...


class ApiFeed:
    def __init__(self, client: SenderClient, *, clock=time.monotonic) -> None:
        self.client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict = {"messages": [], "notifications": []}
        self._fetched_at: float | None = None

    def snapshot(self) -> dict:
        with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < REFRESH_SECONDS:
                return self._last
            try:
                listed = self.client.get_json("/api/v1/messages", params={"limit": MESSAGES_SHOWN})["messages"]
                details = [self.client.get_json(f"/api/v1/messages/{item['id']}") for item in listed]
                notes = self.client.get_json("/api/v1/notifications",
                                             params={"limit": NOTIFICATIONS_SHOWN})["notifications"]
            except DemoError as exc:
                # Keep showing what was last known; say why it is not fresher.
                self._fetched_at = now
                self._last = {**self._last, "error": str(exc)}
                return self._last
            self._fetched_at = now
            self._last = {"messages": details, "notifications": notes}
            return self._last
