"""Users with API tokens, for API tests that don't need the Google flow."""

from __future__ import annotations

from mailbeacon.services.api_tokens import issue_token
from mailbeacon.storage.models import MailAccount, User


def user_with_token(rt, email: str) -> tuple[int, dict]:
    with rt.db.transaction() as s:
        user = User(email=email)
        s.add(user)
        s.flush()
        s.add(MailAccount(user_id=user.id, provider="gmail", address=email, encrypted_secret=rt.secrets.encrypt("x")))
        token = issue_token(s, user, client="extension")
        return user.id, {"Authorization": f"Bearer {token.token}"}
