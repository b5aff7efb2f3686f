"""The communications log (every attempt, sent or blocked), provider delivery events and the sandbox outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of

COMMUNICATION_STATUSES = (
    "pending",
    "sent",
    "blocked",
    "failed",
    "unknown",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "replied",
)


class Communication(Base):
    """One planned message and what became of it.

    `key` is the idempotency key (`workflow_id:seq`, or `workflow_id:blocked:turn:index` for messages the
    policy blocked while planning); its unique constraint is what stops an activity retry from sending twice.
    """

    __tablename__ = "communications"
    __table_args__ = (
        CheckConstraint(one_of("status", COMMUNICATION_STATUSES), name="status"),
        # The account timeline and the legal case file read an account's log in time order.
        Index(None, "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    workflow_id: Mapped[str] = mapped_column(String, index=True)
    seq: Mapped[int | None]
    step: Mapped[str] = mapped_column(String)
    channel: Mapped[str] = mapped_column(String)
    template: Mapped[str | None] = mapped_column(String)
    to_address: Mapped[str | None] = mapped_column(String)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    provider: Mapped[str | None] = mapped_column(String)
    # Delivery webhooks identify the message only by the provider's id.
    provider_id: Mapped[str | None] = mapped_column(String, index=True)
    blocked_rule: Mapped[str | None] = mapped_column(String)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    moved_to: Mapped[str | None] = mapped_column(String)
    error_code: Mapped[str | None] = mapped_column(String)
    error_message: Mapped[str | None] = mapped_column(Text)
    planned_at: Mapped[datetime]
    attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageEvent(Base):
    """A provider webhook event; (provider, provider_event_id) makes redelivered webhooks harmless."""

    __tablename__ = "message_events"
    __table_args__ = (UniqueConstraint("provider", "provider_event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: an event can arrive for a message we cannot (yet) match, and is kept for diagnosis.
    communication_id: Mapped[int | None] = mapped_column(ForeignKey("communications.id"), index=True)
    provider: Mapped[str] = mapped_column(String)
    provider_event_id: Mapped[str | None] = mapped_column(String)
    event: Mapped[str] = mapped_column(String)
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class OutboxMessage(Base):
    """What the sandbox channel and the print vendor would deliver; one row per communication."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    communication_id: Mapped[int] = mapped_column(ForeignKey("communications.id"), unique=True)
    channel: Mapped[str] = mapped_column(String)
    to_address: Mapped[str] = mapped_column(String)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # The PDF statement that goes with it (`send: {attach: ...}`): what the print vendor encloses.
    attachment_name: Mapped[str | None] = mapped_column(String)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
