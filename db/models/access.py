"""Who may call the API: per-person API keys with a role, stored only as hashes, and the replay
store behind the `Idempotency-Key` header."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of

ROLES = ("admin", "strategist", "supervisor", "agent")


class ApiKey(Base):
    """One person's key. `subject` is who they are (an agent's id in tasks and outcomes); `queues`
    are the agent queues they work. Only the SHA-256 of the key is kept: keys are 32 random bytes,
    so a slow hash adds nothing against guessing and would slow every request."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String, index=True)
    role: Mapped[str] = mapped_column(String)
    queues: Mapped[list[str]]
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer given to `(principal, key)`. `fingerprint` is the SHA-256 of method, path
    and body; `status_code` stays null while the first request is still running."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookReceipt(Base):
    """A provider event already handled: `(source, event_id)` makes redeliveries count once."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
