"""Scenarios a strategist simulates (issue 13): a WhatsApp-first flow whose debtor opts out of
WhatsApp only, re-evaluation after a partial payment, and the three anchored emails of an
account paused across all of them, under each catch-up policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.strategy import CompiledStrategy
from simulator.engine import Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_text

HEADER = """
id: mx-whatsapp
name: WhatsApp first
locale: es-MX
currency: MXN
timezone: America/Mexico_City
policy: {preset: NONE, spread: 0min}
templates:
  t:
    es-MX:
      body: "Hola {{ debtor.first_name }}"
"""
MX = ZoneInfo("America/Mexico_City")
START = datetime(2026, 11, 2, 9, tzinfo=MX)  # a Monday; the default account fell due 15 days before

WHATSAPP_FIRST = """
segments:
  - name: large
    when: balance >= money("1,000")
    start: remind
  - name: small
    start: small
on:
  opt_out: {all: stop}
  partial_payment: recheck
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: whatsapp, template: t, fallback: [sms]}
      - wait: 3d
      - offer_settlement: {channel: whatsapp, template: t, max_discount: 20%, expires_in: 7d, fallback: [sms, email]}
      - wait: 10d
      - goto: stop
  small:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 30d
      - goto: stop
  recheck:
    stage: outreach
    do:
      - reevaluate
  stop:
    stage: closed
    do:
      - end: written_off
"""


def compiled(body: str) -> CompiledStrategy:
    return compile_text(HEADER + body, "scenario.yaml", compiled_on=date(2026, 11, 1)).strategy


def run(strategy: CompiledStrategy, scenario: dict[str, object]) -> Run:
    doc = ScenarioDoc.model_validate(scenario)
    account = default_account(strategy, START.date(), {"balance": 150_000, "whatsapp": "+525512345678"})
    start = START.astimezone(UTC)
    return simulate(strategy, account, start, doc.days, to_events(doc, account, start), ScriptedResponder([]))


def sent(r: Run) -> list[tuple[str, str | None]]:
    return [(e.at.astimezone(MX).strftime("%m-%d %H:%M"), e.channel) for e in r.timeline if e.kind == "send"]


class TestOptOutByChannel:
    def test_a_whatsapp_opt_out_moves_the_offer_to_sms_and_the_account_goes_on(self) -> None:
        r = run(compiled(WHATSAPP_FIRST), {"days": 20, "events": [{"day": 1, "opt_out": "whatsapp"}]})
        assert sent(r) == [("11-02 09:00", "whatsapp"), ("11-05 09:00", "sms")]
        assert r.state.resolution == "written_off"  # by its own path after 13 days, not by the opt-out
        assert [e.at.astimezone(MX).day for e in r.timeline if e.kind == "closed"] == [15]

    def test_an_opt_out_of_everything_stops_at_once(self) -> None:
        r = run(compiled(WHATSAPP_FIRST), {"days": 20, "events": [{"day": 1, "opt_out": "all"}]})
        assert sent(r) == [("11-02 09:00", "whatsapp")]
        assert [e.at.astimezone(MX).day for e in r.timeline if e.kind == "closed"] == [3]


class TestReevaluation:
    def test_a_partial_payment_that_makes_the_debt_small_moves_it_to_the_small_level(self) -> None:
        r = run(compiled(WHATSAPP_FIRST), {"days": 5, "events": [{"day": 1, "payment": 100_000}]})
        assert sent(r) == [("11-02 09:00", "whatsapp"), ("11-03 12:00", "email")]
        assert r.state.segment == "small"


ANCHORED = """
segments: [{{name: all, start: remind}}]
catch_up: {catch_up}
steps:
  remind:
    stage: outreach
    do:
      - wait: {{for: 20d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 23d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 26d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 60d, from: due_date}}
      - end: written_off
"""
# Paused on day 1, before the first anchored email (the 7th), resumed on day 12, after the third (the 13th).
HELD = {"days": 14, "events": [{"day": 1, "pause": True}, {"day": 12, "at": "11:00", "resume": True}]}


class TestCatchUp:
    @pytest.mark.parametrize(
        ("catch_up", "emails", "skipped"),
        [("all", 3, 0), ("skip_missed", 0, 3), ("latest", 1, 2)],
    )
    def test_three_anchored_emails_held_across_all_three(self, catch_up: str, emails: int, skipped: int) -> None:
        r = run(compiled(ANCHORED.format(catch_up=catch_up)), HELD)
        assert sent(r) == [("11-14 11:00", "email")] * emails  # all: three emails in the same minute
        assert len([e for e in r.timeline if e.kind == "blocked" and "catch_up" in e.detail]) == skipped

    def test_without_a_hold_every_email_goes_at_its_time_whatever_the_policy(self) -> None:
        for catch_up in ("all", "skip_missed", "latest"):
            r = run(compiled(ANCHORED.format(catch_up=catch_up)), {"days": 14})
            assert sent(r) == [("11-07 10:00", "email"), ("11-10 10:00", "email"), ("11-13 10:00", "email")]
