"""The payments ledger: record a provider's payment once, decide what it goes towards, list an
account's payments.

A payment is recorded once per `(provider, provider_payment_id)`; the unique constraint, not a
prior read, is what guarantees it when two deliveries race. Allocation only *names* what the
payment goes towards (`allocated_to`); whether a promise was kept or an installment paid is the
workflow's decision, which its `record_turn` activity writes to the promise and plan rows.

Each payment's `delivery` says whether its account's workflow has it. Marking is a conditional
update from `pending`, so two deliverers racing (the API and a reconciler, or two reconcilers)
both succeed harmlessly: the workflow counts a payment id once, and the row is marked once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Account, Payment, PaymentPlan, PlanInstallment, Promise
from db.models.ledger import TOWARDS_PROMISE
from db.repositories import kpi_counters

# Allocated to neither a promise nor an installment: it just lowers the balance.
TO_BALANCE = "balance"
PENDING, DELIVERED, CLOSED = "pending", "delivered", "closed"


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: the provider's payment was already in the ledger


def find(session: Session, provider: str, provider_payment_id: str) -> Payment | None:
    """The ledger row of one provider payment, if recorded."""
    return session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_payment_id == provider_payment_id)
    )


def promise_ref(key: str) -> str:
    """The `allocated_to` value of a payment towards the promise with `key`."""
    return f"{TOWARDS_PROMISE}{key}"


def installment_ref(plan_key: str, numbers: list[int]) -> str:
    """The `allocated_to` value of a payment towards instalments `numbers` of a plan."""
    return f"installment:{plan_key}#{','.join(str(n) for n in numbers)}"


def allocation_for(session: Session, account_id: int, amount: int) -> str:
    """What a new payment of `amount` goes towards: the open promise, else the earliest due
    instalments of the active plan, else the balance."""
    promise = session.scalar(
        select(Promise)
        .where(Promise.account_id == account_id, Promise.status == "open")
        .order_by(Promise.made_at.desc(), Promise.id.desc())
        .limit(1)
    )
    if promise is not None:
        return promise_ref(promise.key)
    plan = session.scalar(
        select(PaymentPlan)
        .where(PaymentPlan.account_id == account_id, PaymentPlan.status == "active")
        .order_by(PaymentPlan.agreed_at.desc(), PaymentPlan.id.desc())
        .limit(1)
    )
    if plan is not None:
        numbers = _installments_reached(session, account_id, plan, amount)
        if numbers:
            return installment_ref(plan.key, numbers)
    return TO_BALANCE


def _installments_reached(session: Session, account_id: int, plan: PaymentPlan, amount: int) -> list[int]:
    """The still-due instalments this payment pays into, walking the schedule in order.

    Payments already allocated to the plan fill the schedule first (a waterfall), so a second
    partial payment goes on filling the instalment the first one started."""
    prefix = installment_ref(plan.key, [])
    already = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.account_id == account_id, Payment.allocated_to.startswith(prefix, autoescape=True)
        )
    )
    start, end = int(already or 0), int(already or 0) + amount
    schedule: list[PlanInstallment] = sorted(plan.schedule, key=lambda i: (i.due_date, i.number))
    reached, cursor = [], 0
    for inst in schedule:
        lower, upper = cursor, cursor + inst.amount
        cursor = upper
        if lower < end and upper > start and inst.status == "due":
            reached.append(inst.number)
    if reached:
        return reached
    # The waterfall disagrees with the statuses the workflow wrote (e.g. it settled instalments from
    # payments made before the plan): the earliest instalment still due is the honest target.
    due = [inst.number for inst in schedule if inst.status == "due"]
    return due[:1]


def record(
    session: Session,
    *,
    account_id: int,
    provider: str,
    provider_payment_id: str,
    amount: int,
    currency: str,
    received_at: datetime,
) -> Recorded:
    """Add the payment to the ledger with its allocation, or return the row already there."""
    existing = find(session, provider, provider_payment_id)
    if existing is not None:
        return Recorded(existing, created=False)
    row = Payment(
        account_id=account_id,
        provider=provider,
        provider_payment_id=provider_payment_id,
        amount=amount,
        currency=currency,
        received_at=received_at,
        allocated_to=allocation_for(session, account_id, amount),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another delivery of the same payment committed between our read and our insert; the
        # savepoint's rollback already dropped our row from the session.
        raced = find(session, provider, provider_payment_id)
        if raced is None:
            raise
        return Recorded(raced, created=False)
    kpi_counters.payment(session, row)
    return Recorded(row, created=True)


def for_account(session: Session, account_id: int, after: int | None, limit: int) -> list[Payment]:
    """Up to `limit` payments of an account after id `after`, oldest first."""
    query = select(Payment).where(Payment.account_id == account_id)
    if after is not None:
        query = query.where(Payment.id > after)
    return list(session.scalars(query.order_by(Payment.id).limit(limit)))


def mark_delivery(session: Session, payment_id: int, outcome: str, at: datetime) -> bool:
    """Mark a pending payment `delivered` or `closed` at `at`; False when it was no longer pending."""
    result = session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.delivery == PENDING)
        .values(delivery=outcome, delivered_at=at)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def pending_delivery(session: Session, after: int, limit: int) -> list[tuple[Payment, str]]:
    """Up to `limit` payments after id `after` that no workflow has yet, with their account's
    workflow id, oldest first. Only launched accounts: a workflow that was never started cannot
    take a signal, so an account's payments wait here until it is launched."""
    rows = session.execute(
        select(Payment, Account.workflow_id)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.delivery == PENDING, Payment.id > after, Account.launched_at.is_not(None))
        .order_by(Payment.id)
        .limit(limit)
    ).all()
    return [(payment, workflow_id) for payment, workflow_id in rows]


def count_pending(session: Session) -> int:
    """How many payments no workflow has yet (launched or not)."""
    return int(session.scalar(select(func.count()).select_from(Payment).where(Payment.delivery == PENDING)) or 0)
