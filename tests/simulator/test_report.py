"""What a strategist reads from simulate: amounts as money in the strategy's locale (issue 13:
the timeline printed `128000 EUR` for €1,280.00), while the timeline's data keeps minor units."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rich.console import Console

from domain.strategy import CompiledStrategy
from simulator.engine import Run, simulate
from simulator.montecarlo import Behaviour, run_many
from simulator.report import print_timeline, timeline_rows
from simulator.scenario import CallDoc, ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_text

STRATEGY = """
id: report
name: Report
locale: {locale}
currency: {currency}
timezone: America/Santiago
policy: {{preset: NONE, spread: 0min}}
queues: [calls]
promises: {{step: promised, on_broken: legal}}
segments: [{{name: all, start: remind}}]
steps:
  remind:
    stage: outreach
    fees: [{{fixed: "{fee}"}}]
    do:
      - send: {{channel: email, template: t}}
      - wait: 2d
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {{no_answer: legal, promise_to_pay: promised}}
  promised:
    stage: commitment
    do:
      - wait: 20d
      - goto: legal
  legal:
    stage: legal
    do:
      - escalate_legal
      - end: legal
templates:
  t:
    {locale}:
      body: "Hola {{{{ debtor.first_name }}}}"
"""
START = datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("America/Santiago"))


def strategy(locale: str, currency: str, fee: str) -> CompiledStrategy:
    text = STRATEGY.format(locale=locale, currency=currency, fee=fee)
    return compile_text(text, "report.yaml", compiled_on=date(2026, 11, 1)).strategy


def run(s: CompiledStrategy, balance: int) -> Run:
    doc = ScenarioDoc.model_validate({"days": 40, "events": [{"day": 1, "payment": balance // 4}]})
    account = default_account(s, START.date(), {"balance": balance})
    start = START.astimezone(UTC)
    calls = [CallDoc(code="promise_to_pay", amount=balance // 2)]
    return simulate(s, account, start, doc.days, to_events(doc, account, start), ScriptedResponder(calls))


def details(r: Run) -> dict[str, str]:
    return {kind: detail for _, _, _, kind, detail in timeline_rows(r, "America/Santiago") if kind != "send"}


class TestTimeline:
    def test_chilean_pesos_read_as_chileans_write_them(self) -> None:
        r = run(strategy("es-CL", "CLP", "5,000 CLP"), 1_280_000)
        rows = details(r)
        assert rows["fee"] == "fee $5.000"
        assert rows["event"] == "payment $320.000 CLP"
        assert rows["call"] == "call outcome promise_to_pay ($640.000 by 2026-11-11)"
        assert rows["legal"] == "referred to legal with balance $965.000"
        # the data behind the report keeps minor units, as the workflow's records do
        assert [e.detail for e in r.timeline if e.kind == "fee"] == ["fee 5000"]

    def test_euros_in_a_spanish_locale_and_dollars_in_an_american_one(self) -> None:
        euros = details(run(strategy("es-ES", "EUR", "5.50 EUR"), 128_000))
        assert euros["fee"] == "fee 5,50\xa0€"
        assert euros["legal"] == "referred to legal with balance 965,50\xa0€"
        dollars = details(run(strategy("en-US", "USD", "5.50 USD"), 128_000))
        assert dollars["legal"] == "referred to legal with balance $965.50"

    def test_the_closing_line_shows_balance_and_payments_as_money(self) -> None:
        r = run(strategy("en-US", "USD", "5.50 USD"), 128_000)
        console = Console(record=True, width=200)
        print_timeline(console, r, "America/Santiago", "title")
        text = console.export_text()
        assert "balance $965.50; paid $320.00;" in text
        assert "128000" not in text


class TestMonteCarlo:
    def test_the_summary_shows_amounts_as_money(self) -> None:
        s = strategy("es-CL", "CLP", "5,000 CLP")
        summary = run_many(s, 20, 30, START, Behaviour(), seed=3)
        assert summary.money(1_234_567) == "$1.234.567"
        assert summary.placed > 0
        assert summary.money(summary.placed).startswith("$")
