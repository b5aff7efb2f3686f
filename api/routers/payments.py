"""Money in: record a provider's payment (supervisors, or a back office with an admin key), and
list an account's payments.

Recording is idempotent by the provider's payment id: a repeat answers 200 with the payment
already recorded, never a second row. The payment is allocated (the open promise first, else
the earliest due plan instalments) and the account's workflow is signalled `payment_received`;
the workflow counts each ledger id once, so repeated signals are harmless. When the workflow has
finished (a closed account), the payment is still recorded and the answer says `signalled: false`.
The payment-provider webhook (api/routers/webhooks.py) records through `receive_payment` too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy.orm import Session

from api.deps import IdempotencyKeyHeader, NowDep, SessionDep, Supervisor, TemporalDep
from api.errors import ProblemError, ProblemItem
from api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, page_of
from api.schemas.payments import DB_INT_MAX, PaymentIn, PaymentOut, PaymentRecorded
from api.temporal import TemporalGateway
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


def signal_payment(temporal: TemporalGateway, workflow_id: str, payment: Payment) -> bool:
    """Tell the account's workflow; False when it is not running (the payment stays recorded)."""
    event = PaymentReceived(
        payment_id=ledger_payment_id(payment.provider, payment.provider_payment_id),
        amount=payment.amount,
        currency=payment.currency,
    )
    try:
        temporal.signal(workflow_id, "payment_received", event)
    except ProblemError as exc:
        if exc.status == status.HTTP_409_CONFLICT:  # finished or never started
            return False
        raise  # Temporal unavailable: 503; the payment is recorded and a retry signals it
    return True


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
    # signalling, so a signal that fails (503, the caller retries) never leaves the workflow
    # counting a payment the ledger lacks; a retry finds the payment and signals again.
    session.commit()
    signalled = signal_payment(temporal, account.workflow_id, payment)
    return PaymentRecorded(**payment_out(payment).model_dump(), created=recorded.created, signalled=signalled)


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
    signalled (`signalled: false` when the workflow has finished, e.g. the account is closed)."""
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
) -> Page[PaymentOut]:
    """Every payment recorded on the account, with what each was allocated to."""
    if session.get(Account, account_id) is None:
        raise ProblemError(404, f"There is no account {account_id}.")
    rows = ledger.for_account(session, account_id, decode_cursor(cursor), limit + 1)
    return page_of([payment_out(p) for p in rows], [p.id for p in rows], limit)
