"""The debtor workflow on a real Temporal server (time-skipping), real activities and a real
database, running the shipped Chilean consumer strategy. Each journey is also simulated, and the
workflow's timeline (read back from the communications log, the task queue and the legal
referrals) must equal the simulator's for the same scripted events."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from journey import (
    JourneyRun,
    account_in_variant,
    communications,
    referrals,
    run_journey,
    sent,
    simulator_timeline,
    tasks,
    workflow_timeline,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.models import AccountState as AccountStateRow
from db.models import Promise
from domain.account import AccountSnapshot
from domain.strategy import CompiledStrategy
from domain.types import Resolution
from simulator.engine import Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, to_events
from strategies.compiler import compile_file
from workflows.contracts import debtor_workflow_id

ROOT = Path(__file__).resolve().parents[2]
TZ = "America/Santiago"
ZONE = ZoneInfo(TZ)
BALANCE = 150_000
# Timelines match to the second; the driver answers a task a few milliseconds after the
# workflow created it, where the simulator answers in the same instant.
TOLERANCE = timedelta(seconds=5)


@pytest.fixture(scope="module")
def cl() -> CompiledStrategy:
    return compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy


def account(strategy: CompiledStrategy, start: datetime, **overrides: Any) -> AccountSnapshot:
    base: dict[str, Any] = {
        "account_id": account_in_variant(strategy, "champion"),
        "debtor_name": "Ana Pérez",
        "country": "CL",
        "timezone": TZ,
        "locale": "es-CL",
        "currency": "CLP",
        "balance": BALANCE,
        "original_amount": BALANCE,
        "due_date": start.astimezone(ZONE).date() - timedelta(days=15),
        "email": "ana@example.com",
        "phone": "+56912345678",
        "postal_address": "Av. Providencia 1234, Santiago",
    }
    base.update(overrides)
    return AccountSnapshot.model_validate(base)


async def next_monday_9(env: WorkflowEnvironment, weeks_ahead: int = 1) -> datetime:
    """A Monday 09:00 in Santiago that is not a holiday, at least a week after the server's now."""
    today = (await env.get_current_time()).astimezone(ZONE).date()
    day = today + timedelta(days=7 * weeks_ahead + (7 - today.weekday()) % 7 or 7)
    cl_holidays = holidays.country_holidays("CL", years=range(day.year, day.year + 2))
    while day.weekday() != 0 or day in cl_holidays:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 0), tzinfo=ZONE)


async def journey(
    env: WorkflowEnvironment,
    strategy: CompiledStrategy,
    acct: AccountSnapshot,
    start: datetime,
    doc: dict[str, Any],
    **options: Any,
) -> tuple[JourneyRun, Run]:
    """Run one scenario through the workflow and through the simulator."""
    scenario = ScenarioDoc.model_validate(doc)
    scripted = to_events(scenario, acct, start)
    simulated = simulate(
        strategy, acct, start, scenario.days, scripted, ScriptedResponder(scenario.calls, scenario.approvals)
    )
    real = await run_journey(
        env,
        strategy,
        acct,
        start,
        scenario.days,
        to_events(scenario, acct, start),
        ScriptedResponder(scenario.calls, scenario.approvals),
        **options,
    )
    return real, simulated


def assert_same_timeline(sessions: sessionmaker[Session], real: JourneyRun, simulated: Run) -> None:
    ours = workflow_timeline(sessions, real.handle.id)
    theirs = simulator_timeline(simulated.timeline)
    assert [(k, d) for _, k, d in ours] == [(k, d) for _, k, d in theirs]
    for (a, kind, detail), (b, _, _) in zip(ours, theirs, strict=True):
        assert abs(a - b) <= TOLERANCE, f"{kind} {detail}: workflow at {a}, simulator at {b}"


def local(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%a %H:%M")


async def test_contact_promise_payment_in_full_closes_paid(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = await next_monday_9(env)
    acct = account(cl, start)
    doc = {
        "days": 40,
        "calls": [{"code": "promise_to_pay", "in_days": 5}],
        "events": [{"day": 11, "at": "15:00", "payment": BALANCE}],
    }
    real, simulated = await journey(env, cl, acct, start, doc)

    assert real.status == WorkflowExecutionStatus.COMPLETED
    result = await real.handle.result()
    assert result.resolution == Resolution.PAID
    assert result.balance == 0
    templates = [t for _, _, t in sent(sessions, real.handle.id)]
    assert templates == ["recordatorio", "recordatorio_sms", "promesa_confirmada", "pago_recibido"]
    assert [t.status for t in tasks(sessions, real.handle.id)] == ["done"]
    with sessions() as session:
        promise = session.scalars(select(Promise)).one()
        assert (promise.amount, promise.status) == (BALANCE, "kept")
        row = session.scalars(select(AccountStateRow)).one()
        assert (row.resolution, row.balance, row.stage) == ("paid", 0, "closed")
    assert_same_timeline(sessions, real, simulated)

