"""Approvals for the supervisors who decide them: the list of what waits (or was decided), with
the account it gates. The rows are written by the workflows' turns (activities/turns.py); a
decision goes to the account's workflow, never straight to these rows. The API's GET /approvals
and the console's approvals queue read the same list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Account, Approval, Debtor
from db.models import AccountState as AccountStateRow
from db.repositories.tasks import MAX_ID


@dataclass(frozen=True)
class ApprovalRow:
    """An approval with the account facts a list shows next to it."""

    approval: Approval
    campaign_id: str
    external_id: str
    balance: int  # as of the account's last turn (the read model), else as imported
    currency: str
    debtor_name: str
    debtor_locale: str  # empty when the import named none (the strategy's locale applies)


def listing(
    session: Session, *, status: str | None, campaign_id: str | None, after: int | None, limit: int
) -> list[ApprovalRow]:
    """Approvals by id (`status` and `campaign_id` when given). Fetches `limit + 1` rows (see api.pagination)."""
    balance = func.coalesce(AccountStateRow.balance, Account.balance)
    columns = (Account.campaign_id, Account.external_id, balance, Account.currency, Debtor.name, Debtor.locale)
    query = (
        select(Approval, *columns)
        .join(Account, Account.id == Approval.account_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
    )
    if status is not None:
        query = query.where(Approval.status == status)
    if campaign_id is not None:
        query = query.where(Account.campaign_id == campaign_id)
    if after is not None:
        query = query.where(Approval.id > min(after, MAX_ID))
    rows = session.execute(query.order_by(Approval.id).limit(limit + 1))
    return [ApprovalRow(*row) for row in rows]
