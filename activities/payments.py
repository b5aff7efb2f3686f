"""Payment checks against the payments ledger: the workflow asks, the ledger answers with every
payment the account has; the interpreter counts each provider payment id once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.lookups import account_by_workflow
from db.models import Payment
from db.session import session_scope
from domain.events import PaymentReceived
from workflows.contracts import PaymentCheckInput, PaymentCheckResult


def ledger_payment_id(provider: str, provider_payment_id: str) -> str:
    """The id the workflow knows a ledger payment by; signals use the same form."""
    return f"{provider}:{provider_payment_id}"


class PaymentActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="check_payments", no_thread_cancel_exception=True)
    def check_payments(self, input: PaymentCheckInput) -> PaymentCheckResult:
        with session_scope(self._sessions) as session:
            account = account_by_workflow(session, input.workflow_id)
            rows = session.scalars(
                select(Payment).where(Payment.account_id == account.id).order_by(Payment.received_at, Payment.id)
            ).all()
            return PaymentCheckResult(
                payments=tuple(
                    PaymentReceived(
                        payment_id=ledger_payment_id(p.provider, p.provider_payment_id),
                        amount=p.amount,
                        currency=p.currency,
                    )
                    for p in rows
                )
            )
