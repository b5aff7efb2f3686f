"""The two lookups every activity starts with: the account row of a workflow, and the row an
earlier attempt already wrote under the same idempotency key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Account,
    AccountEvent,
    AgentTask,
    Approval,
    Communication,
    Fee,
    InterestCharge,
    LegalReferral,
    OutcomeRecord,
    Promise,
)

Keyed = type[
    AccountEvent | AgentTask | Approval | Communication | Fee | InterestCharge | LegalReferral | OutcomeRecord | Promise
]


def account_by_workflow(session: Session, workflow_id: str) -> Account:
    """The account row of a workflow; register_account always ran first."""
    row = session.scalar(select(Account).where(Account.workflow_id == workflow_id))
    if row is None:
        raise LookupError(f"no account row for workflow {workflow_id}: register_account has not run")
    return row


def id_by_key(session: Session, model: Keyed, key: str) -> int | None:
    """The id of the row written under idempotency `key`, if an earlier attempt wrote it."""
    return session.scalar(select(model.id).where(model.key == key))
