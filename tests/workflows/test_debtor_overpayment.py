"""An overpayment through the real debtor workflow (time-skipping Temporal server, real activities,
real database): the account closes paid, the read model shows a balance of 0 and what was paid
beyond it, the turn record keeps the overpayment as an account event (no new activity: the
workflow issues the commands it issued before), and the simulator tells the same story."""

from __future__ import annotations

from journey import result_of
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_history import replayer
from test_debtor_journeys import BALANCE, account, assert_same_timeline, cl, journey, next_monday_9  # noqa: F401

from db.models import Account, AccountEvent
from db.models import AccountState as AccountStateRow
from domain.strategy import CompiledStrategy
from domain.types import Resolution
from workflows.contracts import AccountView


async def test_an_overpayment_closes_paid_with_a_zero_balance_and_the_excess_owed_back(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    cl: CompiledStrategy,  # noqa: F811
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    doc = {"days": 20, "events": [{"day": 3, "at": "11:00", "payment": BALANCE + 25_000, "payment_id": "over"}]}
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    result = await result_of(real.handle)
    assert (result.resolution, result.balance, result.paid_total) == (Resolution.PAID, 0, BALANCE + 25_000)
    view = await real.handle.query("state", result_type=AccountView)
    assert (view.balance, view.overpaid) == (0, 25_000)
    with sessions() as session:
        row = session.scalars(select(AccountStateRow)).one()
        assert (row.resolution, row.balance, row.overpaid, row.paid_total) == ("paid", 0, 25_000, BALANCE + 25_000)
        assert session.scalars(select(Account.balance)).one() == 0
        (event,) = session.scalars(select(AccountEvent)).all()
        assert event.kind == "overpaid"
        assert event.details == {
            "payment_id": "over",
            "amount": 25_000,
            "total": 25_000,
            "currency": "CLP",
            "currency_digits": 0,
        }
    (row_of_simulator,) = [e for e in simulated.timeline if e.kind == "overpaid"]
    assert row_of_simulator.amounts == (25_000,)
    assert_same_timeline(sessions, real, simulated)

    history = await real.handle.fetch_history()
    await replayer().replay_workflow(history)
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    # The overpayment is written by the turn record the workflow already called: no new command.
    assert scheduled <= {"register_account", "send_message", "record_turn", "create_agent_task", "check_payments"}
