"""strategies/b2b-invoice-reminders.yaml read as the seller's receivables team reads its
timelines: the five Duemint reminders on their days, the late charge applied once, partial
payments, payment in full at any point, and the Chilean contact rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from spread_times import spread_of

from domain.strategy import CompiledStrategy, SendAction
from domain.types import Resolution
from simulator.engine import Entry, Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file

STRATEGY = Path(__file__).resolve().parents[2] / "strategies" / "b2b-invoice-reminders.yaml"
SCL = ZoneInfo("America/Santiago")
START = datetime(2026, 11, 2, 9, 0, tzinfo=SCL)  # Monday; the invoice is issued now
AMOUNT = 2_500_000  # CLP
LATE_FEE = 37_500  # 1.5% of the invoice
# A 30-day invoice issued at START.
INVOICE = {
    "account_id": "F-10231",
    "debtor_name": "Ferretería Los Andes SpA",
    "balance": AMOUNT,
    "due_date": "2026-12-02",
    "email": "pagos@losandes.example",
    "phone": "+56221234567",
}


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return compile_file(str(STRATEGY)).strategy


def simulate_b2b(
    strategy: CompiledStrategy,
    *,
    calls: Iterable[Any] = (),
    events: Iterable[dict[str, Any]] = (),
    approvals: str = "approve",
    account: dict[str, Any] | None = None,
    days: int = 120,
) -> Run:
    doc = ScenarioDoc.model_validate(
        {
            "account": INVOICE if account is None else account,
            "calls": list(calls),
            "events": list(events),
            "approvals": approvals,
            "days": days,
        }
    )
    acc = default_account(strategy, START.date(), doc.account)
    begin = START.astimezone(UTC)
    return simulate(strategy, acc, begin, days, to_events(doc, acc, begin), ScriptedResponder(doc.calls, doc.approvals))


def local(entry: Entry) -> datetime:
    return entry.at.astimezone(SCL)


def of_kind(run: Run, *kinds: str) -> list[Entry]:
    return [e for e in run.timeline if e.kind in kinds]


def templates(run: Run) -> list[str]:
    return [e.detail.removeprefix("email ") for e in of_kind(run, "send")]


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SCL)


def opening(strategy: CompiledStrategy, month: int, day: int, hour: int, year: int = 2026) -> datetime:
    """Where a message the policy moved to the window opening at `hour` lands: the invoice's
    spread later (every account waiting for the same opening lands at its own offset)."""
    return at(month, day, hour, year=year) + spread_of(strategy, INVOICE["account_id"])


def assert_chilean_contact_rules(run: Run) -> None:
    """CL-T1: Mon-Sat 08:00-20:00, no holidays; CL-F1: one call a week; CL-F2: at most 2 written
    messages in any 7 days, at least 2 days apart."""
    cl_holidays = holidays.country_holidays("CL", years=[2026, 2027])
    contacts = of_kind(run, "send", "task")
    for e in contacts:
        when = local(e)
        assert when.weekday() < 6, f"{e.detail} on a Sunday ({when})"
        assert 8 <= when.hour < 20, f"{e.detail} at {when:%H:%M}"
        assert when.date() not in cl_holidays, f"{e.detail} on a holiday ({when.date()})"
    messages = sorted(e.at for e in of_kind(run, "send"))
    for first, second in pairwise(messages):
        assert second - first >= timedelta(days=2), f"messages at {first} and {second}"
    for i, first in enumerate(messages):
        assert len([t for t in messages[i:] if t - first < timedelta(days=7)]) <= 2
    calls = sorted(e.at for e in of_kind(run, "call"))
    for first, second in pairwise(calls):
        assert second - first >= timedelta(days=7)


# ---- the document ------------------------------------------------------------------------------


def test_compiles_on_the_chilean_preset(strategy: CompiledStrategy) -> None:
    assert compile_file(str(STRATEGY)).warnings == ()
    assert strategy.policy.name == "CL"
    assert strategy.fee_cap is not None
    assert strategy.fee_cap.rule == "CL-$1"
    assert (strategy.locale, strategy.currency, strategy.timezone) == ("es-CL", "CLP", "America/Santiago")
    assert [s.name for s in strategy.segments] == ["por_vencer", "vencida", "morosa"]
    summary = strategy.steps["resumen_deuda"]
    assert [(f.percent, f.fixed_minor) for f in summary.fees] == [("1.5", None)]
    (send,) = [a for a in summary.actions if isinstance(a, SendAction)]
    assert (send.template, send.attach) == ("resumen_deuda", "estado_de_cuenta")  # with the PDF statement
    assert "{%- for due in dues %}" in strategy.templates["estado_de_cuenta"]["es-CL"].body
    body = strategy.templates["resumen_deuda"]["es-CL"].body
    for needed in (
        "{{ account.original_amount | money }}",
        "{{ fees.total | money }}",
        "{{ account.balance | money }}",
    ):
        assert needed in body
    assert STRATEGY.read_text().splitlines()[0] == "# yaml-language-server: $schema=../strategy.schema.json"


# ---- the Duemint flow --------------------------------------------------------------------------


def test_the_five_reminders_in_order_on_their_days(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(strategy, events=[{"day": 57, "at": "11:00", "payment": AMOUNT + LATE_FEE}])
    sent = [(e.detail, local(e)) for e in of_kind(run, "send")]
    assert sent == [
        ("email factura_emitida", at(11, 2, 9)),  # issued
        # 3 days before the due date is Sunday Nov 29: CL-T1 moves it to Monday 08:00 (plus spread).
        ("email factura_por_vencer", opening(strategy, 11, 30, 8)),
        ("email factura_vencida", at(12, 3, 9)),  # the day after the due date
        ("email resumen_deuda", at(12, 23, 9)),  # 21 days late, with the late charge
        ("email pago_recibido", at(12, 29, 11)),  # right after the payment
    ]
    assert [e.step for e in of_kind(run, "send")] == [
        "factura_emitida",
        "por_vencer",
        "factura_vencida",
        "resumen_deuda",
        "pago_recibido",
    ]
    fee = of_kind(run, "fee")
    assert [(e.detail, local(e)) for e in fee] == [(f"fee {LATE_FEE}", at(12, 23, 9))]
    assert run.timeline[-1].detail == "closed: paid"
    assert run.state.resolution == Resolution.PAID
    assert run.state.balance == 0


def test_due_soon_follows_the_due_date_not_a_fixed_offset(strategy: CompiledStrategy) -> None:
    """A 45-day invoice (due Thu Dec 17) gets "por vencer" on Mon Dec 14 and "vencida" on Dec 18."""
    run = simulate_b2b(strategy, account={**INVOICE, "due_date": "2026-12-17"}, days=50)
    sent = [(e.detail, local(e)) for e in of_kind(run, "send")]
    assert sent[:3] == [
        ("email factura_emitida", at(11, 2, 9)),
        ("email factura_por_vencer", at(12, 14, 9)),
        ("email factura_vencida", at(12, 18, 9)),
    ]


def test_an_invoice_already_overdue_skips_issued_and_due_soon(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(strategy, account={**INVOICE, "due_date": "2026-10-25"}, days=20)
    assert run.state.segment == "vencida"
    assert templates(run)[:2] == ["factura_vencida", "resumen_deuda"]
    assert "factura_emitida" not in templates(run)
    assert "factura_por_vencer" not in templates(run)


def test_late_charge_is_applied_once_even_when_the_summary_step_is_reentered(strategy: CompiledStrategy) -> None:
    # The agent reaches the client: the summary is sent again, without a second charge.
    run = simulate_b2b(strategy, calls=["right_party_contact"], days=70)
    summaries = [e for e in of_kind(run, "send") if e.detail == "email resumen_deuda"]
    assert len(summaries) == 2
    assert local(summaries[1]) > local(summaries[0]) + timedelta(days=4)
    fees = of_kind(run, "fee")
    assert [e.detail for e in fees] == [f"fee {LATE_FEE}"]
    assert run.state.fees_total == LATE_FEE
    assert run.state.balance == AMOUNT + LATE_FEE


def test_no_late_charge_before_twenty_days_of_delay(strategy: CompiledStrategy) -> None:
    """The summary waits for day 21; the CL-$1 cap would turn an earlier charge into 0."""
    run = simulate_b2b(strategy, days=60)
    fee = of_kind(run, "fee")
    assert len(fee) == 1
    assert (local(fee[0]).date() - date(2026, 12, 2)).days == 21
    assert "capped" not in fee[0].detail


def test_partial_payment_sends_an_updated_summary_and_reduces_the_balance(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(strategy, events=[{"day": 35, "at": "12:00", "payment": 1_000_000}], days=60)
    sent = [(e.detail, local(e)) for e in of_kind(run, "send")]
    assert sent[:5] == [
        ("email factura_emitida", at(11, 2, 9)),
        ("email factura_por_vencer", opening(strategy, 11, 30, 8)),
        ("email factura_vencida", at(12, 3, 9)),
        ("email saldo_actualizado", at(12, 7, 12)),  # the same day as the payment
        ("email resumen_deuda", at(12, 23, 9)),  # the flow goes on for the rest
    ]
    # The late charge is 1.5% of what is still owed.
    assert [e.detail for e in of_kind(run, "fee")] == ["fee 22500"]
    assert run.state.balance == AMOUNT - 1_000_000 + 22_500
    assert run.state.paid_total == 1_000_000
    assert run.state.resolution is None


def test_partial_payment_before_the_due_date_keeps_the_due_soon_reminder(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(strategy, events=[{"day": 10, "at": "10:00", "payment": 500_000}], days=35)
    assert templates(run)[:4] == ["factura_emitida", "saldo_actualizado", "factura_por_vencer", "factura_vencida"]
    assert run.state.balance == AMOUNT - 500_000


@pytest.mark.parametrize(
    ("day", "amount", "approvals", "step_at_payment"),
    [
        (10, AMOUNT, "approve", "espera_vencimiento"),  # before the due date
        (32, AMOUNT, "approve", "espera_resumen"),  # overdue, before the summary
        (57, AMOUNT + LATE_FEE, "approve", "llamada_cobranza"),  # a call task is open
        (80, AMOUNT + LATE_FEE, "reject", "castigo"),  # after the last notice, before the write-off
    ],
)
def test_payment_in_full_at_any_point_thanks_and_closes_paid(
    strategy: CompiledStrategy, day: int, amount: int, approvals: str, step_at_payment: str
) -> None:
    run = simulate_b2b(strategy, approvals=approvals, events=[{"day": day, "at": "10:00", "payment": amount}])
    payment = next(e for e in run.timeline if e.detail == f"payment {amount} CLP")
    assert payment.step == step_at_payment
    after = [e for e in of_kind(run, "send", "task", "fee", "legal") if e.at >= payment.at]
    assert [e.detail for e in after] == ["email pago_recibido"]
    assert after[0].at - payment.at < timedelta(days=3)
    assert run.timeline[-1].detail == "closed: paid"
    assert run.state.resolution == Resolution.PAID
    assert run.state.balance == 0


# ---- clients that do not pay -------------------------------------------------------------------


def test_unpaid_invoice_goes_to_the_receivables_queue_then_legal_with_approval(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(strategy)
    tasks = of_kind(run, "task")
    assert [e.detail for e in tasks] == [
        "agent task in cuentas_por_cobrar (attempt 1)",
        "agent task in cuentas_por_cobrar (attempt 2)",
    ]
    assert local(tasks[0]) == at(12, 28, 9)  # 5 days after the summary
    assert tasks[1].at - tasks[0].at >= timedelta(days=7)
    assert templates(run)[-1] == "aviso_final"
    approval, legal = of_kind(run, "approval"), of_kind(run, "legal")
    assert len(approval) == len(legal) == 1
    assert approval[0].at < legal[0].at
    assert legal[0].detail == f"referred to legal with balance {AMOUNT + LATE_FEE}"
    assert run.state.resolution == Resolution.LEGAL


@pytest.mark.parametrize(
    ("account", "approvals"),
    [(INVOICE, "reject"), ({**INVOICE, "balance": 600_000}, "approve")],
    ids=["supervisor-rejects", "small-balance"],
)
def test_without_a_lawsuit_a_last_notice_then_written_off(
    strategy: CompiledStrategy, account: dict[str, Any], approvals: str
) -> None:
    run = simulate_b2b(strategy, account=account, approvals=approvals, days=150)
    assert of_kind(run, "legal") == []
    assert templates(run)[-2:] == ["aviso_final", "ultimo_aviso"]
    last_notice = of_kind(run, "send")[-1]
    assert run.closed_at is not None
    assert run.closed_at - last_notice.at == timedelta(days=15)
    assert run.state.resolution == Resolution.WRITTEN_OFF


def test_a_promise_kept_in_part_sends_the_updated_balance(strategy: CompiledStrategy) -> None:
    run = simulate_b2b(
        strategy,
        calls=[{"code": "promise_to_pay", "amount": 1_000_000, "in_days": 5}],
        events=[{"day": 60, "at": "10:00", "payment": 1_000_000}],
        days=70,
    )
    assert templates(run)[3:6] == ["resumen_deuda", "compromiso_confirmado", "saldo_actualizado"]
    update = of_kind(run, "send")[5]
    # Paid on New Year's Day (a holiday in Chile): the update goes out on Jan 2 at 08:00 (plus spread).
    assert (update.step, local(update)) == ("pago_parcial", opening(strategy, 1, 2, 8, year=2027))
    assert run.state.counters.promises_kept == 1
    assert run.state.balance == AMOUNT + LATE_FEE - 1_000_000


@pytest.mark.parametrize(
    "scenario",
    [
        {},
        {"calls": ["right_party_contact", "callback_requested", "no_answer", "no_answer"]},
        {"events": [{"day": 35, "payment": 1_000_000}, {"day": 36, "payment": 100_000}]},
        {"events": [{"day": 57, "at": "21:30", "payment": AMOUNT + LATE_FEE}]},
    ],
    ids=["silent", "calls", "two-partial-payments", "paid-at-night"],
)
def test_chilean_contact_rules_hold(strategy: CompiledStrategy, scenario: dict[str, Any]) -> None:
    run = simulate_b2b(strategy, **scenario)
    assert of_kind(run, "send")
    assert_chilean_contact_rules(run)
    assert of_kind(run, "rejected") == []
