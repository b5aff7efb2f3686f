"""Giving back an overpayment: a supervisor records that the creditor refunded it (money back) or
credited it (to another debt), for every door (API, CLI). The account's `overpaid` goes down by
the amount; a reference already recorded on the account counts once (the answer says so).

Where the account's state lives decides the path. A running workflow takes the event
(`record_refund`, an update: the interpreter checks it against its own state and its turn writes
the timeline event and the read model), closed account or not. An account whose workflow has
finished (paid in full and closed: the usual case) has no one left to write its read model, so the
refund is written here, under the same rule (domain/refunds.py) checked against the read model's
`overpaid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.temporal import TemporalGateway, update_account_if_running
from db.models import Account
from db.models import AccountState as AccountStateRow
from db.repositories import accounts
from db.repositories import refunds as ledger
from domain import events as ev
from domain.money import minor_digits
from domain.refunds import refusal
from services.errors import Conflict, Field, Invalid
from workflows.contracts import AccountView

Method = Literal["refund", "credit"]


@dataclass(frozen=True)
class Refunded:
    """The refund as recorded (`created` False: the reference was already recorded, nothing
    changed) and what is still owed back after it."""

    account_id: int
    amount: int
    currency: str
    method: Method
    reference: str
    remaining: int
    created: bool


def record_refund(
    session: Session,
    temporal: TemporalGateway,
    account: Account,
    by: str,
    *,
    amount: int,
    currency: str,
    method: Method,
    reference: str,
    now: datetime,
) -> Refunded:
    """Record a refund or credit of the account's overpayment. NotFound is the caller's (the
    account); Conflict when nothing is owed back or the reference was recorded with other facts;
    Invalid for another currency or more than is owed back."""
    account_id, workflow_id = account.id, account.workflow_id
    if currency != account.currency:
        raise Invalid(
            f"The {method} is in {currency} but account {account_id} is in {account.currency}.",
            fields=[Field("/body/currency", f"must be {account.currency}")],
        )
    row = accounts.state(session, account_id)
    due = row.overpaid if row is not None else 0
    earlier = ledger.recorded(session, account_id, reference)
    if earlier is not None:
        facts = (earlier.details.get("amount"), earlier.details.get("method"))
        if facts != (amount, method):
            raise Conflict(
                f"Reference {reference} is already recorded on account {account_id} as a "
                f"{facts[1]} of {facts[0]}; use another reference for another {method}."
            )
        return Refunded(account_id, amount, currency, method, reference, due, created=False)
    problem = refusal(due, amount, method)
    if problem is not None:
        if due <= 0:
            raise Conflict(f"Account {account_id}: {problem}.")
        raise Invalid(f"Account {account_id}: {problem}.", fields=[Field("/body/amount", f"at most {due}")])
    assert row is not None  # something is owed back: the account has run
    event = ev.RefundRecorded(amount=amount, method=method, reference=reference, by=by)
    # Whenever the workflow still runs (an open account, or a closed one still finishing), it takes
    # the refund: a later turn of its own would otherwise write its `overpaid` over the read model's.
    view = update_account_if_running(session, temporal, workflow_id, "record_refund", event)
    if view is not None:
        return Refunded(account_id, amount, currency, method, reference, view.overpaid, created=True)
    # The workflow has finished: nothing else will move this account's read model.
    if not ledger.take_from_overpaid(session, account_id, amount):
        raise Conflict(f"Account {account_id}'s overpayment changed meanwhile; look again and retry.")
    remaining = due - amount
    details = {
        "amount": amount,
        "method": method,
        "reference": reference,
        "remaining": remaining,
        "by": by,
        "currency": currency,
        "currency_digits": minor_digits(currency),
    }
    try:
        ledger.add_event(session, account_id, row.step, now, reference, details)
    except IntegrityError:  # the same reference, recorded by a request that ran alongside this one
        raise Conflict(f"Reference {reference} was recorded on account {account_id} meanwhile.") from None
    return Refunded(account_id, amount, currency, method, reference, remaining, created=True)


def with_refunds(view: AccountView | None, row: AccountStateRow | None) -> AccountView | None:
    """A finished workflow's final state (`live` on a closed account's page) as refunds recorded
    since it ended leave it: they are in the read model only, so its `overpaid` is the one shown."""
    if view is None or view.resolution is None or row is None or row.overpaid == view.overpaid:
        return view
    return view.model_copy(update={"overpaid": row.overpaid})
