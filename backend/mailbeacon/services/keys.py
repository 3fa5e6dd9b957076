"""Re-encrypting secrets at rest under the current key, so a retired key can be dropped from the key ring."""

from __future__ import annotations

from sqlalchemy import select

from ..runtime import Runtime
from ..storage.models import MailAccount, TrackedMessage


def rotate_secrets(rt: Runtime) -> dict[str, int]:
    box = rt.secrets
    counts = {"accounts": 0, "stashed_drafts": 0}
    with rt.db.transaction() as session:
        for account in session.scalars(select(MailAccount).where(MailAccount.encrypted_secret.is_not(None))):
            if box.needs_rotation(account.encrypted_secret):
                account.encrypted_secret = box.rotate(account.encrypted_secret)
                counts["accounts"] += 1
        for message in session.scalars(select(TrackedMessage).where(TrackedMessage.stashed_original.is_not(None))):
            if box.needs_rotation(message.stashed_original):
                message.stashed_original = box.rotate(message.stashed_original)
                counts["stashed_drafts"] += 1
    return counts
