"""Issue 13's routing through the real debtor workflow (time-skipping Temporal server, real
activities and database): a WhatsApp-only opt-out moves the settlement offer to a fallback
channel and the account goes on; an account paused across three anchored emails and resumed
sends only the latest under `catch_up: latest`. Each journey also runs in the simulator, and
the two timelines must be the same."""

from __future__ import annotations

import os

from journey import JourneyRun, sent
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_history import HISTORIES, replayer
from test_debtor_journeys import account, assert_same_timeline, journey, next_monday_9

from domain.strategy import CompiledStrategy
from strategies.compiler import compile_text

HEADER = """
id: routing
name: Routing
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: NONE, spread: 0min}
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}"
"""
WHATSAPP_FIRST = """
segments: [{name: all, start: remind}]
on:
  opt_out: {all: stop}
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: whatsapp, template: t, fallback: [sms]}
      - wait: 3d
      - offer_settlement: {channel: whatsapp, template: t, max_discount: 20%, expires_in: 7d, fallback: [sms, email]}
      - wait: 10d
      - goto: stop
  stop:
    stage: closed
    do:
      - end: written_off
"""
# The account fell due 15 days before the start (a Monday): these land on days 2, 5 and 8.
ANCHORED = """
segments: [{name: all, start: remind}]
catch_up: latest
steps:
  remind:
    stage: outreach
    do:
      - wait: {for: 17d, from: due_date, until: "10:00"}
      - send: {channel: email, template: t}
      - wait: {for: 20d, from: due_date, until: "10:00"}
      - send: {channel: email, template: t}
      - wait: {for: 23d, from: due_date, until: "10:00"}
      - send: {channel: email, template: t}
      - wait: {for: 60d, from: due_date}
      - end: written_off
"""


def compiled(body: str) -> CompiledStrategy:
    return compile_text(HEADER + body, "routing.yaml").strategy


async def replays_and_is_recorded(real: JourneyRun, name: str, database_url: str) -> None:
    """The journey's history replays; with COLLECT_RECORD_HISTORIES it is kept for
    tests/workflows/test_debtor_history.py, which replays every kept history."""
    history = await real.handle.fetch_history()
    await replayer().replay_workflow(history)
    if os.environ.get("COLLECT_RECORD_HISTORIES") and database_url.startswith("sqlite"):
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_a_whatsapp_opt_out_sends_the_offer_by_sms_and_the_account_goes_on(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], database_url: str
) -> None:
    strategy = compiled(WHATSAPP_FIRST)
    start = next_monday_9()
    acct = account(strategy, start, account_id="ROUTING-1")
    real, simulated = await journey(
        env, strategy, acct, start, {"days": 6, "events": [{"day": 1, "opt_out": "whatsapp"}]}
    )

    assert [channel for _, channel, _ in sent(sessions, real.handle.id)] == ["whatsapp", "sms"]
    assert real.state.resolution is None
    assert real.state.offer is not None
    assert real.state.offer.kind == "settlement"
    assert_same_timeline(sessions, real, simulated)
    await replays_and_is_recorded(real, "routing-opt-out-by-channel", database_url)


async def test_resumed_after_three_anchored_emails_sends_only_the_latest(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], database_url: str
) -> None:
    strategy = compiled(ANCHORED)
    start = next_monday_9()
    acct = account(strategy, start, account_id="ROUTING-1")
    doc = {"days": 12, "events": [{"day": 1, "pause": True}, {"day": 10, "at": "11:00", "resume": True}]}
    real, simulated = await journey(env, strategy, acct, start, doc)

    emails = sent(sessions, real.handle.id)
    assert len(emails) == 1
    assert [b.rule for b in real.state.blocked] == ["catch-up", "catch-up"]
    assert real.state.held_since is None
    assert_same_timeline(sessions, real, simulated)
    await replays_and_is_recorded(real, "routing-catch-up-latest", database_url)
