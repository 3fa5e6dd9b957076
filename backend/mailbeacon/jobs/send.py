"""RQ job: send one tracked message. Takes the message id and reloads everything."""

from __future__ import annotations

from ..services.gmail_accounts import gmail_provider_for
from ..services.send_gmail import send_tracked_gmail
from . import context


def send_message(message_id: int) -> str:
    rt = context.current_runtime()
    return send_tracked_gmail(rt, message_id, provider_for=gmail_provider_for)
