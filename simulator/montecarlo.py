"""Monte Carlo: many synthetic accounts with response probabilities, and the distributions a
strategist compares (contacts per account, days to resolution, share reaching legal).

Seeded: the same seed and probabilities give the same figures.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Channel, Outcome, Resolution
from simulator.engine import simulate
from strategies.amounts import Currency


@dataclass(frozen=True)
class Behaviour:
    """How synthetic debtors and agents behave. Probabilities are per event."""

    answer: float = 0.3  # a call reaches the right party
    wrong_party: float = 0.05  # a call reaches someone else
    promise: float = 0.4  # a right-party contact ends in a promise (when the task allows it)
    plan: float = 0.1  # ... or in a payment plan
    dispute: float = 0.03
    keep: float = 0.65  # a promise or installment is paid on time
    pay_after_message: float = 0.03  # a message makes the debtor pay in full within days
    opt_out_sms: float = 0.01
    approve: float = 0.9  # supervisors approve a requested step


class RandomResponder:
    def __init__(self, rng: random.Random, b: Behaviour) -> None:
        self.rng = rng
        self.b = b

    def _payment(self, state: AccountState, amount: int) -> ev.PaymentReceived:
        return ev.PaymentReceived(
            payment_id=f"mc-{state.account.account_id}-{self.rng.getrandbits(48)}",
            amount=max(1, amount),
            currency=state.account.currency,
        )

    def on_task(
        self, state: AccountState, task: act.CreateAgentTask, now: datetime
    ) -> tuple[ev.AgentOutcome | None, list[tuple[timedelta, ev.Event]]]:
        r = self.rng.random()
        allowed = set(task.outcomes)
        today = now.astimezone(ZoneInfo(state.account.timezone)).date()
        if r < self.b.wrong_party and Outcome.WRONG_PARTY in allowed:
            return ev.AgentOutcome(code=Outcome.WRONG_PARTY), []
        if r >= self.b.answer + self.b.wrong_party:
            return ev.AgentOutcome(code=Outcome.NO_ANSWER), []
        r = self.rng.random()
        if r < self.b.promise and Outcome.PROMISE_TO_PAY in allowed:
            days = self.rng.randint(2, 10)
            outcome = ev.AgentOutcome(
                code=Outcome.PROMISE_TO_PAY,
                promise=ev.PromiseTerms(amount=state.balance, due=today + timedelta(days=days)),
            )
            later: list[tuple[timedelta, ev.Event]] = (
                [(timedelta(days=days, hours=2), self._payment(state, state.balance))]
                if self.rng.random() < self.b.keep
                else []
            )
            return outcome, later
        r -= self.b.promise
        if r < self.b.plan and Outcome.PAYMENT_PLAN in allowed:
            first = today + timedelta(days=7)
            terms = ev.PlanTerms(installments=3, down_payment=0, frequency="monthly", first_due=first)
            share = state.balance // 3
            later = []
            for i in range(3):
                if self.rng.random() < self.b.keep:
                    amount = share if i < 2 else state.balance - 2 * share
                    later.append((timedelta(days=7 + 30 * i), self._payment(state, amount)))
            return ev.AgentOutcome(code=Outcome.PAYMENT_PLAN, plan=terms), later
        r -= self.b.plan
        if r < self.b.dispute and Outcome.DISPUTE in allowed:
            return ev.AgentOutcome(code=Outcome.DISPUTE), [(timedelta(days=10), ev.DisputeResolved(upheld=False))]
        for code in (Outcome.RIGHT_PARTY_CONTACT, Outcome.REFUSAL, Outcome.CALLBACK_REQUESTED):
            if code in allowed:
                return ev.AgentOutcome(code=code), []
        return ev.AgentOutcome(code=Outcome.NO_ANSWER), []

    def on_send(self, state: AccountState, send: act.SendMessage, now: datetime) -> list[tuple[timedelta, ev.Event]]:
        out: list[tuple[timedelta, ev.Event]] = []
        if self.rng.random() < self.b.pay_after_message:
            out.append((timedelta(days=self.rng.randint(1, 5)), self._payment(state, state.balance)))
        if send.channel == Channel.SMS and self.rng.random() < self.b.opt_out_sms:
            out.append((timedelta(hours=1), ev.OptOut(channel=Channel.SMS)))
        return out

    def on_approval(self, state: AccountState, request: act.RequestApproval, now: datetime) -> tuple[timedelta, bool]:
        return timedelta(hours=4), self.rng.random() < self.b.approve


def synthetic_account(strategy: CompiledStrategy, index: int, rng: random.Random, start: datetime) -> AccountSnapshot:
    """A random account in the strategy's market: balance log-uniform over two decades."""
    # Balances of 100 to 10,000 major units (of a thousand pesos where the currency has no minor unit).
    digits = strategy.digits
    scale = 1000 if digits == 0 else 10**digits
    balance = int(10 ** rng.uniform(2, 4)) * scale
    today = start.astimezone(ZoneInfo(strategy.timezone)).date()
    return AccountSnapshot(
        account_id=f"MC-{index}",
        debtor_name="Synthetic Debtor",
        country=strategy.locale.split("-")[-1].upper(),
        timezone=strategy.timezone,
        currency=strategy.currency,
        balance=balance,
        original_amount=balance,
        due_date=today - timedelta(days=rng.randint(1, 60)),
        risk_score=round(rng.random(), 2),
        email="debtor@example.com" if rng.random() < 0.9 else None,
        phone="+10000000000" if rng.random() < 0.95 else None,
        postal_address="1 Example Street",
    )


@dataclass
class Summary:
    accounts: int
    days: int
    contacts: list[int] = field(default_factory=list)
    days_to_resolution: list[float] = field(default_factory=list)
    resolutions: dict[str, int] = field(default_factory=dict)
    reached_legal: int = 0
    placed: int = 0
    collected: int = 0
    blocked: int = 0
    # The strategy's currency, its exponent and locale: how the report shows `placed` and `collected`.
    currency: str = "USD"
    digits: int | None = None
    locale: str = "en-US"

    def money(self, minor: int) -> str:
        """`minor` as money in the strategy's locale: collected $1.234.567 of $9.876.543 placed."""
        return Currency(self.currency, self.locale, self.digits).shown(minor)

    def percentiles(self, values: list[float] | list[int]) -> dict[str, float]:
        if not values:
            return {"mean": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0}
        ordered = sorted(values)

        def pick(q: float) -> float:
            return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

        return {"mean": statistics.fmean(ordered), "p10": pick(0.1), "p50": pick(0.5), "p90": pick(0.9)}


def run_many(
    strategy: CompiledStrategy, accounts: int, days: int, start: datetime, behaviour: Behaviour, seed: int = 1
) -> Summary:
    rng = random.Random(seed)
    summary = Summary(
        accounts=accounts, days=days, currency=strategy.currency, digits=strategy.digits, locale=strategy.locale
    )
    for index in range(accounts):
        account = synthetic_account(strategy, index, rng, start)
        run = simulate(strategy, account, start, days, [], RandomResponder(rng, behaviour), record=False)
        summary.contacts.append(len(run.contacts))
        summary.placed += account.balance
        summary.collected += run.state.paid_total
        summary.blocked += len(run.state.blocked)
        if run.legal_at is not None:
            summary.reached_legal += 1
        key = str(run.state.resolution or ("held after an error" if run.error else "open"))
        summary.resolutions[key] = summary.resolutions.get(key, 0) + 1
        if run.closed_at is not None and run.state.resolution in (Resolution.PAID, Resolution.SETTLED):
            summary.days_to_resolution.append((run.closed_at - start).total_seconds() / 86400)
    return summary
