"""The supervisors' read model: one row per account, projected from workflow state by activities."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class AccountState(Base):
    """The latest projection of an account's workflow state.

    `version` only grows: writers must update only when their version is newer, because activity retries
    and out-of-order completions can deliver an older projection after a newer one.
    """

    __tablename__ = "account_states"
    # The supervisors' list filters by these and pages by account id (db/repositories/accounts.py):
    # each index serves one filter (within a campaign, or across campaigns) in page order.
    __table_args__ = (
        Index(None, "campaign_id", "stage", "account_id"),
        Index(None, "campaign_id", "segment", "account_id"),
        Index(None, "campaign_id", "variant", "account_id"),
        # The days-past-due bucket is a range of `past_due_since` (services/accounts_view.py).
        Index(None, "campaign_id", "past_due_since", "account_id"),
        Index(None, "stage", "account_id"),
        Index(None, "assigned_agent", "account_id"),
        # Accounts the creditor owes a refund or credit: few, so partial indexes hold only them, in
        # page order within a campaign (the list's filter, the KPI's sum) and across campaigns.
        Index(
            "ix_account_states_overpaid_campaign",
            "campaign_id",
            "account_id",
            postgresql_where=text("overpaid > 0"),
            sqlite_where=text("overpaid > 0"),
        ),
        Index(
            "ix_account_states_overpaid",
            "account_id",
            postgresql_where=text("overpaid > 0"),
            sqlite_where=text("overpaid > 0"),
        ),
        # The charged KPI's sums (db/repositories/kpis.py `charged`), answered from the index alone
        # (an index-only scan): only accounts charged something, the totals among the columns.
        Index(
            "ix_account_states_charged",
            "campaign_id",
            "currency",
            "fees_total",
            "interest_total",
            postgresql_where=text("fees_total > 0 OR interest_total > 0"),
            sqlite_where=text("fees_total > 0 OR interest_total > 0"),
        ),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String, unique=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String)
    step: Mapped[str] = mapped_column(String)
    segment: Mapped[str] = mapped_column(String)
    variant: Mapped[str | None] = mapped_column(String)
    strategy_hash: Mapped[str] = mapped_column(String(64))
    balance: Mapped[int] = mapped_column(BigInteger)
    paid_total: Mapped[int] = mapped_column(BigInteger)
    # Paid beyond what was owed (domain.state.AccountState.overpaid): a refund or credit due.
    overpaid: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # Fees and interest the campaign charged so far (domain.state.AccountState.fees_total and
    # interest_total): part of `balance`, shown apart so people see what the debt grew by.
    fees_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    interest_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3))
    hold: Mapped[str | None] = mapped_column(String)
    resolution: Mapped[str | None] = mapped_column(String)
    next_action: Mapped[str | None] = mapped_column(String)
    next_action_at: Mapped[datetime | None]
    promise_amount: Mapped[int | None] = mapped_column(BigInteger)
    promise_due: Mapped[date | None]
    plan_summary: Mapped[str | None] = mapped_column(String)
    assigned_agent: Mapped[str | None] = mapped_column(String)
    # As of the last turn, as its strategy counted them (domain/conditions.edition_days_past_due).
    days_past_due: Mapped[int]
    # The date those days count from (domain/conditions.past_due_since): lists and pages count
    # from it to the debtor's today. Null in rows written before it existed, which read the
    # account's due date instead (migrations 0016 filled them so).
    past_due_since: Mapped[date | None]
    contacts: Mapped[int]
    version: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
