"""Waits counted in calendar months (`mo`): a month is added on the debtor's calendar, at the same
local time, the 31st clamped to a shorter month's last day; and waits without months run exactly
as they did before months existed (their compiled form and hash are unchanged)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import events as ev
from domain.account import AccountSnapshot
from domain.interpreter import add_local_months, add_months, start, step
from domain.strategy import CompiledStrategy, WaitAction
from strategies.compiler import compile_text, content_hash

ZONE = ZoneInfo("America/Santiago")
HEADER = """
id: months
name: Months
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: NONE, spread: 0min}
segments: [{name: all, start: s1}]
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}"
steps:
  s1:
    stage: outreach
    do:
"""


def strategy(actions: str) -> CompiledStrategy:
    return compile_text(HEADER + actions + "      - end: written_off\n", "months.yaml").strategy


def account(due: date) -> AccountSnapshot:
    return AccountSnapshot.model_validate(
        {
            "account_id": "M-1",
            "debtor_name": "Ana Pérez",
            "country": "CL",
            "timezone": "America/Santiago",
            "currency": "CLP",
            "balance": 100_000,
            "original_amount": 100_000,
            "due_date": due,
            "email": "ana@example.com",
        }
    )


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZONE).astimezone(UTC)


class TestCalendarArithmetic:
    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            (date(2027, 1, 31), 1, date(2027, 2, 28)),
            (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
            (date(2027, 1, 31), 2, date(2027, 3, 31)),  # clamped only where the month is short
            (date(2027, 3, 31), 1, date(2027, 4, 30)),
            (date(2027, 11, 15), 3, date(2028, 2, 15)),  # across a year end
            (date(2027, 5, 10), 12, date(2028, 5, 10)),
        ],
    )
    def test_a_month_is_a_calendar_month(self, day: date, months: int, expected: date) -> None:
        assert add_months(day, months) == expected

    def test_beyond_the_calendar_is_none(self) -> None:
        assert add_months(date(9999, 12, 1), 1) is None

    def test_the_local_time_of_day_is_kept_across_a_dst_change(self) -> None:
        # Chile moves its clocks forward on the first Sunday of September (UTC-4 -> UTC-3).
        before = local(2027, 8, 20, 10)
        after = add_local_months(before, 1, "America/Santiago")
        assert after.astimezone(ZONE) == datetime(2027, 9, 20, 10, tzinfo=ZONE)
        assert after - before == timedelta(days=31, hours=-1)


class TestWaits:
    def test_a_month_from_the_due_date_of_january_31_ends_on_february_28(self) -> None:
        s = strategy("      - wait: {for: 1mo, from: due_date}\n      - send: {channel: email, template: t}\n")
        r = start(s, account(date(2027, 1, 31)), local(2027, 1, 31, 9))
        assert r.state.wake_at() == local(2027, 2, 28)

    def test_in_a_leap_year_it_ends_on_february_29(self) -> None:
        s = strategy("      - wait: {for: 1mo, from: due_date}\n      - send: {channel: email, template: t}\n")
        r = start(s, account(date(2028, 1, 31)), local(2028, 1, 31, 9))
        assert r.state.wake_at() == local(2028, 2, 29)

    def test_months_come_before_days_and_hours(self) -> None:
        s = strategy("      - wait: {for: 1mo2d3h, from: due_date}\n      - send: {channel: email, template: t}\n")
        r = start(s, account(date(2027, 1, 31)), local(2027, 1, 31, 9))
        assert r.state.wake_at() == local(2027, 3, 2, 3)  # Feb 28 + 2 days + 3 hours

    def test_chained_monthly_waits_count_from_the_previous_step_at_its_local_time(self) -> None:
        s = strategy(
            "      - send: {channel: email, template: t}\n"
            "      - wait: 1mo\n"
            "      - send: {channel: email, template: t}\n"
            "      - wait: 1mo\n"
            "      - send: {channel: email, template: t}\n"
        )
        first = start(s, account(date(2027, 1, 1)), local(2027, 1, 31, 10))
        assert first.state.wake_at() == local(2027, 2, 28, 10)
        second = step(s, first.state, ev.Tick(), local(2027, 2, 28, 10))
        assert second.state.wake_at() == local(2027, 3, 28, 10)  # from Feb 28, the clamped day

    def test_minutes_are_min(self) -> None:
        s = strategy("      - wait: 90min\n      - send: {channel: email, template: t}\n")
        (wait,) = [a for a in s.steps["s1"].actions if isinstance(a, WaitAction)]
        assert (wait.months, wait.seconds) == (0, 5400)


class TestCompatibility:
    def test_a_strategy_without_months_keeps_its_compiled_form_and_hash(self) -> None:
        """Strategies compiled before months existed carry no `months`; read back they wait as
        before (months 0) and their hash is the one they were published with."""
        s = strategy("      - wait: 3d\n      - send: {channel: email, template: t}\n")
        before_months = s.model_dump(mode="json")
        for action in before_months["steps"]["s1"]["actions"]:
            action.pop("months", None)
        old = CompiledStrategy.model_validate(before_months)
        assert old == s
        assert content_hash(old) == s.hash

    def test_months_are_part_of_the_version(self) -> None:
        month = strategy("      - wait: 1mo\n      - send: {channel: email, template: t}\n")
        days = strategy("      - wait: 30d\n      - send: {channel: email, template: t}\n")
        assert month.hash != days.hash
