"""Waits on a date anchor (issue 13): negative offsets (a "due soon" reminder before the due date),
the end of the month, the business day before or after a date under the policy's frozen holiday
calendar, and, in the second edition, a default time of day from the policy's windows instead of
local midnight (strategies of the first edition keep midnight)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain import events as ev
from domain.account import AccountSnapshot
from domain.interpreter import shift_business_days, start, step
from domain.policy import is_business_day
from domain.strategy import CompiledStrategy, WaitAction
from strategies.compiler import compile_text, content_hash

SCL = ZoneInfo("America/Santiago")
HEADER = """
id: anchors
name: Anchors
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: CL, spread: 0min}
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


def strategy(wait: str) -> CompiledStrategy:
    actions = f"      - wait: {wait}\n      - send: {{channel: email, template: t}}\n      - end: written_off\n"
    return compile_text(HEADER + actions, "anchors.yaml").strategy


def account(due: date) -> AccountSnapshot:
    return AccountSnapshot.model_validate(
        {
            "account_id": "A-1",
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


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SCL).astimezone(UTC)


def wake(wait: str, due: date, now: datetime) -> datetime | None:
    return start(strategy(wait), account(due), now).state.wake_at()


class TestNegativeOffsets:
    def test_three_days_before_the_due_date_at_the_windows_opening(self) -> None:
        # Due Friday March 12, 2027: the reminder is due Tuesday the 9th, when CL-T1 opens (08:00).
        assert wake("{for: -3d, from: due_date}", date(2027, 3, 12), local(2027, 3, 1, 10)) == local(2027, 3, 9, 8)

    def test_compiled_form(self) -> None:
        (wait,) = [
            a for a in strategy("{for: -1mo3d, from: due_date}").steps["s1"].actions if isinstance(a, WaitAction)
        ]
        assert (wait.months, wait.seconds, wait.anchor) == (-1, -3 * 86400, "due_date")

    def test_a_month_before(self) -> None:
        assert wake("{for: -1mo, from: due_date}", date(2027, 3, 31), local(2027, 1, 5, 10)) == local(2027, 2, 28, 8)

    def test_a_reminder_whose_day_has_passed_runs_at_once(self) -> None:
        r = start(strategy("{for: -3d, from: due_date}"), account(date(2027, 3, 12)), local(2027, 3, 11, 10))
        assert [a.kind for a in r.actions][:1] == ["send"]

    def test_an_explicit_until_still_wins(self) -> None:
        assert wake('{for: -3d, from: due_date, until: "11:30"}', date(2027, 3, 12), local(2027, 3, 1, 10)) == local(
            2027, 3, 9, 11, 30
        )


class TestDefaultTimeOfDay:
    def test_a_day_without_a_window_lands_at_the_weeks_earliest_opening(self) -> None:
        # Sunday March 7 has no CL-T1 window: the wait ends at 08:00 and the policy moves the email.
        assert wake("{for: -5d, from: due_date}", date(2027, 3, 12), local(2027, 3, 1, 10)) == local(2027, 3, 7, 8)

    def test_hours_in_the_offset_count_from_midnight_as_before(self) -> None:
        assert wake("{for: 1d6h, from: due_date}", date(2027, 3, 12), local(2027, 3, 1, 10)) == local(2027, 3, 13, 6)

    def test_days_are_calendar_days_across_a_dst_change(self) -> None:
        # Chile's clocks go forward on Sunday September 5, 2027: 10 days are not 240 hours here.
        assert wake("{for: 10d, from: due_date}", date(2027, 8, 30), local(2027, 8, 1, 10)) == local(2027, 9, 9, 8)

    def test_the_first_edition_keeps_local_midnight(self) -> None:
        first = strategy("{for: -3d, from: due_date}").model_copy(update={"edition": 1})
        r = start(first, account(date(2027, 3, 12)), local(2027, 3, 1, 10))
        assert r.state.wake_at() == local(2027, 3, 9)

    def test_previous_step_waits_are_unchanged(self) -> None:
        assert wake("3d", date(2027, 3, 12), local(2027, 3, 1, 10, 15)) == local(2027, 3, 4, 10, 15)


class TestEndOfMonth:
    def test_the_last_day_of_the_month_the_wait_began_in(self) -> None:
        assert wake("{for: 0d, from: end_of_month}", date(2027, 1, 1), local(2027, 3, 5, 10)) == local(2027, 3, 31, 8)

    def test_counted_back_from_the_end_of_february(self) -> None:
        assert wake("{for: -2d, from: end_of_month}", date(2027, 1, 1), local(2027, 2, 3, 10)) == local(2027, 2, 26, 8)

    def test_a_late_wake_up_in_the_next_month_does_not_move_the_target(self) -> None:
        s = strategy("{for: 0d, from: end_of_month}")
        first = start(s, account(date(2027, 1, 1)), local(2027, 3, 5, 10))
        # The worker was down until April 2: the wait ends at once instead of moving to April 30.
        late = step(s, first.state, ev.Tick(), local(2027, 4, 2, 10))
        assert [a.kind for a in late.actions][:1] == ["send"]


class TestBusinessDays:
    def test_weekends_and_holidays_are_not_business_days(self) -> None:
        policy = strategy("3d").policy
        assert is_business_day(policy, date(2027, 5, 20))  # Thursday
        assert not is_business_day(policy, date(2027, 5, 21))  # Navy Day (Friday)
        assert not is_business_day(policy, date(2027, 5, 22))  # Saturday
        assert shift_business_days(policy, date(2027, 5, 24), -1) == date(2027, 5, 20)
        assert shift_business_days(policy, date(2027, 5, 20), 1) == date(2027, 5, 24)
        assert shift_business_days(policy, date(2027, 5, 17), 3) == date(2027, 5, 20)

    def test_the_business_day_before_a_monday_due_date_skips_a_holiday_friday(self) -> None:
        due = date(2027, 5, 24)
        assert wake("{for: 0d, from: {business_day_before: due_date}}", due, local(2027, 5, 3, 10)) == local(
            2027, 5, 20, 8
        )

    def test_the_business_day_after(self) -> None:
        due = date(2027, 5, 20)
        assert wake("{for: 0d, from: {business_day_after: due_date}}", due, local(2027, 5, 3, 10)) == local(
            2027, 5, 24, 8
        )

    def test_the_offset_counts_from_the_business_day(self) -> None:
        due = date(2027, 5, 24)
        wait = '{for: -1d, from: {business_day_before: due_date}, until: "09:00"}'
        assert wake(wait, due, local(2027, 5, 3, 10)) == local(2027, 5, 19, 9)

    def test_the_last_business_day_before_the_end_of_the_month(self) -> None:
        # July 2027 ends on a Saturday; the business day before it is Friday the 30th.
        wait = "{for: 0d, from: {business_day_before: end_of_month}}"
        assert wake(wait, date(2027, 1, 1), local(2027, 7, 5, 10)) == local(2027, 7, 30, 8)

    @pytest.mark.parametrize("side", ["business_day_before", "business_day_after"])
    def test_compiled_form(self, side: str) -> None:
        s = strategy(f"{{for: 0d, from: {{{side}: promise_date}}}}")
        (wait,) = [a for a in s.steps["s1"].actions if isinstance(a, WaitAction)]
        assert (wait.anchor, wait.business_days) == ("promise_date", -1 if side.endswith("before") else 1)


class TestCompatibility:
    def test_a_strategy_without_the_new_fields_keeps_its_compiled_form_and_hash(self) -> None:
        """Versions compiled before business days, negative months and statements carry none of
        them: read back they are equal, with the hash they were published with."""
        s = strategy("{for: 5d, from: due_date}")
        before = s.model_dump(mode="json")
        for action in before["steps"]["s1"]["actions"]:
            for later in ("months", "business_days", "attach"):
                action.pop(later, None)
        old = CompiledStrategy.model_validate(before)
        assert old == s
        assert content_hash(old) == s.hash

    def test_the_new_fields_are_part_of_the_version(self) -> None:
        assert (
            strategy("{for: 0d, from: {business_day_before: due_date}}").hash
            != strategy("{for: 0d, from: due_date}").hash
        )
