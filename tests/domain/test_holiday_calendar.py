"""Holiday calendars frozen into the compiled strategy: the policy, the interpreter and the
simulator read only the compiled dates, never the installed `holidays` package; a changed
calendar makes a new strategy version; days beyond the frozen years are blocked for good."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from pydantic import ValidationError

from domain.policy import (
    ContactPolicy,
    HolidayCalendar,
    _holiday_calendar,
    calendar_years,
    check_contact,
    next_allowed,
)
from domain.policy_presets import CL
from domain.strategy import CompiledStrategy
from domain.types import Channel
from simulator.engine import Run, simulate
from simulator.scenario import ScriptedResponder, default_account
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = sorted((ROOT / "strategies").glob("*.yaml"))
CL_YAML = ROOT / "strategies" / "cl-consumer.yaml"
COMPILED_ON = date(2026, 11, 30)
SCL = "America/Santiago"
ZONE = ZoneInfo(SCL)
# A Monday that no Chilean calendar names a holiday: the day the "changed calendar" adds.
NEW_HOLIDAY = date(2027, 3, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@pytest.fixture(scope="module")
def cl_strategy() -> CompiledStrategy:
    """cl-consumer compiled with the installed calendar (before any test changes it)."""
    return compile_file(str(CL_YAML), compiled_on=COMPILED_ON).strategy


def make_package_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any read of the installed holidays package fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the installed holidays package was read while evaluating a compiled strategy")

    _holiday_calendar.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", refuse)


@pytest.fixture(autouse=True)
def _no_changed_calendar_left_cached() -> Iterator[None]:
    yield
    _holiday_calendar.cache_clear()


def install_changed_calendar(monkeypatch: pytest.MonkeyPatch, country: str, extra: date) -> None:
    """Make the installed package answer as a release that adds `extra` as a holiday would."""
    real: Callable[..., Any] = holidays.country_holidays

    def changed(code: str, *args: Any, **kwargs: Any) -> Any:
        calendar = real(code, *args, **kwargs)
        if code == country and kwargs.get("years") == extra.year:
            calendar[extra] = "Feriado nuevo"
        return calendar

    _holiday_calendar.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", changed)


def simulate_from(strategy: CompiledStrategy, start: datetime, days: int = 10) -> Run:
    account = default_account(strategy, start.astimezone(ZONE).date(), {"phone": "+56912345678"})
    return simulate(strategy, account, start, days, [], ScriptedResponder([]))


def sends(run: Run) -> list[tuple[datetime, str | None]]:
    return [(e.at, e.channel) for e in run.timeline if e.kind in ("send", "call", "task")]


class TestCompiledCalendar:
    def test_covers_the_product_epoch_to_three_years_after_the_compile(self, cl_strategy: CompiledStrategy) -> None:
        calendar = cl_strategy.policy.calendar
        assert calendar is not None
        assert (calendar.country, calendar.first_year, calendar.last_year) == ("CL", 2025, 2029)
        assert calendar_years(date(2031, 1, 1)) == (2025, 2034)
        assert list(calendar.dates) == sorted(set(calendar.dates))
        assert date(2026, 9, 18) in calendar.dates  # Fiestas Patrias

    @pytest.mark.parametrize("path", STRATEGIES, ids=lambda p: p.stem)
    def test_every_shipped_strategy_with_a_holiday_rule_carries_its_dates(self, path: Path) -> None:
        policy = compile_file(str(path), compiled_on=COMPILED_ON).strategy.policy
        assert (policy.calendar is None) == (policy.holidays is None)
        if policy.calendar is not None:
            assert policy.calendar.country == policy.holidays
            assert policy.calendar.dates

    def test_a_calendar_is_sorted_unique_and_inside_its_years(self) -> None:
        with pytest.raises(ValidationError, match="sorted and unique"):
            HolidayCalendar(country="CL", first_year=2026, last_year=2026, dates=(date(2026, 9, 19), date(2026, 9, 18)))
        with pytest.raises(ValidationError, match="outside"):
            HolidayCalendar(country="CL", first_year=2026, last_year=2026, dates=(date(2027, 1, 1),))
        frozen = CL.with_calendar(COMPILED_ON).model_dump()
        with pytest.raises(ValidationError, match="frozen for the holidays of CO"):
            ContactPolicy.model_validate({**frozen, "holidays": "CO"})


class TestEvaluationReadsOnlyTheCompiledDates:
    def test_the_policy_blocks_and_moves_on_compiled_holidays_alone(
        self, cl_strategy: CompiledStrategy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        make_package_unreadable(monkeypatch)
        decision = check_contact(cl_strategy.policy, Channel.SMS, at(date(2026, 9, 18), 10), SCL, [])
        assert (decision.allowed, decision.rule) == (False, cl_strategy.policy.holiday_rule)
        assert "public holiday in CL" in decision.reason
        moment, _ = next_allowed(cl_strategy.policy, Channel.SMS, at(date(2026, 9, 18), 10), SCL, [])
        assert moment == at(date(2026, 9, 21), 8)  # 18 and 19 holidays, 20 a Sunday

    @pytest.mark.parametrize("path", STRATEGIES, ids=lambda p: p.stem)
    def test_a_simulated_season_of_holidays_never_reads_the_package(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        strategy = compile_file(str(path), compiled_on=COMPILED_ON).strategy
        make_package_unreadable(monkeypatch)
        start = datetime(2026, 9, 14, 9, tzinfo=ZoneInfo(strategy.timezone)).astimezone(UTC)
        account = default_account(strategy, start.date(), {"phone": "+56912345678"})
        run = simulate(strategy, account, start, 120, [], ScriptedResponder([]))
        assert run.timeline

    def test_a_changed_installed_calendar_changes_nothing_for_a_compiled_strategy(
        self, cl_strategy: CompiledStrategy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        start = at(NEW_HOLIDAY, 9)
        before = simulate_from(cl_strategy, start)
        assert sends(before)[0][0].astimezone(ZONE).date() == NEW_HOLIDAY  # contacted that Monday
        install_changed_calendar(monkeypatch, "CL", NEW_HOLIDAY)
        after = simulate_from(cl_strategy, start)
        # The control: a policy without frozen dates (compiled before they were frozen) does see
        # the new holiday, so the changed calendar really is installed.
        legacy = check_contact(CL, Channel.SMS, at(NEW_HOLIDAY, 10), SCL, [])
        assert (legacy.allowed, legacy.rule) == (False, CL.holiday_rule)
        assert after.timeline == before.timeline
        assert check_contact(cl_strategy.policy, Channel.SMS, at(NEW_HOLIDAY, 10), SCL, []).allowed


class TestAChangedCalendarIsANewVersion:
    def test_compiling_under_another_calendar_gives_another_hash_and_the_simulator_follows_each(
        self, cl_strategy: CompiledStrategy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert compile_file(str(CL_YAML), compiled_on=COMPILED_ON).strategy.hash == cl_strategy.hash
        install_changed_calendar(monkeypatch, "CL", NEW_HOLIDAY)
        changed = compile_file(str(CL_YAML), compiled_on=COMPILED_ON).strategy
        start = at(NEW_HOLIDAY, 9)
        under_a, under_b = simulate_from(cl_strategy, start), simulate_from(changed, start)
        assert changed.hash != cl_strategy.hash
        assert changed.policy.calendar is not None
        assert cl_strategy.policy.calendar is not None
        assert set(changed.policy.calendar.dates) - set(cl_strategy.policy.calendar.dates) == {NEW_HOLIDAY}
        # The simulator takes the dates from the strategy it is given, whatever is installed.
        assert sends(under_a)[0][0].astimezone(ZONE).date() == NEW_HOLIDAY
        first_b = sends(under_b)[0][0].astimezone(ZONE)
        assert first_b.date() == NEW_HOLIDAY + timedelta(days=1)
        blocked = [e for e in under_b.timeline if e.kind == "blocked"]
        assert blocked
        assert "public holiday in CL" in blocked[0].detail

    def test_the_compile_year_is_part_of_the_version(self) -> None:
        this_year = compile_file(str(CL_YAML), compiled_on=COMPILED_ON).strategy
        next_year = compile_file(str(CL_YAML), compiled_on=date(2027, 1, 4)).strategy
        same_year = compile_file(str(CL_YAML), compiled_on=date(2026, 1, 2)).strategy
        assert next_year.hash != this_year.hash
        assert same_year.hash == this_year.hash


class TestBeyondTheCalendar:
    def test_a_day_past_the_frozen_years_is_blocked_for_good_with_a_reason(self, cl_strategy: CompiledStrategy) -> None:
        policy = cl_strategy.policy
        decision = check_contact(policy, Channel.SMS, at(date(2030, 1, 2), 10), SCL, [])
        assert (decision.allowed, decision.rule, decision.next_allowed, decision.for_good) == (
            False,
            policy.holiday_rule,
            None,
            True,
        )
        assert "CL holidays 2025-01-01 to 2029-12-31" in decision.reason
        assert "publish the strategy again" in decision.reason
        # The last evening of the calendar: the next window would fall in 2030, so no moment.
        moment, met = next_allowed(policy, Channel.SMS, at(date(2029, 12, 31), 21), SCL, [])
        assert moment is None
        assert met[-1].for_good
        # Letters are outside the windows and holidays: the calendar does not bind them.
        assert check_contact(policy, Channel.LETTER, at(date(2030, 1, 2), 10), SCL, []).allowed

    def test_the_interpreter_skips_such_contacts_and_the_account_goes_on(self, cl_strategy: CompiledStrategy) -> None:
        run = simulate_from(cl_strategy, at(date(2030, 1, 7), 9), days=20)
        assert not [e for e in run.timeline if e.kind == "send" and e.channel != "letter"]
        blocked = [e for e in run.timeline if e.kind == "blocked"]
        assert blocked
        assert all("outside this strategy version's holiday calendar" in e.detail for e in blocked)
