"""Money in: record a provider's payment (supervisors, or a back office with an admin key), and
list an account's payments.

Recording is idempotent by the provider's payment id: a repeat answers 200 with the payment
already recorded, never a second row. The payment is allocated (the open promise first, else
the earliest due plan instalments) and the account's workflow is signalled `payment_received`;
the workflow counts each ledger id once, so repeated signals are harmless. The answer says
`delivered: false` when the workflow could not be told: Temporal unavailable (the worker's
reconciler delivers the payment later; no retry needed), the account not launched yet (the
reconciler delivers it once launched), or its workflow finished (a closed account; the payment stays recorded).
The payment-provider webhook (api/routers/webhooks.py) records through `receive_payment` too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api.deps import IdempotencyKeyHeader, NowDep, SessionDep, Supervisor, TemporalDep
from api.errors import ProblemError, ProblemItem
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas.payments import DB_INT_MAX, PaymentIn, PaymentOut, PaymentPage, PaymentRecorded
from api.temporal import TemporalGateway, fresh
from db.models import Account, Payment
from db.repositories import payments as ledger
from domain.events import PaymentReceived

router = APIRouter(tags=["payments"])

AccountPath = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="The account's id.")]


def ledger_payment_id(provider: str, provider_payment_id: str) -> str:
    """The id the workflow counts a payment by; the same form as activities.payments.ledger_payment_id,
    which the `check_payments` activity reports (the API does not import activities)."""
    return f"{provider}:{provider_payment_id}"


def payment_out(payment: Payment) -> PaymentOut:
    """The public form of a ledger row."""
    return PaymentOut(
        id=payment.id,
        account_id=payment.account_id,
        provider=payment.provider,
        provider_payment_id=payment.provider_payment_id,
        ledger_id=ledger_payment_id(payment.provider, payment.provider_payment_id),
        amount=payment.amount,
        currency=payment.currency,
        received_at=payment.received_at,
        allocated_to=payment.allocated_to,
    )


def deliver_payment(session: Session, temporal: TemporalGateway, payment: Payment) -> bool:
    """Tell the account's workflow about a recorded payment unless it already has it, and mark the
    outcome; True when the workflow has it. When Temporal cannot be reached the payment stays
    `pending` and the answer is False: the worker's reconciler delivers it later, so the caller
    has nothing to retry. A finished workflow marks it `closed` (the ledger keeps it)."""
    if payment.delivery != ledger.PENDING:
        return payment.delivery == ledger.DELIVERED
    payment_id = payment.id
    account = session.get(Account, payment.account_id)
    if account is None or account.launched_at is None:
        return False  # no workflow yet: the reconciler delivers it once the account is launched
    workflow_id = account.workflow_id
    event = PaymentReceived(
        payment_id=ledger_payment_id(payment.provider, payment.provider_payment_id),
        amount=payment.amount,
        currency=payment.currency,
    )
    fresh(session)  # hold no database lock while Temporal is called (it may be slow to fail)
    try:
        temporal.signal(workflow_id, "payment_received", event)
        outcome = ledger.DELIVERED
    except ProblemError as exc:
        if exc.status != status.HTTP_409_CONFLICT:  # 503: Temporal unavailable
            return False
        outcome = ledger.CLOSED  # the workflow has finished: nothing will take the payment
    except RPCError:
        return False  # any other failure to reach the workflow: still pending, still recorded
    ledger.mark_delivery(session, payment_id, outcome, datetime.now(UTC))
    session.commit()
    return outcome == ledger.DELIVERED


def receive_payment(
    session: Session,
    temporal: TemporalGateway,
    account: Account,
    *,
    provider: str,
    provider_payment_id: str,
    amount: int,
    currency: str,
    received_at: datetime,
) -> PaymentRecorded:
    """Record (or find) the payment, allocate it and signal the account's workflow."""
    if currency != account.currency:
        raise ProblemError(
            422,
            f"The payment is in {currency} but account {account.id} is in {account.currency}.",
            errors=[ProblemItem(pointer="/body/currency", detail=f"must be {account.currency}")],
        )
    recorded = ledger.record(
        session,
        account_id=account.id,
        provider=provider,
        provider_payment_id=provider_payment_id,
        amount=amount,
        currency=currency,
        received_at=received_at.astimezone(UTC),
    )
    payment = recorded.payment
    same_facts = (payment.account_id, payment.amount, payment.currency) == (account.id, amount, currency)
    if not recorded.created and not same_facts:
        raise ProblemError(
            409,
            f"{provider} payment {provider_payment_id!r} is already recorded as {payment.amount} {payment.currency} "
            f"on account {payment.account_id}; the same provider payment id cannot carry other facts.",
        )
    # The ledger is the truth and the workflow counts each payment id once: commit before
    # signalling, so a signal that fails never leaves the workflow counting a payment the ledger
    # lacks; the payment stays pending and the worker's reconciler delivers it.
    session.commit()
    delivered = deliver_payment(session, temporal, payment)
    return PaymentRecorded(
        **payment_out(payment).model_dump(), created=recorded.created, signalled=delivered, delivered=delivered
    )


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Record a payment (idempotent by provider payment id)",
    responses={200: {"model": PaymentRecorded, "description": "Already recorded: the existing payment."}},
)
def record_payment(
    body: PaymentIn,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    who: Supervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> PaymentRecorded:
    """Record a payment on an account: 201 the first time, 200 with the same payment on a
    repeat. It is allocated to the account's open promise, else to the earliest due
    instalments of its active plan, else to the balance, and the account's workflow is
    signalled (`delivered: false` when Temporal is unavailable, delivered later by the worker's
    reconciler, or when the workflow has finished, e.g. the account is closed)."""
    account = session.get(Account, body.account_id)
    if account is None:
        raise ProblemError(
            422,
            f"There is no account {body.account_id}.",
            errors=[ProblemItem(pointer="/body/account_id", detail="no such account")],
        )
    recorded = receive_payment(
        session,
        temporal,
        account,
        provider=body.provider,
        provider_payment_id=body.provider_payment_id,
        amount=body.amount,
        currency=body.currency,
        received_at=body.received_at or now,
    )
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return recorded


@router.get("/accounts/{account_id}/payments", summary="An account's payments, oldest first")
def list_payments(
    account_id: AccountPath,
    session: SessionDep,
    who: Supervisor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PaymentPage:
    """Every payment recorded on the account, with what each was allocated to."""
    if session.get(Account, account_id) is None:
        raise ProblemError(404, f"There is no account {account_id}.")
    rows = ledger.for_account(session, account_id, decode_cursor(cursor), limit + 1)
    return page_of(PaymentPage, [payment_out(p) for p in rows], [p.id for p in rows], limit)
