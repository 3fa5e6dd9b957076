"""Do-not-track entries: an address or a whole domain, for one user or for everyone."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .models import DoNotTrack
from .users import normalise_address


def patterns_for(address: str) -> list[str]:
    """The entries that would cover this address: itself and its domain (and parent domains: a.b.example.com
    is covered by @b.example.com and @example.com, so a company can list its whole domain once)."""
    address = normalise_address(address)
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        return [address]
    labels = domain.split(".")
    return [address] + ["@" + ".".join(labels[i:]) for i in range(len(labels) - 1)]


def normalise_pattern(pattern: str) -> str:
    pattern = normalise_address(pattern)
    if "@" not in pattern:
        pattern = "@" + pattern  # a bare domain means the whole domain
    if pattern.startswith("@"):
        domain = pattern[1:]
        if not domain or "." not in domain or any(not label for label in domain.split(".")):
            raise ValueError(f"{pattern!r} is not a domain")
    else:
        local, _, domain = pattern.rpartition("@")
        if not local or "." not in domain:
            raise ValueError(f"{pattern!r} is not an email address")
    return pattern


def blocked_recipients(session: Session, user_id: int | None, addresses: Iterable[str]) -> list[str]:
    """The addresses (as given) that a user's list or the global list says not to track."""
    wanted: dict[str, list[str]] = {}
    for address in addresses:
        for pattern in patterns_for(address):
            wanted.setdefault(pattern, []).append(address)
    if not wanted:
        return []
    owner = DoNotTrack.user_id.is_(None) if user_id is None else or_(DoNotTrack.user_id.is_(None),
                                                                         DoNotTrack.user_id == user_id)
    found = session.scalars(select(DoNotTrack.pattern).where(owner, DoNotTrack.pattern.in_(list(wanted)))).all()
    blocked: list[str] = []
    for pattern in found:
        for address in wanted[pattern]:
            if address not in blocked:
                blocked.append(address)
    return blocked


def add_entry(session: Session, pattern: str, *, user_id: int | None, source: str = "user") -> DoNotTrack:
    pattern = normalise_pattern(pattern)
    owner = DoNotTrack.user_id.is_(None) if user_id is None else DoNotTrack.user_id == user_id
    existing = session.scalar(select(DoNotTrack).where(owner, DoNotTrack.pattern == pattern))
    if existing is not None:
        return existing
    entry = DoNotTrack(user_id=user_id, pattern=pattern, source=source)
    session.add(entry)
    session.flush()
    return entry
