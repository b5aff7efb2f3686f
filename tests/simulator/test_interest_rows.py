"""Interest in a simulated timeline: a row for each charge, as money in the strategy's locale
(a Brazilian strategy in pt-BR, under the BR preset), and the account's balance grows by it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from simulator.engine import simulate
from simulator.report import timeline_rows
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_text

STRATEGY = """
id: juros
name: Juros
locale: pt-BR
currency: BRL
timezone: America/Sao_Paulo
policy: {preset: BR, spread: 0min}
interest: {rate: 1%, per: month}
segments: [{name: all, start: lembrete}]
steps:
  lembrete:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 35d
      - send: {channel: email, template: t}
      - wait: 40d
      - end: written_off
templates:
  t:
    pt-BR:
      subject: "Sua dívida"
      body: "Olá {{ debtor.first_name }}, saldo {{ account.balance | money }}, juros {{ interest.total | money }}"
"""
# Monday 2026-11-02 10:00 in São Paulo.
START = datetime(2026, 11, 2, 10, tzinfo=ZoneInfo("America/Sao_Paulo"))  # Finados: the first message waits


def test_each_month_of_interest_is_a_row_in_brazilian_reais() -> None:
    s = compile_text(STRATEGY, "juros.yaml", compiled_on=date(2026, 11, 1)).strategy
    account = default_account(s, START.date(), {"balance": 100_000, "country": "BR"})
    start = START.astimezone(UTC)
    doc = ScenarioDoc.model_validate({"days": 80, "events": []})
    r = simulate(s, account, start, doc.days, to_events(doc, account, start), ScriptedResponder([]))
    rows = [detail for _, _, _, kind, detail in timeline_rows(r, "America/Sao_Paulo") if kind == "interest"]
    # 1% of R$ 1.000,00 a month from the day it entered (Nov 2): the months ended on Dec 2 and
    # Jan 2 are charged at the account's next turns (the second message, the write-off).
    assert rows == [
        "interest charged R$\xa010,00 (R$\xa010,00 so far)",
        "interest charged R$\xa010,00 (R$\xa020,00 so far)",
    ]
    assert [e.amounts for e in r.timeline if e.kind == "interest"] == [(1_000, 1_000), (1_000, 2_000)]
    assert r.state.interest_total == 2_000
    assert r.state.balance == 102_000
