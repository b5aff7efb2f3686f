"""Interest accruing over time: the exact arithmetic, the calendar it counts in, the ceilings, and
what the interpreter charges and shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import actions as act
from domain import conditions
from domain import events as ev
from domain.account import AccountSnapshot
from domain.interest import (
    CEILINGS,
    MICRO,
    Interest,
    accrue,
    months_between,
    period_ceiling,
    principal,
    rate_units,
)
from domain.interpreter import start, step
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_text

DAILY = Interest(rate="0.05", per="day")
MONTHLY = Interest(rate="2", per="month")


def run(rule: Interest, principal_minor: int, days: list[date], due: date = date(2026, 1, 1)) -> tuple[int, int]:
    """(exact millionths, whole units charged) after turns on `days` with a steady principal."""
    accrued = charged = 0
    start_day: date | None = None
    counted: date | None = None
    for day in days:
        a = accrue(
            rule,
            principal_minor=principal_minor,
            accrued=accrued,
            charged=charged,
            start=start_day,
            counted=counted,
            due_date=due,
            today=day,
        )
        accrued, charged, start_day, counted = a.accrued, charged + a.charge, a.start, a.counted
    return accrued, charged


class TestArithmetic:
    def test_rate_units_are_exact_and_refuse_a_fifth_decimal(self) -> None:
        assert rate_units("0.0657") == 657
        assert rate_units("2") == 20_000
        with pytest.raises(ValueError, match="more than 4 decimals"):
            rate_units("0.00001")

    def test_one_day_at_a_daily_rate(self) -> None:
        # 0.05% of 100,001 is 50.0005: 50 charged, the half-thousandth kept.
        accrued, charged = run(DAILY, 100_001, [date(2026, 3, 1), date(2026, 3, 2)], due=date(2026, 3, 1))
        assert accrued == 50_000_500
        assert charged == 50

    def test_fractions_accumulate_until_they_make_a_whole_unit(self) -> None:
        # 0.05% of 1,000 is 0.5 a day: nothing the first day, 1 the second, whoever counts it.
        days = [date(2026, 3, 1) + timedelta(days=n) for n in range(5)]
        accrued, charged = run(DAILY, 1_000, days, due=date(2026, 3, 1))
        assert accrued == 4 * 500_000
        assert charged == 2

    @settings(max_examples=60, deadline=None)
    @given(
        principal_minor=st.integers(0, 10**12),
        turns=st.lists(st.integers(0, 400), min_size=1, max_size=12),
        rate=st.sampled_from(["0.0001", "0.0333", "0.05", "1", "2.5"]),
        per=st.sampled_from(["day", "month"]),
    )
    def test_the_total_never_depends_on_how_often_the_account_had_a_turn(
        self, principal_minor: int, turns: list[int], rate: str, per: str
    ) -> None:
        rule = Interest(rate=rate, per=per)  # type: ignore[arg-type]
        due = date(2026, 1, 31)
        last = due + timedelta(days=max(turns))
        every_turn = sorted({due + timedelta(days=t) for t in turns} | {due, last})
        accrued_many, charged_many = run(rule, principal_minor, every_turn, due)
        accrued_two, charged_two = run(rule, principal_minor, [due, last], due)
        assert accrued_many == accrued_two
        assert charged_many == charged_two == accrued_two // MICRO
        periods = (last - due).days if per == "day" else months_between(due, last)
        assert accrued_two == principal_minor * rate_units(rate) * periods
        # Rounded down: never more than the exact interest, never a whole unit less.
        exact = Decimal(principal_minor) * Decimal(rate) / 100 * periods
        assert charged_two <= exact < charged_two + 1

    def test_principal_leaves_out_fees_and_interest(self) -> None:
        assert principal(120_000, 5_000, 3_000) == 112_000
        assert principal(4_000, 5_000, 3_000) == 0  # paid down past the principal: nothing bears interest


class TestCalendar:
    def test_months_follow_the_calendar_from_the_31st(self) -> None:
        anchor = date(2026, 1, 31)
        assert months_between(anchor, date(2026, 2, 27)) == 0
        assert months_between(anchor, date(2026, 2, 28)) == 1  # Feb 28 is Jan 31's anniversary
        assert months_between(anchor, date(2026, 3, 30)) == 1
        assert months_between(anchor, date(2026, 3, 31)) == 2
        assert months_between(date(2028, 1, 31), date(2028, 2, 29)) == 1  # leap year
        assert months_between(anchor, date(2027, 1, 31)) == 12

    def test_a_monthly_rate_is_charged_on_each_anniversary_not_before(self) -> None:
        due = date(2026, 1, 31)
        _, before = run(MONTHLY, 100_000, [due, date(2026, 2, 27)], due)
        _, on = run(MONTHLY, 100_000, [due, date(2026, 2, 28)], due)
        assert (before, on) == (0, 2_000)

    def test_a_dst_day_is_one_day(self) -> None:
        # Santiago leaves summer time on 2026-04-05 (a 25-hour day); New York enters it on
        # 2026-03-08 (23 hours): one local day each, one day's interest each.
        s = strategy(rate="0.1%", per="day")
        for tz, day in (("America/Santiago", date(2026, 4, 5)), ("America/New_York", date(2026, 3, 8))):
            noon_before = datetime.combine(day - timedelta(days=1), datetime.min.time(), ZoneInfo(tz)) + timedelta(
                hours=12
            )
            r = start(s, account(timezone=tz, due_date=day - timedelta(days=10)), noon_before)
            charged = step(s, r.state, ev.Tick(), noon_before + timedelta(days=2)).state.interest_total
            assert charged == 200, tz  # 0.1% of 100,000, two local days

    def test_counting_waits_for_after_days(self) -> None:
        rule = Interest(rate="1", per="day", after_days=30)
        due = date(2026, 3, 1)
        _, charged = run(rule, 100_000, [due, due + timedelta(days=29), due + timedelta(days=31)], due)
        assert charged == 1_000  # only day 30 has ended past the start

    def test_a_dispute_suspends_counting_and_its_days_are_never_charged(self) -> None:
        due = date(2026, 3, 1)
        first = accrue(
            DAILY, principal_minor=100_000, accrued=0, charged=0, start=None, counted=None, due_date=due, today=due
        )
        held = accrue(
            DAILY,
            principal_minor=100_000,
            accrued=first.accrued,
            charged=0,
            start=first.start,
            counted=first.counted,
            due_date=due,
            today=due + timedelta(days=10),
            suspended=True,
        )
        assert held.accrued == 0
        assert held.counted == due + timedelta(days=10)


class TestCeilings:
    def test_a_nominal_yearly_rate_divides(self) -> None:
        assert period_ceiling("36", "nominal", "month") == Decimal(3)

    def test_an_effective_yearly_rate_compounds_down(self) -> None:
        monthly = period_ceiling("25.02", "effective", "month")
        assert Decimal("1.8782") < monthly < Decimal("1.8783")
        assert (1 + monthly / 100) ** 12 == pytest.approx(Decimal("1.2502"))
        daily = period_ceiling("25.02", "effective", "day")
        assert Decimal("0.0611") < daily < Decimal("0.0612")

    def test_each_ceiling_names_its_date_and_source(self) -> None:
        assert set(CEILINGS) == {"CL", "CO"}  # Mexico and the US have no single legal maximum
        for ceiling in CEILINGS.values():
            assert ceiling.source.startswith("https://")
            assert ceiling.as_of


# ---- in the interpreter ------------------------------------------------------------------------

HEADER = """
id: unit
name: Unit
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
  interest_ceiling: 40%
templates:
  t:
    es-CL:
      body: "Saldo {{ account.balance | money }}, intereses {{ interest.total | money }}"
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 60d
      - end: written_off
"""

# Monday 2026-11-02 10:00 in Santiago (UTC-3).
T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def strategy(rate: str = "0.1%", per: str = "day", after_days: int = 0) -> CompiledStrategy:
    text = HEADER + f"interest: {{rate: {rate}, per: {per}, after_days: {after_days}}}\n"
    return compile_text(text, "unit.yaml").strategy


def account(**over: object) -> AccountSnapshot:
    data: dict[str, object] = {
        "account_id": "A-1",
        "country": "CL",
        "timezone": "America/Santiago",
        "currency": "CLP",
        "balance": 100_000,
        "original_amount": 100_000,
        "due_date": date(2026, 10, 1),
        "email": "ana@example.com",
    }
    data.update(over)
    return AccountSnapshot.model_validate(data)


def charges(actions: tuple[act.Action, ...]) -> list[act.ChargeInterest]:
    return [a for a in actions if isinstance(a, act.ChargeInterest)]


class TestInterpreter:
    def test_nothing_is_charged_for_the_time_before_the_account_entered(self) -> None:
        r = start(strategy(), account(), T0)  # a month past due already
        assert charges(r.actions) == []
        assert r.state.interest_counted == date(2026, 11, 2)

    def test_each_turn_charges_the_days_that_ended_and_says_so(self) -> None:
        s = strategy()
        r = start(s, account(), T0)
        r2 = step(s, r.state, ev.Tick(), T0 + timedelta(days=3))
        (charge,) = charges(r2.actions)
        assert charge.amount == 300  # 0.1% of 100,000 for 3 days
        assert charge.through == date(2026, 11, 5)
        assert charge.total == r2.state.interest_total == 300
        assert r2.state.balance == 100_300
        assert conditions.context(r2.state, T0 + timedelta(days=3))["interest_total"] == 300

    def test_interest_bears_no_interest_and_fees_bear_none(self) -> None:
        s = strategy()
        r = start(s, account(), T0)
        state = r.state.model_copy(update={"balance": 105_000, "fees_total": 5_000})
        r2 = step(s, state, ev.Tick(), T0 + timedelta(days=10))
        r3 = step(s, r2.state, ev.Tick(), T0 + timedelta(days=20))
        assert r2.state.interest_total == 1_000
        assert r3.state.interest_total == 2_000  # on 100,000 again, not on 106,000

    def test_a_payment_lowers_the_principal_from_its_own_turn_on(self) -> None:
        s = strategy()
        r = start(s, account(), T0)
        pay = ev.PaymentReceived(payment_id="p1", amount=50_000, currency="CLP")
        r2 = step(s, r.state, pay, T0 + timedelta(days=2))  # two days on 100,000 first
        assert r2.state.interest_total == 200
        r3 = step(s, r2.state, ev.Tick(), T0 + timedelta(days=4))  # two on 50,000 (+200 interest)
        assert r3.state.interest_total == 300

    def test_a_closed_account_accrues_nothing(self) -> None:
        s = strategy()
        r = start(s, account(), T0)
        paid = step(s, r.state, ev.PaymentReceived(payment_id="p1", amount=100_000, currency="CLP"), T0)
        assert paid.state.closed
        later = step(s, paid.state, ev.Tick(), T0 + timedelta(days=30))
        assert charges(later.actions) == []

    def test_a_strategy_without_interest_changes_nothing(self) -> None:
        plain = compile_text(HEADER.replace("  interest_ceiling: 40%\n", ""), "unit.yaml").strategy
        assert plain.interest is None
        r = start(plain, account(), T0)
        r2 = step(plain, r.state, ev.Tick(), T0 + timedelta(days=30))
        assert r2.state.interest_total == 0
        assert r2.state.interest_counted is None
        assert "interest" not in plain.model_dump(mode="json", exclude_defaults=True)

    def test_a_state_from_before_interest_reads_back(self) -> None:
        r = start(strategy(), account(), T0)
        old = r.state.model_dump(mode="json")
        for name in ("interest_total", "interest_accrued", "interest_start", "interest_counted"):
            del old[name]
        back = AccountState.model_validate(old)
        assert (back.interest_total, back.interest_counted) == (0, None)
