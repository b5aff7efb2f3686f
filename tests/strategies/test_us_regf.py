"""strategies/us-regf-consumer.yaml read as a compliance officer and a strategist would read its
timelines: validation notice first, no calls in the validation period, Reg F contact hours and
call limits, and the main paths (no answer, promise, dispute, settlement, payment plan)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from spread_times import spread_of

from domain.strategy import CompiledStrategy
from domain.types import Channel, Resolution, Stage
from simulator.engine import Entry, Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file

STRATEGY = Path(__file__).resolve().parents[2] / "strategies" / "us-regf-consumer.yaml"
NY = ZoneInfo("America/New_York")
START = datetime(2026, 11, 2, 9, 0, tzinfo=NY)  # Monday
BALANCE = 150_000  # $1,500.00, the simulator's default account
CONTACT_KINDS = ("send", "task", "call")
ACCOUNT_ID = "SIM-1"  # the simulator's default account


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return compile_file(str(STRATEGY)).strategy


def simulate_us(
    strategy: CompiledStrategy,
    *,
    calls: Iterable[Any] = (),
    events: Iterable[dict[str, Any]] = (),
    approvals: str = "approve",
    account: dict[str, Any] | None = None,
    start: datetime = START,
    days: int = 120,
) -> Run:
    doc = ScenarioDoc.model_validate(
        {"account": account or {}, "calls": list(calls), "events": list(events), "approvals": approvals, "days": days}
    )
    acc = default_account(strategy, start.date(), doc.account)
    begin = start.astimezone(UTC)
    return simulate(strategy, acc, begin, days, to_events(doc, acc, begin), ScriptedResponder(doc.calls, doc.approvals))


def local(entry: Entry) -> datetime:
    return entry.at.astimezone(NY)


def opening(strategy: CompiledStrategy, year: int, month: int, day: int) -> datetime:
    """Where a contact the policy moved to that day's 08:00 opening (US-T1) lands: the simulated
    account's spread later, as each account waiting for the same opening lands at its own offset."""
    return datetime(year, month, day, 8, 0, tzinfo=NY) + spread_of(strategy, ACCOUNT_ID)


def day_of(entry: Entry, start: datetime = START) -> int:
    return (local(entry).date() - start.date()).days


def of_kind(run: Run, *kinds: str) -> list[Entry]:
    return [e for e in run.timeline if e.kind in kinds]


def sends(run: Run) -> list[tuple[str, str]]:
    """(channel, template) of every message, in order."""
    return [tuple(e.detail.split(" ", 1)) for e in of_kind(run, "send")]  # type: ignore[misc]


def validation_period_end(sent: date) -> date:
    """Assumed receipt (5 days excluding Saturdays, Sundays and legal public holidays) + 30 days."""
    us_holidays = holidays.country_holidays("US", years=[sent.year, sent.year + 1])
    day, business = sent, 0
    while business < 5:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in us_holidays:
            business += 1
    return day + timedelta(days=30)


def assert_reg_f_contact_rules(run: Run) -> None:
    """US-T1: calls, texts and emails only 08:00-21:00 New York time (and, tighter than Reg F, not
    on federal holidays); US-F1: never more than 7 calls within 7 consecutive days; US-F2: no call
    within 7 days after a conversation, the day of the conversation counting as day 1."""
    us_holidays = holidays.country_holidays("US", years=[2026, 2027])
    for e in of_kind(run, *CONTACT_KINDS):
        if e.kind == "send" and e.channel == Channel.LETTER:
            continue  # mail is not a communication "at a time"
        at = local(e)
        assert 8 <= at.hour < 21, f"{e.kind} {e.detail} at {at:%a %Y-%m-%d %H:%M} is outside 08:00-21:00"
        assert at.date() not in us_holidays, f"{e.kind} {e.detail} on the holiday {at.date()}"
    # A worked task is logged twice (task, then call outcome): count each task once, and outcomes
    # of tasks nobody logged (none here) would still count as calls.
    calls = sorted(e.at for e in of_kind(run, "task"))
    for i, first in enumerate(calls):
        within = [t for t in calls[i:] if t - first < timedelta(days=7)]
        assert len(within) <= 7, f"{len(within)} calls in the 7 days from {first.astimezone(NY)}"
    not_conversations = ("call outcome no_answer", "call outcome wrong_party")
    for talk in of_kind(run, "call"):
        if talk.detail.startswith(not_conversations):
            continue
        free_from = local(talk).date() + timedelta(days=7)
        for task in of_kind(run, "task"):
            assert not (talk.at < task.at and local(task).date() < free_from), (
                f"call at {local(task)} within 7 days of the conversation at {local(talk)}"
            )


# ---- the document ------------------------------------------------------------------------------


def test_compiles_on_the_reg_f_preset_tightened_with_us_holidays(strategy: CompiledStrategy) -> None:
    compiled = compile_file(str(STRATEGY))
    assert compiled.warnings == ()  # no override: the preset is only tightened
    policy = strategy.policy
    assert policy.name == "US_REG_F"
    assert policy.holidays == "US"
    assert [(c.id, c.max, c.days) for c in policy.caps] == [("US-F1", 7, 7)]
    assert [(c.id, c.days) for c in policy.cooldowns] == [("US-F2", 7)]
    assert (strategy.locale, strategy.currency, strategy.timezone) == ("en-US", "USD", "America/New_York")
    assert STRATEGY.read_text().splitlines()[0] == "# yaml-language-server: $schema=../strategy.schema.json"


def test_every_email_and_sms_carries_the_opt_out_link(strategy: CompiledStrategy) -> None:
    """1006.6(e): every template that can go out by email or SMS (main or fallback channel)."""
    electronic: set[str] = set()
    for step in strategy.steps.values():
        for action in step.actions:
            template = getattr(action, "template", None)
            channels = {getattr(action, "channel", None), *getattr(action, "fallback", ())}
            if template and channels & {Channel.EMAIL, Channel.SMS}:
                electronic.add(template)
    assert {"validation_notice", "validation_reminder", "reminder_sms", "settlement_offer", "receipt"} <= electronic
    for name in sorted(electronic):
        body = strategy.templates[name]["en-US"].body
        assert "{{ opt_out_link }}" in body, f"template {name} has no opt-out link"


def test_validation_notice_has_the_1006_34_content(strategy: CompiledStrategy) -> None:
    body = strategy.templates["validation_notice"]["en-US"].body
    for needed in (
        "{{ account.balance | money }}",
        "{{ creditor.name }}",
        "30 days after you receive this notice",
        "dispute",
        "original creditor",
        "www.cfpb.gov/debt-collection",
        "{{ opt_out_link }}",
    ):
        assert needed in body


# ---- validation period -------------------------------------------------------------------------


def test_validation_notice_is_the_first_communication(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy)
    first = of_kind(run, *CONTACT_KINDS)[0]
    assert (first.kind, first.detail, first.at) == ("send", "letter validation_notice", START.astimezone(UTC))


def test_without_a_postal_address_the_validation_notice_goes_by_email(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, account={"postal_address": None})
    first = of_kind(run, *CONTACT_KINDS)[0]
    assert (first.detail, first.at) == ("email validation_notice", START.astimezone(UTC))


@pytest.mark.parametrize(
    "start",
    [
        START,
        # Worst case: mailed before Christmas, receipt only after New Year's Day (11 calendar days).
        datetime(2026, 12, 24, 9, 0, tzinfo=NY),
    ],
    ids=["nov-02", "dec-24"],
)
def test_no_call_and_only_one_reminder_during_the_validation_period(
    strategy: CompiledStrategy, start: datetime
) -> None:
    run = simulate_us(strategy, start=start)
    end = validation_period_end(start.date())
    tasks = of_kind(run, "task", "call")
    assert tasks, "the strategy never calls"
    assert local(tasks[0]).date() > end
    assert day_of(tasks[0], start) == 42
    during = [e.detail for e in of_kind(run, "send") if local(e).date() <= end]
    assert during == ["letter validation_notice", "email validation_reminder"]


# ---- main paths --------------------------------------------------------------------------------


def test_nobody_answers_referral_to_legal_after_a_supervisor_approves(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy)
    tasks = of_kind(run, "task")
    assert [e.step for e in tasks] == ["first_call"] * 3 + ["second_call"] * 3
    assert of_kind(run, "call") == []  # nobody worked a task
    assert ("email", "reminder") in sends(run)
    assert ("sms", "reminder_sms") in sends(run)
    assert sends(run)[-1] == ("email", "settlement_offer")
    approval, legal = of_kind(run, "approval"), of_kind(run, "legal")
    assert len(approval) == 1
    assert len(legal) == 1
    assert approval[0].step == legal[0].step == "legal_review"
    assert approval[0].at < legal[0].at
    assert legal[0].detail == f"referred to legal with balance {BALANCE}"
    assert run.state.resolution == Resolution.LEGAL
    assert run.state.counters.right_party_contacts == 0


def test_legal_rejected_by_the_supervisor_ends_with_a_closing_letter(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, approvals="reject")
    assert of_kind(run, "legal") == []
    assert sends(run)[-1] == ("letter", "closing_letter")
    assert run.state.resolution == Resolution.WRITTEN_OFF


def test_holiday_call_is_moved_to_the_next_day(strategy: CompiledStrategy) -> None:
    """The third attempt of the second call falls on New Year's Day 2027 and moves to Jan 2."""
    run = simulate_us(strategy)
    blocked = [e for e in of_kind(run, "blocked") if local(e).date() == date(2027, 1, 1)]
    # The preset has no holiday rule: the strategy's own calendar blocks, and says so.
    assert [e.detail.split(":")[0] for e in blocked] == ["voice blocked by your strategy's holiday calendar (US)"]
    assert "is a public holiday in US (New Year's Day)" in blocked[0].detail
    last_task = of_kind(run, "task")[-1]
    assert local(last_task) == opening(strategy, 2027, 1, 2)


def test_promise_then_payment_closes_paid_with_a_receipt(strategy: CompiledStrategy) -> None:
    run = simulate_us(
        strategy,
        calls=[{"code": "promise_to_pay", "in_days": 5}],
        events=[{"day": 46, "at": "10:00", "payment": BALANCE}],
    )
    call = of_kind(run, "call")
    assert [e.detail.split(" (")[0] for e in call] == ["call outcome promise_to_pay"]
    assert day_of(call[0]) == 42
    assert ("email", "promise_confirmation") in sends(run)
    assert sends(run)[-1] == ("email", "receipt")
    receipt = of_kind(run, "send")[-1]
    assert (receipt.step, day_of(receipt)) == ("paid", 46)
    assert run.timeline[-1].kind == "closed"
    assert run.state.resolution == Resolution.PAID
    assert run.state.balance == 0
    assert (run.state.counters.promises, run.state.counters.promises_kept) == (1, 1)
    # Promise made: no more calls; nothing but the confirmation between the call and the payment.
    between = [e.detail for e in of_kind(run, *CONTACT_KINDS) if 42 <= day_of(e) < 46]
    assert between == [
        "agent task in us_early (attempt 1)",
        "call outcome promise_to_pay (150000 by 2026-12-19)",
        "email promise_confirmation",
    ]


def test_broken_promise_resumes_collection(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, calls=[{"code": "promise_to_pay", "in_days": 5}], days=70)
    assert ("email", "promise_missed") in sends(run)
    missed = next(e for e in of_kind(run, "send") if e.detail == "email promise_missed")
    # Promise due Dec 19, 3 grace days: broken at the start of Dec 23.
    assert local(missed).date() == date(2026, 12, 23)
    assert run.state.counters.promises_broken == 1
    assert any(e.step == "second_call" and e.at > missed.at for e in of_kind(run, "task"))


@pytest.mark.parametrize(
    ("calls", "events", "opened_detail"),
    [
        ([], [{"day": 20, "dispute": "open"}, {"day": 60, "dispute": "resolved"}], "dispute opened"),
        (["dispute"], [{"day": 60, "dispute": "resolved"}], "call outcome dispute"),
    ],
    ids=["in-writing", "on-a-call"],
)
def test_dispute_stops_all_contact_until_resolved_then_resumes(
    strategy: CompiledStrategy, calls: list[str], events: list[dict[str, Any]], opened_detail: str
) -> None:
    run = simulate_us(strategy, calls=calls, events=events)
    opened = next(e for e in run.timeline if e.detail == opened_detail)
    resolved = next(e for e in run.timeline if e.detail == "dispute resolved")
    assert day_of(resolved) == 60
    assert (resolved.step, resolved.stage) == ("dispute_hold", Stage.HOLD)
    held = [e for e in of_kind(run, "send", "task", "blocked") if opened.at < e.at < resolved.at]
    assert held == []
    after = [e for e in of_kind(run, "send", "task") if e.at >= resolved.at]
    assert (after[0].detail, after[0].step, after[0].at) == ("letter verification", "dispute_verified", resolved.at)
    # Collection resumes a week after the verification.
    assert (after[1].kind, after[1].step, day_of(after[1])) == ("task", "second_call", 67)


def test_dispute_upheld_writes_the_debt_off_without_contact(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, events=[{"day": 20, "dispute": "open"}, {"day": 50, "dispute": "upheld"}])
    assert [e for e in of_kind(run, *CONTACT_KINDS) if day_of(e) > 20] == []
    assert run.state.resolution == Resolution.WRITTEN_OFF


@pytest.mark.parametrize(
    ("amount", "day", "at", "settled"),
    [
        (120_000, 50, "12:00", True),  # 80% of $1,500 inside the 14 days
        (119_999, 50, "12:00", False),  # one cent short
        (120_000, 56, "12:00", False),  # offer made Dec 14 09:00, expired Dec 28 09:00
    ],
)
def test_settlement_paid_before_expiry_closes_settled(
    strategy: CompiledStrategy, amount: int, day: int, at: str, settled: bool
) -> None:
    run = simulate_us(strategy, calls=["refusal"], events=[{"day": day, "at": at, "payment": amount}])
    offer = next(e for e in of_kind(run, "send") if e.detail == "email settlement_offer")
    assert day_of(offer) == 42  # right after the refusal
    if settled:
        assert run.state.resolution == Resolution.SETTLED
        assert run.timeline[-1].detail == "closed: settled"
        assert day_of(run.timeline[-1]) == day
        assert run.state.balance == BALANCE - amount
    else:
        assert run.state.resolution != Resolution.SETTLED
        assert run.state.balance == BALANCE - amount
        # Not settled: the account goes on to the legal review; under $500 there is no lawsuit.
        assert ("letter", "closing_letter") in sends(run)
        assert of_kind(run, "legal") == []


def test_payment_plan_paid_in_installments_ends_paid(strategy: CompiledStrategy) -> None:
    run = simulate_us(
        strategy,
        calls=[{"code": "payment_plan", "installments": 3, "in_days": 7, "frequency": "monthly"}],
        events=[
            {"day": 49, "payment": 50_000},  # Dec 21, first installment due
            {"day": 80, "payment": 50_000},  # Jan 21
            {"day": 111, "payment": 50_000},  # Feb 21
        ],
    )
    assert ("email", "plan_confirmation") in sends(run)
    assert ("email", "installment_missed") not in sends(run)
    assert of_kind(run, "task")[-1].step == "first_call"  # nobody is called during the plan
    assert sends(run)[-1] == ("email", "receipt")
    assert run.state.resolution == Resolution.PAID


def test_callback_waits_out_the_seven_days_after_a_conversation(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, calls=["callback_requested"], days=60)
    tasks = of_kind(run, "task")
    assert [e.step for e in tasks[:2]] == ["first_call", "callback"]
    assert local(tasks[0]) == datetime(2026, 12, 14, 9, 0, tzinfo=NY)
    # Conversation on Dec 14 = day 1: calls are blocked until the start of Dec 21 (US-F2), then
    # until that day's opening.
    assert local(tasks[1]) == opening(strategy, 2026, 12, 21)
    blocked = [e for e in of_kind(run, "blocked") if e.step == "callback"]
    assert len(blocked) == 1
    assert blocked[0].moved_to == tasks[1].at


def test_payment_late_at_night_gets_its_receipt_after_the_8am_opening(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, events=[{"day": 30, "at": "22:30", "payment": BALANCE}])
    receipt = of_kind(run, "send")[-1]
    assert receipt.detail == "email receipt"
    assert local(receipt) == opening(strategy, 2026, 12, 3)
    assert any(e.kind == "blocked" and "US-T1" in e.detail for e in run.timeline)
    assert run.state.resolution == Resolution.PAID


def test_cease_communication_closes_the_account(strategy: CompiledStrategy) -> None:
    run = simulate_us(strategy, events=[{"day": 5, "opt_out": "all"}])
    assert [e for e in of_kind(run, *CONTACT_KINDS) if day_of(e) >= 5] == []
    assert run.state.resolution == Resolution.OPTED_OUT


@pytest.mark.parametrize(
    "scenario",
    [
        {},
        {"calls": ["no_answer"] * 6},
        {"calls": ["callback_requested", "no_answer", "right_party_contact"]},
        {"calls": ["right_party_contact", "hardship", "refusal"]},
        {"calls": [{"code": "promise_to_pay", "in_days": 3}, "no_answer", "no_answer"]},
        {"events": [{"day": 44, "at": "23:00", "payment": 10_000}, {"day": 45, "at": "06:00", "payment": 10_000}]},
    ],
    ids=["silent", "no-answers", "callback", "conversations", "broken-promise", "night-payments"],
)
def test_contact_hours_and_the_seven_calls_in_seven_days_limit(
    strategy: CompiledStrategy, scenario: dict[str, Any]
) -> None:
    run = simulate_us(strategy, **scenario)
    assert of_kind(run, "task"), "the scenario should reach the calls"
    assert_reg_f_contact_rules(run)
    assert of_kind(run, "rejected") == []
