"""The process-wide parts built from a Config: database, key rings, URL builders.

Built lazily by create_app() and by the command line; nothing here connects until first used.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .config import Config
from .crypto import SecretBox
from .storage.db import Database
from .tracking import tokens
from .tracking.tokens import Keyring


@dataclass
class Runtime:
    config: Config
    db: Database = field(init=False)
    keyring: Keyring = field(init=False)
    secrets: SecretBox = field(init=False)

    def __post_init__(self) -> None:
        self.db = Database(self.config.database_url)
        self.keyring = Keyring(self.config.token_keys)
        self.secrets = SecretBox(self.config.encryption_keys)
        self._lock = threading.Lock()
        self._lazy: dict[str, object] = {}
        # Set by close(): in-process work waiting to retry (embedded send jobs) gives up instead of running on
        # against a runtime whose connections are gone.
        self.closing = threading.Event()

    def _once(self, name: str, make):
        with self._lock:
            if name not in self._lazy:
                self._lazy[name] = make()
            return self._lazy[name]

    @property
    def redis(self):
        """Redis for workers and the API (None in embedded mode). Short timeouts: an outage must fail fast."""
        if not self.config.redis_url:
            return None
        import redis

        return self._once("redis", lambda: redis.Redis.from_url(
            self.config.redis_url, socket_timeout=2.0, socket_connect_timeout=1.0, health_check_interval=30))

    @property
    def hit_redis(self):
        """The request path's own Redis client: tighter timeouts, since a pixel answer must never wait on Redis."""
        if not self.config.redis_url:
            return None
        import redis

        return self._once("hit_redis", lambda: redis.Redis.from_url(
            self.config.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25))

    @property
    def broker(self):
        """In-process pub/sub (embedded mode): the same process runs the jobs and serves the clients."""
        from .notify.publish import LocalBroker

        return self._once("broker", LocalBroker)

    def close(self) -> None:
        self.closing.set()
        for name in ("redis", "hit_redis"):
            client = self._lazy.pop(name, None)
            if client is not None:
                client.close()
        self.db.dispose()

    # The URLs that go into mail. They carry nothing but a signed token.
    def open_url(self, message_id: int) -> str:
        return f"{self.config.public_url}/o/{tokens.sign('open', message_id, keyring=self.keyring)}"

    def click_url(self, message_id: int, link_index: int) -> str:
        return f"{self.config.public_url}/c/{tokens.sign('click', message_id, link_index, keyring=self.keyring)}"

    def optout_url(self, message_id: int) -> str:
        return f"{self.config.public_url}/u/{tokens.sign('optout', message_id, keyring=self.keyring)}"
