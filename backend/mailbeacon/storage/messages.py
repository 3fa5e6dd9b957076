"""Queries about tracked messages and their links."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Link, TrackedMessage


def link_destination(session: Session, message_id: int, position: int) -> str | None:
    return session.scalar(select(Link.url).where(Link.message_id == message_id, Link.position == position))


def message_exists(session: Session, message_id: int) -> bool:
    return session.scalar(select(TrackedMessage.id).where(TrackedMessage.id == message_id)) is not None


def by_public_id(session: Session, public_id: str) -> TrackedMessage | None:
    return session.scalar(select(TrackedMessage).where(TrackedMessage.public_id == public_id))


def link_destinations(session: Session, message_id: int) -> dict[int, str]:
    rows = session.execute(select(Link.position, Link.url).where(Link.message_id == message_id)).all()
    return {position: url for position, url in rows}
