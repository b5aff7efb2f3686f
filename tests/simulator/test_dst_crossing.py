"""Journeys that cross a daylight-saving change: the interpreter counts time in UTC whatever zone
the caller's clock is in, so the simulator (handed a start in the debtor's local time, as tests
and previews naturally write it) and the workflow (whose `workflow.now()` is UTC) agree.

A datetime aware of a `ZoneInfo` adds a timedelta in wall time: 7 days after Monday 09:00 -03
was Monday 09:00 -04 across Chile's DST end, an hour later than 7 x 24 hours, which is what the
workflow does. Each case starts a few days before a real change: Chile's DST end (2027-04-04)
and the US spring-forward (2027-03-14), so the strategies' waits and call retries straddle it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain import interpreter
from domain.account import AccountSnapshot
from domain.strategy import CompiledStrategy
from simulator.engine import Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file, compile_text

ROOT = Path(__file__).resolve().parents[2]

# (strategy file, debtor's zone, local start a few days before the zone's DST change)
CROSSINGS = [
    ("cl-consumer.yaml", "America/Santiago", datetime(2027, 3, 29, 9, 0, tzinfo=ZoneInfo("America/Santiago"))),
    ("us-regf-consumer.yaml", "America/New_York", datetime(2027, 3, 8, 9, 0, tzinfo=ZoneInfo("America/New_York"))),
]  # Chile's DST ends 2027-04-04; the US's starts 2027-03-14


def _run(strategy: CompiledStrategy, account: AccountSnapshot, start: datetime, doc: ScenarioDoc) -> Run:
    events = to_events(doc, account, start)
    return simulate(strategy, account, start, doc.days, events, ScriptedResponder(doc.calls, doc.approvals))


@pytest.mark.parametrize(("file", "tz", "local_start"), CROSSINGS, ids=[c[1] for c in CROSSINGS])
def test_a_journey_across_a_dst_change_is_the_same_from_a_local_or_a_utc_start(
    file: str, tz: str, local_start: datetime
) -> None:
    strategy = compile_file(str(ROOT / "strategies" / file)).strategy
    utc_start = local_start.astimezone(UTC)
    doc = ScenarioDoc.model_validate({"days": 60, "approvals": "approve"})  # nobody answers: retries, waits
    account = default_account(strategy, local_start.date(), {"timezone": tz})

    from_utc = _run(strategy, account, utc_start, doc)  # what the workflow does: workflow.now() is UTC
    from_local = _run(strategy, account, local_start, doc)

    crossing = [e for e in from_utc.timeline if e.at.astimezone(ZoneInfo(tz)).utcoffset() != local_start.utcoffset()]
    assert crossing, "the journey must run past the DST change to test anything"
    assert [(e.at, e.kind, e.detail) for e in from_local.timeline] == [
        (e.at, e.kind, e.detail) for e in from_utc.timeline
    ]
    assert all(e.at.utcoffset() == timedelta(0) for e in from_local.timeline), "the timeline is in UTC"
    assert from_local.state == from_utc.state


WAIT_ACROSS = """
id: dst
name: DST
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
queues: [calls]
templates:
  t:
    es-CL:
      body: "Hola"
segments: [{name: all, start: first}]
steps:
  first:
    stage: outreach
    do:
      - wait: 7d
      - send: {channel: email, template: t}
      - end: written_off
"""


@pytest.mark.parametrize(("tz", "local_now"), [(c[1], c[2]) for c in CROSSINGS], ids=[c[1] for c in CROSSINGS])
def test_the_interpreter_counts_a_wait_across_a_dst_change_in_utc(tz: str, local_now: datetime) -> None:
    strategy = compile_text(WAIT_ACROSS.replace("America/Santiago", tz), "dst.yaml").strategy
    account = AccountSnapshot.model_validate(
        {
            "account_id": "A-1",
            "debtor_name": "Ana Pérez",
            "country": "CL",
            "timezone": tz,
            "currency": "CLP",
            "balance": 100_000,
            "original_amount": 100_000,
            "due_date": date(2027, 3, 1),
            "email": "ana@example.com",
        }
    )
    for now in (local_now, local_now.astimezone(UTC)):
        state = interpreter.start(strategy, account, now).state
        assert state.waiting is not None
        assert state.waiting.until is not None
        assert state.waiting.until - local_now.astimezone(UTC) == timedelta(days=7)  # 168 hours, not 167 or 169
        assert state.waiting.until.utcoffset() == timedelta(0)
        assert state.step_started_at.utcoffset() == timedelta(0)


def test_the_interpreter_refuses_a_naive_now() -> None:
    strategy = compile_text(WAIT_ACROSS, "dst.yaml").strategy
    account = default_account(strategy, date(2027, 3, 29), {})
    with pytest.raises(ValueError, match="timezone-aware"):
        interpreter.start(strategy, account, datetime(2027, 3, 29, 12, 0, tzinfo=UTC).replace(tzinfo=None))
