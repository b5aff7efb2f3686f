"""Accounts: one debt of one debtor inside one campaign, each run by exactly one workflow."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._money import currency_digits


class Account(Base):
    """An account as loaded at launch; `snapshot_json` keeps the exact input the workflow started from."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "external_id"),
        # A campaign's accounts page by id (GET /accounts?campaign_id=...&cursor=...).
        Index(None, "campaign_id", "id"),
        # The launcher's next batch, `campaign_id = ? AND launched_at IS NULL ORDER BY id LIMIT n`,
        # reads only accounts still to start, in order, however many the campaign has launched.
        Index(
            "ix_accounts_unlaunched",
            "campaign_id",
            "id",
            postgresql_where=text("launched_at IS NULL"),
            sqlite_where=text("launched_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    external_id: Mapped[str] = mapped_column(String)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String, unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    currency_digits: Mapped[int] = currency_digits()  # the exponent its amounts were written with
    balance: Mapped[int] = mapped_column(BigInteger)
    original_amount: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date]
    # jsonb on PostgreSQL: reading a field (`snapshot_json ->> 'balance'`) does not re-parse the text.
    snapshot_json: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set once the account's workflow has been started; the launcher picks rows where it is null.
    launched_at: Mapped[datetime | None] = mapped_column(index=True)
