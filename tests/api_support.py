"""Users with API tokens, for API tests that don't need the Google flow, and the hits the worker is handed."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import select

from mailbeacon.services.api_tokens import issue_token
from mailbeacon.storage.models import ApiToken, MailAccount, User

from .factories import CHROME_UA


def user_with_token(rt, email: str) -> tuple[int, dict]:
    with rt.db.transaction() as s:
        user = User(email=email)
        s.add(user)
        s.flush()
        s.add(MailAccount(user_id=user.id, provider="gmail", address=email, encrypted_secret=rt.secrets.encrypt("x")))
        token = issue_token(s, user, client="extension")
        return user.id, {"Authorization": f"Bearer {token.token}"}


def add_account(rt, user_id: int, *, provider: str, address: str) -> int:
    """A second connected account for a user (one Google and one Microsoft, say)."""
    with rt.db.transaction() as s:
        account = MailAccount(user_id=user_id, provider=provider, address=address,
                              encrypted_secret=rt.secrets.encrypt("x"))
        s.add(account)
        s.flush()
        return account.id


def account_id_of(rt, user_id: int, provider: str = "gmail") -> int:
    with rt.db.session() as s:
        return s.scalar(select(MailAccount.id).where(MailAccount.user_id == user_id, MailAccount.provider == provider))


def token_id_of(rt, user_id: int) -> int:
    with rt.db.session() as s:
        return s.scalar(select(ApiToken.id).where(ApiToken.user_id == user_id))


def hit_for(message, *, type="open", link=None, at=None, ua=CHROME_UA, ip="198.51.100.20", method="GET") -> dict:
    """A hit as the request path hands it to the worker (what process_hit_batch and record_batch take)."""
    return {"uid": secrets.token_hex(16), "at": at or time.time(), "type": type, "message_id": message.id,
            "link": link, "method": method, "user_agent": ua, "ip": ip, "headers": {}}
