"""The process-wide parts built from a Config: database, key rings, URL builders.

Built lazily by create_app() and by the command line; nothing here connects until first used.
"""

from __future__ import annotations

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

    # The URLs that go into mail. They carry nothing but a signed token.
    def open_url(self, message_id: int) -> str:
        return f"{self.config.public_url}/o/{tokens.sign('open', message_id, keyring=self.keyring)}"

    def click_url(self, message_id: int, link_index: int) -> str:
        return f"{self.config.public_url}/c/{tokens.sign('click', message_id, link_index, keyring=self.keyring)}"

    def optout_url(self, message_id: int) -> str:
        return f"{self.config.public_url}/u/{tokens.sign('optout', message_id, keyring=self.keyring)}"
