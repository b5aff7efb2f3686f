"""Recording a refund or credit of an overpayment (`RefundRecorded`): `overpaid` goes down by the
amount, on an open account and on one closed paid; more than is owed back, or anything when
nothing is, is refused and leaves the state as it was; a reference recorded twice counts once;
a state carried from before overpayments were kept apart (the excess as a negative balance) has
that balance raised toward 0 once `overpaid` is used up."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
from test_interpreter import CADENCE, T0, account, compile_steps

from domain import actions as act
from domain import events as ev
from domain.errors import EventRejected
from domain.interpreter import Result, start, step
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Resolution

LATER = T0 + timedelta(days=2)


def refund(amount: int, reference: str = "r-1", method: Literal["refund", "credit"] = "refund") -> ev.RefundRecorded:
    return ev.RefundRecorded(amount=amount, reference=reference, method=method, by="sup")


def refunds(result: Result) -> list[act.RefundRecorded]:
    return [a for a in result.actions if isinstance(a, act.RefundRecorded)]


def paid_over(excess: int) -> tuple[CompiledStrategy, AccountState]:
    """An account paid 100,000 + `excess` on a balance of 100,000: closed, paid."""
    s = compile_steps(CADENCE)
    paid = step(
        s,
        start(s, account(), T0).state,
        ev.PaymentReceived(payment_id="p", amount=100_000 + excess, currency="CLP"),
        T0,
    )
    assert (paid.state.resolution, paid.state.overpaid) == (Resolution.PAID, excess)
    return s, paid.state


class TestRefundRecorded:
    def test_a_refund_on_a_closed_paid_account_reduces_what_is_owed_back(self) -> None:
        s, state = paid_over(25_000)
        r = step(s, state, refund(10_000), LATER)
        assert (r.state.overpaid, r.state.refund_due, r.state.refunded) == (15_000, 15_000, 10_000)
        assert (r.state.balance, r.state.paid_total, r.state.resolution) == (0, 125_000, Resolution.PAID)
        assert r.actions == (
            act.RefundRecorded(step="s1", amount=10_000, method="refund", reference="r-1", remaining=15_000),
        )

    def test_the_rest_as_a_credit_leaves_nothing_owed_back(self) -> None:
        s, state = paid_over(25_000)
        r = step(s, step(s, state, refund(10_000), LATER).state, refund(15_000, "c-1", "credit"), LATER)
        assert (r.state.overpaid, r.state.refunded, r.state.refund_refs) == (0, 25_000, ("r-1", "c-1"))
        assert refunds(r)[0].method == "credit"
        assert refunds(r)[0].remaining == 0

    def test_the_same_reference_twice_counts_once(self) -> None:
        s, state = paid_over(25_000)
        once = step(s, state, refund(10_000), LATER)
        twice = step(s, once.state, refund(10_000), LATER)
        assert (twice.state.overpaid, twice.state.refunded) == (15_000, 10_000)
        assert refunds(twice) == []

    @pytest.mark.parametrize("amount", [25_001, 10**9])
    def test_more_than_is_owed_back_is_refused_and_changes_nothing(self, amount: int) -> None:
        s, state = paid_over(25_000)
        before = state.model_dump()
        with pytest.raises(EventRejected, match="more than the 25000 owed back"):
            step(s, state, refund(amount), LATER)
        assert state.model_dump() == before

    def test_nothing_owed_back_is_refused(self) -> None:
        s = compile_steps(CADENCE)
        state = start(s, account(), T0).state
        with pytest.raises(EventRejected, match="nothing is owed back"):
            step(s, state, refund(1), T0)

    def test_a_zero_or_negative_amount_is_not_an_event(self) -> None:
        for amount in (0, -5):
            with pytest.raises(ValueError, match="greater than 0"):
                refund(amount)

    def test_an_open_account_that_overpaid_keeps_running(self) -> None:
        s = compile_steps(CADENCE)
        state = start(s, account(), T0).state.model_copy(update={"overpaid": 3_000})
        r = step(s, state, refund(3_000), T0)
        assert (r.state.overpaid, r.state.balance, r.state.resolution) == (0, 100_000, None)
        assert (r.state.step, r.state.waiting) == (state.step, state.waiting)

    def test_a_legacy_negative_balance_is_raised_toward_zero_after_overpaid(self) -> None:
        s, state = paid_over(0)
        legacy = state.model_copy(update={"balance": -4_000, "overpaid": 1_000})
        assert legacy.refund_due == 5_000
        r = step(s, legacy, refund(3_000), LATER)
        assert (r.state.overpaid, r.state.balance, r.state.refund_due) == (0, -2_000, 2_000)
        r = step(s, r.state, refund(2_000, "r-2"), LATER)
        assert (r.state.balance, r.state.refund_due) == (0, 0)

    def test_an_old_state_without_the_new_fields_reads_back(self) -> None:
        s, state = paid_over(25_000)
        body = state.model_dump(mode="json")
        del body["refunded"], body["refund_refs"]
        old = AccountState.model_validate(body)
        assert (old.refunded, old.refund_refs) == (0, ())
        assert step(s, old, refund(25_000), LATER).state.refund_due == 0
