"""Queries about users, their accounts and their settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import MailAccount, User, UserSettings


def normalise_address(address: str) -> str:
    """Addresses compare case-insensitively in practice (every big provider ignores local-part case)."""
    return address.strip().lower()


def get_or_create_local_user(session: Session, email: str) -> User:
    email = normalise_address(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, is_local=True)
        session.add(user)
        session.flush()
        session.add(MailAccount(user_id=user.id, provider="local", address=email))
        session.flush()
    return user


def settings_for(session: Session, user_id: int) -> UserSettings:
    settings = session.get(UserSettings, user_id)
    if settings is None:
        # Two first requests of a new user can race to create the row: the loser reads the winner's.
        try:
            with session.begin_nested():
                settings = UserSettings(user_id=user_id)
                session.add(settings)
                session.flush()
        except IntegrityError:
            settings = session.get(UserSettings, user_id, populate_existing=True)
            if settings is None:
                raise
    return settings
