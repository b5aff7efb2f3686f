"""Webhooks to the creditor's systems (the strategy's `notify` action): one row per notification,
under the workflow's idempotency key, holding what was sent and what the receiver answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of
from db.models._money import currency_digits

# retrying: an attempt failed in a way worth trying again (5xx, 408, 429, timeout, no connection);
# delivered: a 2xx; rejected: another 4xx (never retried); failed: the last attempt failed;
# not_configured: the campaign has no notify URL; refused: the URL points where webhooks may not go.
NOTIFICATION_STATUSES = ("retrying", "delivered", "rejected", "failed", "not_configured", "refused")


class CreditorNotification(Base):
    """One `notify` of one account: the event, the body sent (the same on every attempt), and the
    last attempt's answer."""

    __tablename__ = "creditor_notifications"
    __table_args__ = (CheckConstraint(one_of("status", NOTIFICATION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String)
    event: Mapped[str] = mapped_column(String(64))
    balance: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent `balance` was written with
    url: Mapped[str | None] = mapped_column(String)
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(String)
    error: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # the turn that asked for it
    answered_at: Mapped[datetime | None]  # the last attempt's end
