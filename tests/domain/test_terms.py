"""The promise and plan limits the interpreter shows (terms_limits) are the ones it enforces: a
promise or plan at a limit is taken, one just beyond it is refused, for the strategy's own rules
and for a plan offer's."""

from __future__ import annotations

from datetime import timedelta

from test_interpreter import PROMISES, T0, account, compile_steps

from domain import events as ev
from domain.errors import EventRejected
from domain.interpreter import local_today, start, step, terms_limits
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.terms import TermsLimits, first_day_after

TERMS = """
segments: [{name: all, start: call}]
promises: {max_days_ahead: 15, step: promised, on_broken: call}
plans: {max_installments: 6, min_down_payment: 10%, frequencies: [monthly, weekly], step: plan, on_broken: call}
steps:
  call:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {no_answer: offer}
  offer:
    stage: outreach
    do:
      - offer_plan: {channel: email, template: t, max_installments: 3, min_down_payment: 25%, frequencies: [weekly]}
      - wait: 30d
      - end: written_off
  promised:
    stage: commitment
    do:
      - wait: 30d
      - end: written_off
  plan:
    stage: payment
    do:
      - wait: 90d
      - end: written_off
"""
TODAY = local_today(T0, "America/Santiago")


def started() -> tuple[CompiledStrategy, AccountState]:
    strategy = compile_steps(TERMS)
    return strategy, start(strategy, account(balance=100_000), T0).state


def accepts(strategy: CompiledStrategy, state: AccountState, event: ev.Event) -> bool:
    try:
        step(strategy, state, event, T0)
    except EventRejected:
        return False
    return True


class TestPromiseLimits:
    def test_the_latest_date_and_the_balance_are_the_edges_of_what_is_taken(self) -> None:
        strategy, state = started()
        limits = terms_limits(strategy, state).promise
        assert limits is not None
        latest = limits.latest(TODAY)
        assert (latest, limits.max_amount) == (TODAY + timedelta(days=15), 100_000)
        promise = ev.PromiseTerms
        assert accepts(strategy, state, ev.PromiseMade(terms=promise(amount=100_000, due=latest)))
        assert accepts(strategy, state, ev.PromiseMade(terms=promise(amount=1, due=first_day_after(TODAY))))
        assert not accepts(strategy, state, ev.PromiseMade(terms=promise(amount=1, due=latest + timedelta(days=1))))
        assert not accepts(strategy, state, ev.PromiseMade(terms=promise(amount=1, due=TODAY)))
        assert not accepts(strategy, state, ev.PromiseMade(terms=promise(amount=100_001, due=latest)))


class TestPlanLimits:
    def plan(self, installments: int, down: int, frequency: str = "monthly") -> ev.PlanAgreed:
        terms = ev.PlanTerms(
            installments=installments,
            down_payment=down,
            frequency=frequency,  # type: ignore[arg-type]
            first_due=first_day_after(TODAY),
        )
        return ev.PlanAgreed(terms=terms)

    def test_the_strategys_maximum_installments_and_minimum_down_payment_are_enforced(self) -> None:
        strategy, state = started()
        limits = terms_limits(strategy, state).plan
        assert limits is not None
        assert (limits.max_installments, limits.min_down_payment, limits.frequencies, limits.offered) == (
            6,
            10_000,
            ("monthly", "weekly"),
            False,
        )
        assert accepts(strategy, state, self.plan(6, 10_000))
        assert not accepts(strategy, state, self.plan(7, 10_000))
        assert not accepts(strategy, state, self.plan(6, 9_999))
        assert not accepts(strategy, state, self.plan(6, limits.balance))

    def test_a_plan_offer_brings_its_own_limits(self) -> None:
        strategy, state = started()
        offered = step(strategy, state, ev.AgentOutcome(code="no_answer"), T0).state  # type: ignore[arg-type]
        limits = terms_limits(strategy, offered).plan
        assert limits is not None
        assert (limits.max_installments, limits.min_down_payment, limits.frequencies, limits.offered) == (
            3,
            25_000,
            ("weekly",),
            True,
        )
        assert accepts(strategy, offered, self.plan(3, 25_000, "weekly"))
        assert not accepts(strategy, offered, self.plan(4, 25_000, "weekly"))
        assert not accepts(strategy, offered, self.plan(3, 24_999, "weekly"))
        assert not accepts(strategy, offered, self.plan(3, 25_000, "monthly"))


def test_a_closed_account_takes_no_terms() -> None:
    strategy, state = started()
    paid = step(strategy, state, ev.PaymentReceived(payment_id="p", amount=100_000, currency="CLP"), T0).state
    assert paid.closed
    assert terms_limits(strategy, paid) == TermsLimits(promise=None, plan=None)


def test_a_strategy_without_plans_shows_only_the_promise_limits() -> None:
    strategy = compile_steps(PROMISES)
    limits = terms_limits(strategy, start(strategy, account(), T0).state)
    assert limits.promise is not None
    assert limits.plan is None
