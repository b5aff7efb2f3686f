"""What the strategy's interpreter reported about an account that no other fact holds: an agent
task that expired with nobody working it, an offer whose time ran out, a payment beyond what was
owed (a refund or credit due), a refund or credit of it recorded. The turn record writes
them from its informational actions (domain/actions.py); a refund on an account whose workflow
has finished is written by services/refunds.py instead. The account timeline reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models._checks import one_of

ACCOUNT_EVENT_KINDS = ("task_expired", "offer_expired", "overpaid", "refund")


class AccountEvent(Base):
    """One reported moment; `key` (workflow:turn:index) makes a retried turn record write it once."""

    __tablename__ = "account_events"
    __table_args__ = (CheckConstraint(one_of("kind", ACCOUNT_EVENT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    step: Mapped[str] = mapped_column(String)
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]]
