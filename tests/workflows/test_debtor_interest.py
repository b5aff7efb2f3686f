"""Interest on the real debtor workflow (time-skipping Temporal, real activities, real database):
the shipped Chilean strategy with a daily rate added. What each turn charged is written as a fact
the account's timeline shows, equal to what the simulator charges for the same journey, the read
model keeps the total, and the message a template renders names the interest so far."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from journey import run_journey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_journeys import BALANCE, account, next_monday_9

from db.models import Account, InterestCharge
from db.models import AccountState as AccountStateRow
from db.repositories import timeline as history
from simulator.engine import simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, to_events
from strategies.amounts import Currency
from strategies.compiler import compile_text

ROOT = Path(__file__).resolve().parents[2]


async def test_interest_charges_are_facts_on_the_timeline_and_match_the_simulator(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session]
) -> None:
    text = (ROOT / "strategies" / "cl-consumer.yaml").read_text(encoding="utf-8")
    text = text.replace("\npolicy:\n", "\ninterest: {rate: 0.1%, per: day}\npolicy:\n  interest_ceiling: 40%\n", 1)
    strategy = compile_text(text, "cl-interest.yaml").strategy
    assert strategy.interest is not None
    start = next_monday_9()
    acct = account(strategy, start)
    scenario = ScenarioDoc.model_validate({"days": 20})
    simulated = simulate(strategy, acct, start, scenario.days, to_events(scenario, acct, start), ScriptedResponder([]))
    real = await run_journey(
        env, strategy, acct, start, scenario.days, to_events(scenario, acct, start), ScriptedResponder([])
    )

    expected = [(e.amounts[0], e.amounts[1]) for e in simulated.timeline if e.kind == "interest"]
    assert expected, "the journey has turns after days have passed"
    with sessions() as session:
        rows = session.scalars(
            select(InterestCharge).where(InterestCharge.key.startswith(real.handle.id)).order_by(InterestCharge.id)
        ).all()
        assert [(r.amount, r.total) for r in rows] == expected
        assert all(r.currency == "CLP" and r.currency_digits == 0 for r in rows)
        account_id = session.scalars(select(Account.id).where(Account.workflow_id == real.handle.id)).one()
        entries = [e for e in history.timeline(session, account_id) if e.kind == "interest"]
        projected = session.get(AccountStateRow, account_id)
    assert [e.details["amount"] for e in entries] == [a for a, _ in expected]
    # As the simulator shows money: in the account's locale ("$1.234" in es-CL), not "1234 CLP".
    shown = Currency("CLP", acct.locale or strategy.locale, 0).shown(expected[0][0])
    assert entries[0].summary.startswith(f"interest charged {shown} at step ")
    assert shown.startswith("$")
    assert real.state is not None
    assert real.state.interest_total == expected[-1][1]
    # The read model (what the supervisors' list, the account pages and the KPIs read) has it too.
    assert projected is not None
    assert (projected.interest_total, projected.fees_total) == (real.state.interest_total, real.state.fees_total)
    assert projected.balance == real.state.balance_due
    # 0.1% a day of the principal, never of the late fee the strategy charged on the way.
    assert real.state.interest_total <= BALANCE * scenario.days // 1000
    assert real.state.interest_counted is not None
    assert real.state.interest_counted >= (start + timedelta(days=1)).date()
