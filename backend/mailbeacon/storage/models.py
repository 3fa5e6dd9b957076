"""SQLAlchemy 2 models. The schema itself is owned by the Alembic migrations in storage/migrations/.

Everything a user's tracking produced hangs off the user with ON DELETE CASCADE, so deleting a user (or one
of their accounts) deletes their tracking data with it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only gives autoincrementing 64-bit keys to INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


class UTCDateTime(TypeDecorator):
    """Timezone-aware everywhere; SQLite hands back naive values, so they are re-tagged as UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is not None and dialect.name == "sqlite":
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    accounts: Mapped[list["MailAccount"]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                         passive_deletes=True)
    settings: Mapped["UserSettings | None"] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                           uselist=False)


class MailAccount(Base):
    __tablename__ = "mail_accounts"
    __table_args__ = (UniqueConstraint("provider", "address", name="uq_mail_accounts_provider_address"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # gmail | outlook | local
    address: Mapped[str] = mapped_column(String(320))
    subject_id: Mapped[str | None] = mapped_column(String(255))  # the provider's stable user id (OIDC sub / oid)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    # Refresh token or serialised msal cache, encrypted (crypto.SecretBox); never stored in the clear.
    encrypted_secret: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="connected")  # connected | disconnected
    status_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="accounts")


class TrackedMessage(Base):
    __tablename__ = "tracked_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("mail_accounts.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16), default="local")
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    provider_thread_id: Mapped[str | None] = mapped_column(String(255))
    provider_draft_id: Mapped[str | None] = mapped_column(String(255))
    internet_message_id: Mapped[str | None] = mapped_column(String(998))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="registered")  # registered|sending|sent|failed|prepared|abandoned
    status_detail: Mapped[str | None] = mapped_column(Text)
    track_opens: Mapped[bool] = mapped_column(Boolean, default=False)
    track_clicks: Mapped[bool] = mapped_column(Boolean, default=False)
    tracking_skipped_reason: Mapped[str | None] = mapped_column(String(32))
    tracking_skipped_detail: Mapped[str | None] = mapped_column(Text)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the sender asked for and what their client saw, kept for the send job (which may run more than once).
    requested_opens: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    requested_clicks: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    client_seen: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # SHA-256 of the tracked message we put in the draft: a retried send recognises its own work.
    tracked_digest: Mapped[str | None] = mapped_column(String(64))
    # The draft as the user wrote it, encrypted, only while a send is in progress: a failed send puts it back.
    stashed_original: Mapped[str | None] = mapped_column(Text)
    # The summary, kept by the hit worker so that lists never aggregate hits on the fly.
    human_open_count: Mapped[int] = mapped_column(Integer, default=0)
    machine_open_count: Mapped[int] = mapped_column(Integer, default=0)
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    human_click_count: Mapped[int] = mapped_column(Integer, default=0)
    machine_click_count: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # After the columns, because the first index names two of them in descending order.
    __table_args__ = (
        # The list, newest first, and each cursor page, (created_at, id) < (c, i), are one range of this index,
        # read in order: no sort of the user's messages (migration 0005; it replaced (user_id, created_at)).
        Index("ix_tracked_messages_user_created", user_id, created_at.desc(), id.desc()),
        Index("ix_tracked_messages_thread", "user_id", "provider_thread_id"),
        # The Outlook sweep looks for prepared messages every minute: it must not scan the whole table.
        Index("ix_tracked_messages_status_provider", "status", "provider"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_tracked_messages_user_idem"),
        # Tokens in mail already sent name message ids: an id must never be handed out twice, even on SQLite.
        {"sqlite_autoincrement": True},
    )

    links: Mapped[list["Link"]] = relationship(order_by="Link.position", cascade="all, delete-orphan",
                                               passive_deletes=True, back_populates="message")


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("message_id", "position", name="uq_links_message_position"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("tracked_messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)  # exactly as the sender wrote it (HTML entities decoded)
    is_honeypot: Mapped[bool] = mapped_column(Boolean, default=False)
    human_click_count: Mapped[int] = mapped_column(Integer, default=0)
    machine_click_count: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    message: Mapped[TrackedMessage] = relationship(back_populates="links")


class Hit(Base):
    __tablename__ = "hits"
    __table_args__ = (Index("ix_hits_message_time", "message_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hit_uid: Mapped[str] = mapped_column(String(40), unique=True)  # made on the request path: replays store once
    message_id: Mapped[int] = mapped_column(ForeignKey("tracked_messages.id", ondelete="CASCADE"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    hit_type: Mapped[str] = mapped_column(String(8))  # open | click
    method: Mapped[str] = mapped_column(String(8), default="GET")
    kind: Mapped[str] = mapped_column(String(16))  # human | proxy_open | prefetch | scanner | preview | self | unknown
    reason: Mapped[str] = mapped_column(Text, default="")
    user_agent: Mapped[str | None] = mapped_column(Text)
    ip_prefix: Mapped[str | None] = mapped_column(String(64))  # /24 or /48: never a full address
    device_class: Mapped[str | None] = mapped_column(String(16))
    client: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(128))
    # False for a repeat of the same fetch seconds later (a proxy or client loading the pixel twice): kept, not counted.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the classifier saw, minus the full IP, so later hits (a burst) can re-classify this one.
    facts: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserSettings(Base):
    __tablename__ = "user_settings"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    open_tracking_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    click_tracking_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_track_opens: Mapped[bool] = mapped_column(Boolean, default=True)
    default_track_clicks: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_every_open: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_clicks: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))  # "22:00"
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    outlook_opened_category: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("tracked_messages.id", ondelete="CASCADE"))
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"), unique=True)
    event: Mapped[str] = mapped_column(String(16))  # open | click
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DoNotTrack(Base):
    """An address or a whole domain that must not be tracked: for one user (user_id) or for everyone (NULL)."""

    __tablename__ = "do_not_track"
    __table_args__ = (UniqueConstraint("user_id", "pattern", name="uq_do_not_track_user_pattern"),
                      Index("ix_do_not_track_pattern", "pattern"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(320))  # "person@example.com" or "@example.com"
    source: Mapped[str] = mapped_column(String(16), default="user")  # user | admin | optout
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    client: Mapped[str | None] = mapped_column(String(32))  # extension | addin | demo
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SenderActivity(Base):
    """The sender's own recent footprints (viewing signal, client IP prefix), for telling `self` hits apart."""

    __tablename__ = "sender_activity"
    __table_args__ = (Index("ix_sender_activity_user_time", "user_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("tracked_messages.id", ondelete="CASCADE"))
    activity: Mapped[str] = mapped_column(String(16))  # viewing | api
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    at_epoch: Mapped[float] = mapped_column(Float, default=0.0)


class AuthFlow(Base):
    """A sign-in in progress: what we must remember between sending the user to the provider and their return."""

    __tablename__ = "auth_flows"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # encrypted values only for secrets (PKCE verifier)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuthCode(Base):
    """The one-time code a client exchanges (with its PKCE verifier) for an API token."""

    __tablename__ = "auth_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(32))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
