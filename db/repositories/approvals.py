"""Approvals waiting for a supervisor (legal escalations and gated steps), oldest first, with the
account facts a supervisor decides on. Deciding goes through the account's workflow
(services/steering.py), which marks the row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Account, Approval, Debtor
from db.models import AccountState as AccountStateRow


@dataclass(frozen=True)
class Waiting:
    approval_id: int
    account_id: int
    campaign_id: str
    external_id: str
    debtor_name: str
    debtor_locale: str  # empty when the import named none (the strategy's locale applies)
    subject: str  # step | legal
    step: str
    requested_at: datetime
    balance: int
    currency: str


def pending(session: Session, *, campaign_id: str | None, after: int | None, limit: int) -> list[Waiting]:
    """Up to `limit + 1` pending approvals by id (the extra one tells that more exist)."""
    query = (
        select(Approval, Account, Debtor.name, Debtor.locale, AccountStateRow.balance)
        .join(Account, Account.id == Approval.account_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .where(Approval.status == "pending")
        .order_by(Approval.id)
        .limit(limit + 1)
    )
    if campaign_id is not None:
        query = query.where(Account.campaign_id == campaign_id)
    if after is not None:
        query = query.where(Approval.id > after)
    return [
        Waiting(
            approval_id=approval.id,
            account_id=account.id,
            campaign_id=account.campaign_id,
            external_id=account.external_id,
            debtor_name=name,
            debtor_locale=locale,
            subject=approval.subject,
            step=approval.step,
            requested_at=approval.requested_at,
            balance=balance if balance is not None else account.balance,
            currency=account.currency,
        )
        for approval, account, name, locale, balance in session.execute(query)
    ]
