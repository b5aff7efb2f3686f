"""The `notify` action in the language and the interpreter: what it compiles to (short and long
form, a flat static data map), what the interpreter emits (the account's action seq and balance)
and that the account goes on at once. Mistakes are in the invalid corpus (160-163)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from domain import actions as act
from domain import events as ev
from domain import strategy as st
from domain.account import AccountSnapshot
from domain.interpreter import start, step
from simulator.engine import Run, simulate
from simulator.report import timeline_rows
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file, compile_text

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # Monday 10:00 in Santiago

HEADER = """
id: unit
name: Unit
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}, saldo {{ account.balance | money }}"
"""

SUSPEND = """
segments: [{name: all, start: remind}]
on:
  payment_in_full: restore
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 2d
      - notify: {event: suspend_service, data: {plan: gold, level: 2, final: false}}
      - wait: 10d
      - end: written_off
  restore:
    stage: payment
    do:
      - notify: restore_service
      - end: paid
"""


def compiled() -> st.CompiledStrategy:
    return compile_text(HEADER + SUSPEND, "notify.yaml").strategy


def account() -> AccountSnapshot:
    return AccountSnapshot(
        account_id="A-1",
        debtor_name="Ana Pérez",
        country="CL",
        timezone="America/Santiago",
        currency="CLP",
        balance=100_000,
        original_amount=100_000,
        due_date=date(2026, 10, 1),
        email="ana@example.com",
    )


class TestCompile:
    def test_long_and_short_forms(self) -> None:
        s = compiled()
        assert s.steps["remind"].actions[2] == st.NotifyAction(
            event="suspend_service", data={"plan": "gold", "level": 2, "final": False}
        )
        assert s.steps["restore"].actions[0] == st.NotifyAction(event="restore_service")

    def test_data_keeps_its_kinds_through_json(self) -> None:
        s = compiled()
        again = st.CompiledStrategy.model_validate_json(s.model_dump_json())
        action = again.steps["remind"].actions[2]
        assert isinstance(action, st.NotifyAction)
        assert [type(v) for v in action.data.values()] == [str, int, bool]
        assert again == s

    def test_the_event_is_part_of_the_version(self) -> None:
        other = compile_text(HEADER + SUSPEND.replace("suspend_service", "credit_stop"), "n.yaml").strategy
        assert other.hash != compiled().hash


class TestInterpreter:
    def test_notify_carries_the_seq_and_balance_and_the_account_goes_on(self) -> None:
        s = compiled()
        first = start(s, account(), T0)
        assert [type(a) for a in first.actions] == [act.SendMessage]
        wake = first.state.wake_at()
        assert wake == T0 + timedelta(days=2)
        later = step(s, first.state, ev.Tick(), wake)
        assert later.actions == (
            act.NotifyCreditor(
                seq=2,
                step="remind",
                event="suspend_service",
                data={"plan": "gold", "level": 2, "final": False},
                balance=100_000,
            ),
        )
        assert later.state.waiting is not None
        assert later.state.waiting.until == wake + timedelta(days=10)

    def test_a_payment_in_full_notifies_the_restore_with_a_zero_balance(self) -> None:
        s = compiled()
        first = start(s, account(), T0)
        paid = step(s, first.state, ev.PaymentReceived(payment_id="p1", amount=100_000, currency="CLP"), T0)
        notified = [a for a in paid.actions if isinstance(a, act.NotifyCreditor)]
        assert [(n.event, n.balance, n.step) for n in notified] == [("restore_service", 0, "restore")]
        assert paid.state.resolution == "paid"


class TestSimulator:
    def test_the_timeline_shows_what_the_creditor_would_be_told(self) -> None:
        s = compiled()
        run = simulate(s, account(), T0, 20, [], ScriptedResponder([]))
        rows = [r for r in timeline_rows(run, "America/Santiago") if r[3] == "notify"]
        assert rows == [
            ("Wed 2026-11-04 10:00", "outreach", "remind", "notify", "notify suspend_service with balance $100.000")
        ]


class TestExamples:
    """The published configurations whose states exist mostly to act on the creditor's systems."""

    def test_killbill_states_tell_the_billing_system(self) -> None:
        strategy = compile_file(str(EXAMPLES / "killbill-overdue.yaml")).strategy
        # Unpaid through every state, then paid in full 40 days on (before the write-off).
        run = example_run(strategy, {"day": 40, "payment": 1000}, days=90)
        assert notified(run) == [
            (datetime(2026, 9, 16, 9, 0, tzinfo=UTC), "warning", "notify block_changes with balance 1000"),
            (datetime(2026, 9, 20, 9, 0, tzinfo=UTC), "blocked", "notify block_changes with balance 1000"),
            (datetime(2026, 9, 27, 9, 0, tzinfo=UTC), "cancellation", "notify cancel_subscriptions with balance 1000"),
            (datetime(2026, 10, 16, 12, 0, tzinfo=UTC), "cleared", "notify restore_service with balance 0"),
        ]


EXAMPLES = Path(__file__).resolve().parents[2] / "strategies" / "examples"


def example_run(strategy: st.CompiledStrategy, payment: dict[str, int], days: int) -> Run:
    doc = ScenarioDoc.model_validate(
        {
            "account": {"account_id": "arthur", "debtor_name": "Arthur", "balance": 1000, "due_date": "2026-09-06"},
            "events": [payment],
            "days": days,
        }
    )
    begin = datetime(2026, 9, 6, 12, 0, tzinfo=UTC)
    acc = default_account(strategy, begin.date(), doc.account)
    return simulate(strategy, acc, begin, days, to_events(doc, acc, begin), ScriptedResponder([]))


def notified(run: Run) -> list[tuple[datetime, str, str]]:
    return [(e.at, e.step, e.detail) for e in run.timeline if e.kind == "notify"]
