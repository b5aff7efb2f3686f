"""A refund of an overpayment through the real debtor workflow (time-skipping Temporal server,
real activities, real database): an account paid beyond what it owed stays open (its strategy
thanks the debtor and waits before closing), a supervisor's `record_refund` update lowers its
`overpaid` in the answer, the interpreter's state and the read model, the timeline gets its
`refund` event; a refund larger than what is owed back is refused and changes nothing; the same
reference twice counts once; the history replays."""

from __future__ import annotations

from pathlib import Path

import pytest
from journey import publish
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_history import replayer
from test_debtor_journeys import BALANCE, account, next_monday_9
from workers import TASK_QUEUE, settle

from db.models import AccountEvent
from db.models import AccountState as AccountStateRow
from domain import events as ev
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_text
from workflows.contracts import AccountView, CampaignInfo, DebtorInput, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

CL = Path(__file__).resolve().parents[2] / "strategies" / "cl-consumer.yaml"
THANKS = "      - send: {channel: email, template: pago_recibido}\n      - end: paid\n"


@pytest.fixture(scope="module")
def waits_after_paid() -> CompiledStrategy:
    """cl-consumer, whose `pago_total` step (payment_in_full) waits 30 days before it ends paid."""
    text = CL.read_text()
    assert THANKS in text
    text = text.replace(THANKS, THANKS.replace("      - end: paid", "      - wait: 30d\n      - end: paid"))
    return compile_text(text, "cl-consumer-waits.yaml").strategy


def refund(amount: int, reference: str) -> ev.RefundRecorded:
    return ev.RefundRecorded(amount=amount, method="refund", reference=reference, by="sup")


def read_model(sessions: sessionmaker[Session]) -> tuple[int, int, str | None]:
    with sessions() as session:
        row = session.scalars(select(AccountStateRow)).one()
        return row.overpaid, row.balance, row.resolution


async def test_a_refund_lowers_a_running_accounts_overpayment(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    waits_after_paid: CompiledStrategy,
) -> None:
    publish(sessions, waits_after_paid)
    acct = account(waits_after_paid, next_monday_9())
    handle = await env.client.start_workflow(
        DebtorWorkflow.run,
        DebtorInput(
            campaign=CampaignInfo(id="refunds"), account=acct, strategy=waits_after_paid, strategy_published=True
        ),
        id=debtor_workflow_id("refunds", acct.account_id),
        task_queue=TASK_QUEUE,
    )
    await settle(handle)
    await handle.signal(
        DebtorWorkflow.payment_received, ev.PaymentReceived(payment_id="over", amount=BALANCE + 25_000, currency="CLP")
    )
    paid = await settle(handle)
    assert (paid.state.overpaid, paid.state.balance, paid.state.resolution, paid.state.step) == (
        25_000,
        0,
        None,
        "pago_total",
    )
    assert read_model(sessions) == (25_000, 0, None)

    view: AccountView = await handle.execute_update(DebtorWorkflow.record_refund, refund(10_000, "bank-1"))
    assert view.overpaid == 15_000
    assert read_model(sessions) == (15_000, 0, None)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(DebtorWorkflow.record_refund, refund(15_001, "bank-2"))
    assert "more than the 15000 owed back" in str(refused.value.cause)
    again: AccountView = await handle.execute_update(DebtorWorkflow.record_refund, refund(10_000, "bank-1"))
    assert again.overpaid == 15_000

    settled = await settle(handle)
    assert (settled.state.overpaid, settled.state.refunded, settled.state.refund_refs) == (15_000, 10_000, ("bank-1",))
    assert read_model(sessions) == (15_000, 0, None)
    with sessions() as session:
        (event,) = session.scalars(select(AccountEvent).where(AccountEvent.kind == "refund")).all()
        assert event.details == {
            "amount": 10_000,
            "method": "refund",
            "reference": "bank-1",
            "remaining": 15_000,
            "by": "sup",
            "currency": "CLP",
            "currency_digits": 0,
        }

    await replayer().replay_workflow(await handle.fetch_history())
