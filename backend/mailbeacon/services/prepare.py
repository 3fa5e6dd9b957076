"""prepare_tracked_message: the one place where a message becomes a tracked message.

Every send path (the command line's `inject`, Gmail, Graph, Outlook's prepare path) goes through here, so a
message is tracked the same way whichever client sent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..runtime import Runtime
from ..storage import donottrack
from ..storage.models import Link, TrackedMessage, User
from ..storage.users import settings_for
from ..tracking.envelope import Envelope, MalformedMessage, read_envelope
from ..tracking.mime import InjectionOptions, InjectionReport, inject

# Tokens made for --dry-run name message 0, which no row ever has, so a dry run's output can't be mistaken for
# (or collide with) a registered message.
DRY_RUN_MESSAGE_ID = 0


class RefusedMessage(ValueError):
    """The input is not a message we can send at all (as opposed to one we send untracked)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class PreparedMessage:
    raw: bytes
    report: InjectionReport
    envelope: Envelope
    message: TrackedMessage | None
    do_not_track: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        data = self.report.to_dict()
        data["message_id"] = self.message.public_id if self.message is not None else None
        data["recipients"] = self.envelope.recipients
        data["do_not_track"] = len(self.do_not_track)
        return data


def prepare_tracked_message(
    rt: Runtime,
    session: Session,
    *,
    user: User | None,
    raw: bytes,
    track_opens: bool,
    track_clicks: bool,
    provider: str = "local",
    account_id: int | None = None,
    idempotency_key: str | None = None,
    dry_run: bool = False,
    message: TrackedMessage | None = None,
) -> PreparedMessage:
    """Register the message and its links (unless dry_run) and return the tracked bytes with the report.

    Raises RefusedMessage only for input that is not a message at all; everything else (signed mail, an empty
    body, a do-not-track recipient) comes back as an untracked message with the reason in the report.
    """
    if len(raw) > rt.config.max_message_bytes:
        raise RefusedMessage("too_large", f"message is {len(raw)} bytes; the limit is {rt.config.max_message_bytes}")
    try:
        envelope = read_envelope(raw)
    except MalformedMessage as exc:
        raise RefusedMessage("malformed", getattr(exc, "reason", None) or str(exc)) from None

    if user is None and not dry_run:
        raise ValueError("a registered message needs a sender")
    settings = settings_for(session, user.id) if user is not None else None
    chosen_opens, chosen_clicks = track_opens, track_clicks
    if settings is not None:
        # The account settings win over the composer: "off" means the sender's admin or the sender turned it off.
        track_opens = track_opens and settings.open_tracking_enabled
        track_clicks = track_clicks and settings.click_tracking_enabled

    blocked = donottrack.blocked_recipients(session, user.id if user else None, envelope.recipients) if envelope.recipients else []

    message_id = DRY_RUN_MESSAGE_ID
    if not dry_run:
        assert user is not None
        if message is None:
            message = TrackedMessage(user_id=user.id, account_id=account_id, provider=provider,
                                     idempotency_key=idempotency_key)
            session.add(message)
        else:
            # Prepared again (a retried send whose draft changed): the earlier links no longer exist in the mail.
            session.execute(delete(Link).where(Link.message_id == message.id))
        message.subject = envelope.subject
        message.recipients = envelope.recipients
        message.internet_message_id = envelope.message_id or message.internet_message_id
        message.track_opens = track_opens and not blocked
        message.track_clicks = track_clicks and not blocked
        session.flush()
        message_id = message.id

    if blocked:
        report = _untracked_report("do_not_track",
                                   f"{len(blocked)} recipient(s) on a do-not-track list: sent without tracking")
        tracked_raw = raw
    else:
        options = InjectionOptions(
            track_opens=track_opens,
            track_clicks=track_clicks,
            pixel_url=rt.open_url(message_id) if track_opens else None,
            click_url_for=lambda index: rt.click_url(message_id, index),
            tracking_base=rt.config.public_url,
            honeypot=rt.config.honeypot_link,
            max_bytes=rt.config.max_message_bytes,
        )
        tracked_raw, report = inject(raw, options)

    if message is not None:
        message.tracking_skipped_reason = report.skipped_reason
        message.tracking_skipped_detail = report.detail
        if not report.tracked:
            message.track_opens = message.track_clicks = False
        else:
            message.track_opens = message.track_opens and report.pixels > 0
            message.track_clicks = message.track_clicks and any(not l.honeypot for l in report.links)
        for link in report.links:
            session.add(Link(message_id=message.id, position=link.index, url=link.url, is_honeypot=link.honeypot))
        if settings is not None:
            # The composer starts from the sender's last choice (what they ticked, before account settings).
            settings.default_track_opens = chosen_opens
            settings.default_track_clicks = chosen_clicks
        session.flush()
    return PreparedMessage(raw=tracked_raw, report=report, envelope=envelope, message=message, do_not_track=blocked)


def _untracked_report(reason: str, detail: str) -> InjectionReport:
    return InjectionReport(tracked=False, skipped_reason=reason, detail=detail, links=[], pixels=0, html_parts=0,
                           text_parts=0, links_left_alone=0, old_pixels_removed=0, notes=[])


def mark_sent(message: TrackedMessage, *, sent_at: datetime, provider_message_id: str | None = None,
              provider_thread_id: str | None = None) -> None:
    message.status = "sent"
    message.sent_at = sent_at
    message.provider_message_id = provider_message_id or message.provider_message_id
    message.provider_thread_id = provider_thread_id or message.provider_thread_id
