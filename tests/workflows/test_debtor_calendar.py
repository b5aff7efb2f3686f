"""The debtor workflow decides on the holiday dates frozen into its strategy, never on the
installed `holidays` package: a calendar change (a package upgrade) neither changes what a
running account does nor breaks the replay of its history; it arrives as a new strategy version.
A strategy compiled before calendars were frozen gets its dates once, recorded in history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import holidays
import pytest
from journey import sent
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_history import replayer
from test_debtor_journeys import TZ, ZONE, account, assert_same_timeline, journey, next_monday_9
from workers import product_converter

from domain.policy import _holiday_calendar, check_contact
from domain.policy_presets import CL
from domain.strategy import CompiledStrategy
from domain.types import Channel
from simulator.engine import simulate
from simulator.scenario import ScriptedResponder
from strategies.compiler import compile_file
from workflows.debtor import CALENDAR_PATCH

CL_YAML = Path(__file__).resolve().parents[2] / "strategies" / "cl-consumer.yaml"


def install_changed_calendar(monkeypatch: pytest.MonkeyPatch, extra: date) -> None:
    """Make the installed package answer as a release that adds `extra` as a Chilean holiday."""
    real: Callable[..., Any] = holidays.country_holidays

    def changed(code: str, *args: Any, **kwargs: Any) -> Any:
        calendar = real(code, *args, **kwargs)
        if code == "CL" and kwargs.get("years") == extra.year:
            calendar[extra] = "Feriado nuevo"
        return calendar

    _holiday_calendar.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", changed)


@pytest.fixture(autouse=True)
def _no_changed_calendar_left_cached() -> Any:
    yield
    _holiday_calendar.cache_clear()


def first_send(sessions: sessionmaker[Session], workflow_id: str) -> tuple[Any, Channel]:
    out = sent(sessions, workflow_id)
    assert out, "the journey must send at least one message"
    return out[0][0], Channel(out[0][1])


async def test_a_history_replays_with_the_same_decisions_under_a_changed_calendar(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = next_monday_9()
    strategy = compile_file(str(CL_YAML), compiled_on=start.date()).strategy
    real, _ = await journey(env, strategy, account(strategy, start), start, {"days": 10})
    history = await real.handle.fetch_history()
    when, channel = first_send(sessions, real.handle.id)

    # A `holidays` upgrade makes the day of the first message a holiday.
    install_changed_calendar(monkeypatch, when.astimezone(ZONE).date())
    # The control: read from the installed package, that message would now be blocked.
    assert not check_contact(CL, channel, when, TZ, []).allowed
    # Replay runs the workflow code again and fails on any different command: it passes, and
    # the compiled strategy still allows exactly what was sent.
    await replayer().replay_workflow(WorkflowHistory.from_json(history.workflow_id, history.to_json()))
    assert check_contact(strategy.policy, channel, when, TZ, []).allowed


async def test_a_running_workflow_decides_on_its_compiled_calendar_not_the_installed_one(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = next_monday_9()
    compiled_a = compile_file(str(CL_YAML), compiled_on=start.date()).strategy
    install_changed_calendar(monkeypatch, start.astimezone(ZONE).date())  # calendar B: day 1 is a holiday
    compiled_b = compile_file(str(CL_YAML), compiled_on=start.date()).strategy
    assert compiled_b.hash != compiled_a.hash  # a changed calendar is a new version

    acct = account(compiled_a, start)
    real, simulated = await journey(env, compiled_a, acct, start, {"days": 5})
    when, _ = first_send(sessions, real.handle.id)
    # Version A's account is contacted on day 1, B's installed holiday notwithstanding, and the
    # simulator (same compiled dates) agrees with the workflow.
    assert when.astimezone(ZONE).date() == start.astimezone(ZONE).date()
    assert_same_timeline(sessions, real, simulated)
    # Version B's own dates move that contact to the next day, in the simulator as in production.
    under_b = simulate(compiled_b, acct, start, 5, [], ScriptedResponder([]))
    assert under_b.contacts
    assert min(under_b.contacts)[0].astimezone(ZONE).date() > start.astimezone(ZONE).date()


async def test_a_strategy_compiled_before_frozen_calendars_gets_its_dates_once_in_history(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = next_monday_9()
    compiled = compile_file(str(CL_YAML), compiled_on=start.date()).strategy
    # As stored before this change: a holiday country, no dates.
    old: CompiledStrategy = compiled.model_copy(
        update={"policy": compiled.policy.model_copy(update={"calendar": None})}
    )
    real, _ = await journey(env, old, account(old, start), start, {"days": 10})
    history = await real.handle.fetch_history()
    recorded = history.to_json()
    sealed = [
        payload
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        for details in event.marker_recorded_event_attributes.details.values()
        for payload in details.payloads
    ]
    codec = product_converter().payload_codec
    assert codec is not None
    markers = [payload.data.decode() for payload in await codec.decode(sealed)]  # payloads are encrypted
    assert any(CALENDAR_PATCH in m for m in markers)  # the patch marker
    assert any('"activity_type":"freeze_holiday_calendar"' in m for m in markers)  # the local activity
    assert any('"country":"CL"' in m and '"dates":[' in m for m in markers)  # and its result, the dates
    when, _ = first_send(sessions, real.handle.id)

    install_changed_calendar(monkeypatch, when.astimezone(ZONE).date())
    await replayer().replay_workflow(WorkflowHistory.from_json(history.workflow_id, recorded))
