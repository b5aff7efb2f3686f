"""Refunds and credits of overpayments as the database holds them: `refund` account events (the
turn record writes a running account's; services/refunds.py an account's whose workflow has
finished) and the read model's `overpaid` they reduce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import AccountEvent
from db.models import AccountState as AccountStateRow


def recorded(session: Session, account_id: int, reference: str) -> AccountEvent | None:
    """The account's refund recorded under `reference`, or None. (An account has a handful of
    refund events at most: they are read and compared here rather than through the JSON column,
    which SQLite and PostgreSQL query differently.)"""
    events = session.scalars(
        select(AccountEvent).where(AccountEvent.account_id == account_id, AccountEvent.kind == "refund")
    )
    return next((e for e in events if e.details.get("reference") == reference), None)


def take_from_overpaid(session: Session, account_id: int, amount: int) -> bool:
    """Lower the read model's `overpaid` by `amount` unless less than that is left (another refund
    got there first); True when it did."""
    done = session.execute(
        update(AccountStateRow)
        .where(AccountStateRow.account_id == account_id, AccountStateRow.overpaid >= amount)
        .values(overpaid=AccountStateRow.overpaid - amount)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def add_event(
    session: Session, account_id: int, step: str, at: datetime, reference: str, details: dict[str, Any]
) -> AccountEvent:
    """The timeline's `refund` event of an account whose workflow has finished; its key is the
    reference, so the same refund twice is refused by the database too."""
    event = AccountEvent(
        key=f"refund:{account_id}:{reference}", account_id=account_id, kind="refund", step=step, at=at, details=details
    )
    session.add(event)
    session.flush()
    return event
