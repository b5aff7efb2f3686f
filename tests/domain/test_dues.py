"""Several dues per account (issue 13): the oldest unpaid due and the count of unpaid dues as CEL
variables, `days_past_due` counted from the oldest unpaid due in the second edition (the first
edition keeps counting from the account's first due date), and the legal cap's days past due
read the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain import conditions
from domain import events as ev
from domain.account import AccountSnapshot
from domain.dues import due_lines, oldest_unpaid_due, unpaid_dues
from domain.interpreter import start, step
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_text

SCL = ZoneInfo("America/Santiago")
INVOICE = 100_000


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SCL).astimezone(UTC)


def account(**extra: object) -> AccountSnapshot:
    """Two invoices, due November 1 and December 1 2026, both unpaid when the campaign starts."""
    return AccountSnapshot.model_validate(
        {
            "account_id": "D-1",
            "debtor_name": "Ana Pérez",
            "country": "CL",
            "timezone": "America/Santiago",
            "currency": "CLP",
            "balance": 2 * INVOICE,
            "original_amount": 2 * INVOICE,
            "due_date": "2026-11-01",
            "dues": [
                {"due_date": "2026-11-01", "amount": INVOICE},
                {"due_date": "2026-12-01", "amount": INVOICE},
            ],
            "email": "ana@example.com",
            **extra,
        }
    )


BRANCHING = """
id: dues
name: Dues
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: NONE, spread: 0min}
segments: [{name: all, start: watch}]
on:
  partial_payment: watch
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}"
steps:
  watch:
    stage: outreach
    do:
      - branch:
          - if: unpaid_dues >= 2
            goto: several
          - if: days_past_due < 5 && oldest_unpaid_due_days < 5
            goto: fresh
          - else: late
  several:
    stage: contact
    do:
      - wait: 60d
      - end: written_off
  fresh:
    stage: outreach
    do:
      - wait: 60d
      - end: written_off
  late:
    stage: contact
    do:
      - wait: 60d
      - end: written_off
"""


@pytest.fixture(scope="module")
def branching() -> CompiledStrategy:
    return compile_text(BRANCHING, "dues.yaml").strategy


def pay(amount: int, pid: str = "p1") -> ev.PaymentReceived:
    return ev.PaymentReceived(payment_id=pid, amount=amount, currency="CLP")


class TestDueLines:
    def test_payments_cover_the_oldest_due_first(self) -> None:
        a = account()
        assert [(d.number, d.due_date, d.paid_amount, d.paid) for d in due_lines(a, 0)] == [
            (1, date(2026, 11, 1), 0, False),
            (2, date(2026, 12, 1), 0, False),
        ]
        assert [(d.paid_amount, d.paid) for d in due_lines(a, 130_000)] == [(INVOICE, True), (30_000, False)]
        assert oldest_unpaid_due(a, 130_000) == date(2026, 12, 1)
        assert unpaid_dues(a, 130_000, 70_000) == 1

    def test_what_was_paid_before_the_campaign_counts(self) -> None:
        a = account(balance=INVOICE)  # the first invoice was paid before the account came in
        assert [d.paid for d in due_lines(a, 0)] == [True, False]
        assert unpaid_dues(a, 0, INVOICE) == 1

    def test_an_account_without_dues_has_one(self) -> None:
        a = account(dues=[], balance=80_000, original_amount=INVOICE)
        (line,) = due_lines(a, 0)
        assert (line.due_date, line.amount, line.paid_amount, line.paid) == (date(2026, 11, 1), INVOICE, 20_000, False)
        assert unpaid_dues(a, 0, 80_000) == 1
        assert unpaid_dues(a, 80_000, 0) == 0


class TestDaysPastDue:
    """The issue's case: the November invoice is paid; on December 2 the remaining one is a day late."""

    def paid_first(self, strategy: CompiledStrategy) -> dict[str, object]:
        r = start(strategy, account(), local(2026, 11, 20))
        r = step(strategy, r.state, pay(INVOICE), local(2026, 11, 25))
        return conditions.context(r.state, local(2026, 12, 2), strategy.edition)

    def test_second_edition_counts_from_the_oldest_unpaid_due(self, branching: CompiledStrategy) -> None:
        ctx = self.paid_first(branching)
        assert (ctx["days_past_due"], ctx["oldest_unpaid_due_days"], ctx["unpaid_dues"]) == (1, 1, 1)

    def test_first_edition_keeps_counting_from_the_first_due(self, branching: CompiledStrategy) -> None:
        ctx = self.paid_first(branching.model_copy(update={"edition": 1}))
        assert (ctx["days_past_due"], ctx["oldest_unpaid_due_days"], ctx["unpaid_dues"]) == (31, 1, 1)

    def test_conditions_route_on_the_dues(self, branching: CompiledStrategy) -> None:
        r = start(branching, account(), local(2026, 12, 2))
        assert r.state.step == "several"
        r = step(branching, r.state, pay(INVOICE), local(2026, 12, 2, 11))
        assert r.state.step == "fresh"  # one due left, a day late
        edition_1 = branching.model_copy(update={"edition": 1})
        r = start(edition_1, account(), local(2026, 12, 2))
        r = step(edition_1, r.state, pay(INVOICE), local(2026, 12, 2, 11))
        assert r.state.step == "late"  # read 31 days from November 1


FEES = """
id: fees
name: Fees
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: CL, spread: 0min, fee_cap_unit_value: "39,000 CLP"}
segments: [{name: all, start: charge}]
steps:
  charge:
    stage: contact
    fees:
      - percent: 1%
    do:
      - wait: 60d
      - end: written_off
"""


class TestLegalCap:
    """CL-$1 allows no collection fee in the first 20 days past due: counted from the oldest unpaid due."""

    def test_no_fee_while_the_unpaid_invoice_is_young(self) -> None:
        s = compile_text(FEES, "fees.yaml").strategy
        a = account(balance=INVOICE)  # November paid; December is 5 days late on December 6
        r = start(s, a, local(2026, 12, 6))
        fee = [x for x in r.actions if x.kind == "fee"]
        assert [(f.amount, f.requested) for f in fee] == [(0, 1_000)]

    def test_the_first_edition_counted_from_the_paid_due(self) -> None:
        s = compile_text(FEES, "fees.yaml").strategy.model_copy(update={"edition": 1})
        r = start(s, account(balance=INVOICE), local(2026, 12, 6))
        fee = [x for x in r.actions if x.kind == "fee"]
        assert [(f.amount, f.requested) for f in fee] == [(1_000, 1_000)]
