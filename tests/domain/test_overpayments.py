"""A payment larger than what the account owes: the balance stops at zero, the excess is kept as
`overpaid` (a refund or credit the creditor owes) and reported in an `Overpaid` fact, wherever
the payment lands (the balance, a promise, a plan, a settlement, an account already closed)."""

from __future__ import annotations

from datetime import date, timedelta

from test_interpreter import CADENCE, PROMISES, T0, account, compile_steps

from domain import actions as act
from domain import events as ev
from domain.interpreter import Result, start, step
from domain.state import AccountState
from domain.types import Outcome, Resolution


def pay(amount: int, payment_id: str = "p") -> ev.PaymentReceived:
    return ev.PaymentReceived(payment_id=payment_id, amount=amount, currency="CLP")


def overpaid(result: Result) -> list[act.Overpaid]:
    return [a for a in result.actions if isinstance(a, act.Overpaid)]


SETTLEMENT = """
segments: [{name: all, start: offer}]
steps:
  offer:
    stage: commitment
    do:
      - offer_settlement: {channel: email, template: t, max_discount: 20%, expires_in: 7d}
      - wait: 10d
      - end: written_off
"""

PLANS = """
plans: {step: on_plan, on_broken: done, max_installments: 6, min_down_payment: 10%}
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    do:
      - wait: 30d
      - end: written_off
  on_plan:
    stage: payment
    do:
      - wait: 120d
      - goto: done
  done:
    stage: closed
    do:
      - end: written_off
"""


class TestExactAndOverpayment:
    def test_an_exact_payment_closes_paid_with_nothing_overpaid(self) -> None:
        s = compile_steps(CADENCE)
        r = step(s, start(s, account(), T0).state, pay(100_000), T0)
        assert (r.state.balance, r.state.overpaid, r.state.resolution) == (0, 0, Resolution.PAID)
        assert overpaid(r) == []

    def test_the_excess_is_kept_apart_and_reported_never_a_negative_balance(self) -> None:
        s = compile_steps(CADENCE)
        r = step(s, start(s, account(), T0).state, pay(125_000), T0)
        assert (r.state.balance, r.state.paid_total, r.state.overpaid) == (0, 125_000, 25_000)
        assert r.state.resolution == Resolution.PAID
        assert overpaid(r) == [act.Overpaid(step="s1", payment_id="p", amount=25_000, total=25_000)]
        # Reported before the closure it comes with, in the turn that took the payment.
        kinds = [a.kind for a in r.actions]
        assert kinds.index("overpaid") < kinds.index("closed")

    def test_a_payment_after_the_account_is_paid_is_overpaid_in_full_and_adds_up(self) -> None:
        s = compile_steps(CADENCE)
        r = step(s, start(s, account(), T0).state, pay(110_000, "a"), T0)
        r = step(s, r.state, pay(5_000, "b"), T0 + timedelta(days=1))
        assert (r.state.balance, r.state.overpaid) == (0, 15_000)
        assert overpaid(r) == [act.Overpaid(step="s1", payment_id="b", amount=5_000, total=15_000)]

    def test_partial_payments_owe_nothing_back(self) -> None:
        s = compile_steps(CADENCE)
        r = step(s, start(s, account(), T0).state, pay(60_000, "a"), T0)
        r = step(s, r.state, pay(40_000, "b"), T0 + timedelta(hours=1))
        assert (r.state.balance, r.state.overpaid, r.state.resolution) == (0, 0, Resolution.PAID)

    def test_a_state_saved_before_overpayments_existed_reads_with_none(self) -> None:
        s = compile_steps(CADENCE)
        saved = start(s, account(), T0).state.model_dump(mode="json")
        saved.pop("overpaid")
        assert AccountState.model_validate(saved).overpaid == 0


class TestOnCommitments:
    def test_a_promise_paid_beyond_the_balance(self) -> None:
        s = compile_steps(PROMISES)
        r = start(s, account(), T0)
        promise = ev.PromiseTerms(amount=40_000, due=date(2026, 11, 9))
        r = step(s, r.state, ev.AgentOutcome(code=Outcome.PROMISE_TO_PAY, promise=promise), T0)
        r = step(s, r.state, pay(130_000), T0 + timedelta(days=1))
        assert r.state.counters.promises_kept == 1
        assert (r.state.balance, r.state.overpaid, r.state.resolution) == (0, 30_000, Resolution.PAID)
        assert [a.amount for a in overpaid(r)] == [30_000]

    def test_a_settlement_paid_beyond_its_amount(self) -> None:
        s = compile_steps(SETTLEMENT)
        r = start(s, account(), T0)
        assert r.state.offer is not None
        assert r.state.offer.amount_due == 80_000
        r = step(s, r.state, pay(90_000), T0 + timedelta(days=1))
        assert r.state.resolution == Resolution.SETTLED
        # The settlement's 80,000 closes the debt: the other 10,000 is the debtor's. The balance
        # keeps the discount forgiven, as an exact settlement leaves it.
        assert (r.state.balance, r.state.overpaid) == (20_000, 10_000)
        assert [a.amount for a in overpaid(r)] == [10_000]

    def test_an_exact_settlement_owes_nothing_back_and_a_later_payment_is_overpaid(self) -> None:
        s = compile_steps(SETTLEMENT)
        r = start(s, account(), T0)
        r = step(s, r.state, pay(30_000, "a"), T0 + timedelta(hours=1))
        r = step(s, r.state, pay(50_000, "b"), T0 + timedelta(days=1))
        assert (r.state.resolution, r.state.balance, r.state.overpaid) == (Resolution.SETTLED, 20_000, 0)
        r = step(s, r.state, pay(1_000, "c"), T0 + timedelta(days=2))
        assert (r.state.balance, r.state.overpaid) == (20_000, 1_000)

    def test_a_plan_paid_beyond_the_balance(self) -> None:
        s = compile_steps(PLANS)
        r = start(s, account(), T0)
        terms = ev.PlanTerms(installments=3, down_payment=10_000, first_due=date(2026, 11, 10))
        r = step(s, r.state, ev.PlanAgreed(terms=terms), T0)
        assert r.state.plan is not None
        r = step(s, r.state, pay(100_500), T0 + timedelta(days=3))
        assert r.state.plan is None
        assert (r.state.balance, r.state.overpaid, r.state.resolution) == (0, 500, Resolution.PAID)
