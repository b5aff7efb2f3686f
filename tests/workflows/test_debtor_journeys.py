"""The debtor workflow on a real Temporal server (time-skipping), real activities and a real
database, running the shipped Chilean consumer strategy. Each journey is also simulated, and the
workflow's timeline (read back from the communications log, the task queue and the legal
referrals) must equal the simulator's for the same scripted events."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from clock import TEST_TODAY
from journey import (
    JourneyRun,
    account_in_variant,
    communications,
    referrals,
    result_of,
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
from db.models import PaymentPlan, Promise
from domain.account import AccountSnapshot
from domain.policy import spread_offset
from domain.strategy import CompiledStrategy
from domain.types import Resolution
from simulator.engine import Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, to_events
from strategies.compiler import compile_file
from workflows.contracts import AccountView as AccountViewModel

ROOT = Path(__file__).resolve().parents[2]
TZ = "America/Santiago"
ZONE = ZoneInfo(TZ)
BALANCE = 150_000
# Timelines match in order and, within this, in time. Between two skips the time-skipping
# server's clock runs like a real one, so a fired timer's turn is dated as late as the worker is
# slow to take it (seconds on a loaded machine, and a wait counted from a late turn inherits
# it); the simulator acts in the same instant. Strategy times are minutes to days apart.
TOLERANCE = timedelta(minutes=2)


@pytest.fixture(scope="module")
def cl() -> CompiledStrategy:
    return compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy


def account(strategy: CompiledStrategy, start: datetime, **overrides: Any) -> AccountSnapshot:
    base: dict[str, Any] = {
        "account_id": overrides.get("account_id") or account_in_variant(strategy, "champion"),
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


def next_monday_9(weeks_ahead: int = 1) -> datetime:
    """A Monday 09:00 in Santiago that is not a holiday, at least a week after the suite's fixed
    day (tests/clock.py; the test server's clock starts on that day, so this is ahead of it)."""
    day = TEST_TODAY + timedelta(weeks=weeks_ahead)
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
    start = next_monday_9()
    acct = account(cl, start)
    doc = {
        "days": 40,
        "calls": [{"code": "promise_to_pay", "in_days": 5}],
        "events": [{"day": 11, "at": "15:00", "payment": BALANCE}],
    }
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    assert real.status == WorkflowExecutionStatus.COMPLETED
    result = await result_of(real.handle)
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


def templates_sent(sessions: sessionmaker[Session], workflow_id: str) -> list[str | None]:
    return [t for _, _, t in sent(sessions, workflow_id)]


async def test_nobody_answers_reminders_calls_final_letter_legal(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    real, simulated = await journey(env, cl, acct, start, {"days": 150, "approvals": "approve"}, published_in=sessions)

    result = await result_of(real.handle)
    assert result.resolution == Resolution.LEGAL
    wf = real.handle.id
    assert templates_sent(sessions, wf)[:3] == ["recordatorio", "recordatorio_sms", "aviso_mora"]
    assert "carta_final" in templates_sent(sessions, wf)
    the_tasks = tasks(sessions, wf)
    assert [(t.attempt, t.status) for t in the_tasks] == [(1, "expired"), (2, "expired"), (3, "expired")]
    letters = [c for c in communications(sessions, wf) if c.channel == "letter"]
    assert [(c.status, c.provider) for c in letters] == [("sent", "print")]
    assert local(letters[0].planned_at) == "Wed 10:00"
    (referral,) = referrals(sessions, wf)
    assert referral.balance > BALANCE  # the late fee (2%, within Chile's cap) is owed too
    channels_in_case = [c["channel"] for c in referral.case_json["communications"]]
    assert channels_in_case.count("letter") == 1
    assert "email" in channels_in_case
    with sessions() as session:
        row = session.scalars(select(AccountStateRow)).one()
        assert (row.stage, row.resolution) == ("closed", "legal")
    assert_same_timeline(sessions, real, simulated)


async def test_broken_promise_takes_the_broken_promise_route(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    doc = {"days": 20, "calls": [{"code": "promise_to_pay", "amount": 100_000, "in_days": 4}]}
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    wf = real.handle.id
    assert templates_sent(sessions, wf)[2:5] == ["promesa_confirmada", "promesa_recordatorio", "promesa_incumplida"]
    with sessions() as session:
        promise = session.scalars(select(Promise)).one()
        assert (promise.amount, promise.status) == (100_000, "broken")
    view = await real.handle.query("state", result_type=AccountViewModel)
    assert view.counters.promises_broken == 1
    assert view.promise_amount is None
    assert_same_timeline(sessions, real, simulated)


async def test_partial_payments_down_to_zero_count_each_payment_once(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    doc = {
        "days": 30,
        "events": [
            {"day": 1, "payment": 40_000, "payment_id": "p1"},
            {"day": 2, "payment": 40_000, "payment_id": "p1"},  # redelivered: counts once
            {"day": 4, "payment": 60_000, "payment_id": "p2"},
            {"day": 6, "payment": 50_000, "payment_id": "p3"},
        ],
    }
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    result = await result_of(real.handle)
    assert (result.resolution, result.balance, result.paid_total) == (Resolution.PAID, 0, BALANCE)
    assert templates_sent(sessions, real.handle.id)[-1] == "pago_recibido"
    assert_same_timeline(sessions, real, simulated)


async def test_plan_tolerates_one_missed_installment_and_routes_the_second(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    doc = {
        "days": 100,
        "calls": [{"code": "payment_plan", "installments": 3, "down_payment": 15_000, "in_days": 5}],
    }
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    wf = real.handle.id
    sent_templates = templates_sent(sessions, wf)
    assert "plan_confirmado" in sent_templates
    first_miss = sent_templates.index("cuota_atrasada")
    assert sent_templates.index("plan_incumplido") > first_miss
    with sessions() as session:
        plan = session.scalars(select(PaymentPlan)).one()
        statuses = [i.status for i in plan.schedule]
        assert plan.status == "broken"
        assert statuses[:2] == ["missed", "missed"]
    assert_same_timeline(sessions, real, simulated)


async def test_dispute_stops_every_contact_until_resolved(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    doc = {"days": 40, "events": [{"day": 1, "dispute": "open"}, {"day": 25, "at": "11:00", "dispute": "resolved"}]}
    real, simulated = await journey(env, cl, acct, start, doc, published_in=sessions)

    wf = real.handle.id
    opened = start + timedelta(days=1, hours=3)
    resolved = start + timedelta(days=25, hours=2)
    during = [c for c in communications(sessions, wf) if opened <= c.planned_at < resolved]
    assert during == []
    after = [t for at, _, t in sent(sessions, wf) if at >= resolved]
    assert after[0] == "disputa_resuelta"
    assert [t.status for t in tasks(sessions, wf) if t.created_at < resolved] == []
    assert_same_timeline(sessions, real, simulated)


async def test_late_evening_send_waits_for_the_next_allowed_time_never_a_holiday(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], cl: CompiledStrategy
) -> None:
    today = TEST_TODAY
    cl_holidays = holidays.country_holidays("CL", years=range(today.year, today.year + 3))
    holiday = next(
        d
        for d in sorted(cl_holidays)
        if d > today + timedelta(days=7)
        and (d - timedelta(days=1)).weekday() < 5
        and (d - timedelta(days=1)) not in cl_holidays
        and (d + timedelta(days=1)).weekday() < 6
        and (d + timedelta(days=1)) not in cl_holidays
    )
    start = datetime.combine(holiday - timedelta(days=1), time(23, 0), tzinfo=ZONE)
    acct = account(cl, start)
    real, simulated = await journey(env, cl, acct, start, {"days": 3}, published_in=sessions)

    wf = real.handle.id
    log = communications(sessions, wf)
    assert [(c.status, c.blocked_rule) for c in log[:1]] == [("blocked", "CL-T1")]
    sent = [c for c in log if c.status == "sent"]
    assert sent, [(c.channel, c.status, c.blocked_rule, c.planned_at) for c in log]
    first_sent = sent[0]
    local_time = first_sent.planned_at.astimezone(ZONE)
    assert (first_sent.template, local_time.date(), local_time.hour) == ("recordatorio", holiday + timedelta(days=1), 8)
    assert not any(c.planned_at.astimezone(ZONE).date() == holiday for c in log if c.status == "sent")
    # Moved to the next day's 08:00 opening, it lands the account's spread later, in the simulator
    # to the second and in the workflow (a timer) no earlier and within the timelines' tolerance.
    opening = datetime.combine(holiday + timedelta(days=1), time(8, 0), tzinfo=ZONE)
    landing = opening + timedelta(seconds=spread_offset(acct.account_id, cl.policy.spread_s or 0))
    assert landing - opening > TOLERANCE, "pick an account whose spread shows beside the tolerance"
    (simulated_first,) = [e for e in simulated.timeline if e.kind == "send"][:1]
    assert simulated_first.at == landing
    assert landing <= first_sent.planned_at <= landing + TOLERANCE
    assert_same_timeline(sessions, real, simulated)
