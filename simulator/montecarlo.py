"""Monte Carlo: many synthetic accounts with response probabilities, and the distributions a
strategist compares (contacts per account, days to resolution, share reaching legal).

Seeded: the same seed and probabilities give the same figures.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.interpreter import as_utc as interpreter_utc
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Channel, Outcome, Resolution
from simulator.engine import simulate
from simulator.portfolio import Behaviour, PortfolioDoc, balance_bounds, check_outcomes, draw_account, stream
from strategies.amounts import Currency

# The outcomes that carry nothing but their code: one (frozen) event each, not one per call.
_PLAIN = {code: ev.AgentOutcome(code=code) for code in Outcome}


class RandomResponder:
    """Plays debtors, agents and supervisors by chance. Calls and messages draw from separate
    streams (`rng` and `message_rng`), so two strategies that send a different number of messages
    still see the same answers to their calls, and the reverse."""

    def __init__(
        self,
        rng: random.Random,
        b: Behaviour,
        *,
        message_rng: random.Random | None = None,
        responses: Mapping[str, float] | None = None,
    ) -> None:
        self.rng = rng
        self.message_rng = message_rng or rng
        self.b = b
        self.responses = responses or {}
        # What this account cost and got: messages sent per channel, calls an agent worked.
        self.messages: dict[str, int] = {}
        self.calls = 0
        self.outcomes: dict[str, int] = {}  # calls worked, by the outcome the agent recorded
        self._paid = 0

    def _payment(self, state: AccountState, amount: int) -> ev.PaymentReceived:
        self._paid += 1  # a count, not a draw: the id takes nothing from either stream
        return ev.PaymentReceived(
            payment_id=f"mc-{state.account.account_id}-{self._paid}",
            amount=max(1, amount),
            currency=state.account.currency,
        )

    def on_task(
        self, state: AccountState, task: act.CreateAgentTask, now: datetime
    ) -> tuple[ev.AgentOutcome | None, list[tuple[timedelta, ev.Event]]]:
        outcome, later = self._call(state, task, now)
        if outcome is not None:
            self.calls += 1
            self.outcomes[outcome.code] = self.outcomes.get(outcome.code, 0) + 1
        return outcome, later

    def _call(
        self, state: AccountState, task: act.CreateAgentTask, now: datetime
    ) -> tuple[ev.AgentOutcome | None, list[tuple[timedelta, ev.Event]]]:
        r = self.rng.random()
        allowed = task.outcomes
        if r < self.b.wrong_party and Outcome.WRONG_PARTY in allowed:
            return _PLAIN[Outcome.WRONG_PARTY], []
        if r >= self.b.answer + self.b.wrong_party:
            return _PLAIN[Outcome.NO_ANSWER], []
        r = self.rng.random()
        today = now.astimezone(ZoneInfo(state.account.timezone)).date()
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
            return _PLAIN[Outcome.DISPUTE], [(timedelta(days=10), ev.DisputeResolved(upheld=False))]
        # The strategy's own codes take their shares of the same draw, after the built-in ones: no
        # draw of their own, so a portfolio that gives them none draws exactly as before they existed.
        # Each takes only its own share (not what a disallowed built-in one left, as those do).
        r -= self.b.dispute
        for code, chance in self.b.outcomes.items():
            if 0 <= r < chance and code in allowed:
                return ev.AgentOutcome(code=code), []
            r -= chance
        for code in (Outcome.RIGHT_PARTY_CONTACT, Outcome.REFUSAL, Outcome.CALLBACK_REQUESTED):
            if code in allowed:
                return _PLAIN[code], []
        return _PLAIN[Outcome.NO_ANSWER], []

    def on_send(self, state: AccountState, send: act.SendMessage, now: datetime) -> list[tuple[timedelta, ev.Event]]:
        channel = str(send.channel)
        self.messages[channel] = self.messages.get(channel, 0) + 1
        rng = self.message_rng
        out: list[tuple[timedelta, ev.Event]] = []
        if rng.random() < self.responses.get(channel, self.b.pay_after_message):
            out.append((timedelta(days=rng.randint(1, 5)), self._payment(state, state.balance)))
        if send.channel == Channel.SMS and rng.random() < self.b.opt_out_sms:
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
    """The distributions of `accounts` synthetic accounts (the default portfolio, `behaviour`)."""
    job = Job(
        strategy=strategy,
        portfolio=PortfolioDoc(behaviour=behaviour),
        accounts=accounts,
        days=days,
        start=start,
        seed=seed,
        baseline=False,
    )
    return analyse(job).summary()


# ---- what-if analysis -------------------------------------------------------------------------------

# The days of the recovery curve (and the run's last day, always): the share of placed collected by then.
CHECKPOINTS = (7, 30, 60, 90)
# Accounts per unit of work. Fixed, not derived from the worker count: every figure is a sum of
# integers over shards merged in shard order, so 1 or 2 processes give the same report.
SHARD = 1_000
NO_VARIANT = "(none)"


@dataclass
class Account:
    """One account's result under one arm (a strategy, or the no-contact baseline)."""

    segment: str
    variant: str
    placed: int
    collected: int
    collected_by: dict[int, int]  # checkpoint day -> paid total by then
    messages: dict[str, int]
    calls: int
    outcomes: dict[str, int]  # calls by the outcome recorded
    contacts: int
    blocked: int
    legal: bool
    resolution: str
    days_to_payment: float | None

    def cost(self, unit_costs: Mapping[str, int]) -> int:
        """What the account's messages cost (messages per channel x the channel's unit cost, as
        the cost-per-amount-collected KPI counts them: agent calls apart)."""
        return sum(n * unit_costs.get(channel, 0) for channel, n in self.messages.items())


@dataclass
class Group:
    """The integer sums of a set of accounts under one arm; merged in any grouping, always exact."""

    accounts: int = 0
    placed: int = 0
    collected: int = 0
    collected_by: dict[int, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    contacts: int = 0
    blocked: int = 0
    reached_legal: int = 0
    resolutions: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)  # calls by the outcome recorded

    def add(self, a: Account) -> None:
        self.accounts += 1
        self.placed += a.placed
        self.collected += a.collected
        _add_counts(self.collected_by, a.collected_by)
        _add_counts(self.messages, a.messages)
        self.calls += a.calls
        self.contacts += a.contacts
        self.blocked += a.blocked
        self.reached_legal += a.legal
        _add_counts(self.resolutions, {a.resolution: 1})
        _add_counts(self.outcomes, a.outcomes)

    def merge(self, other: Group) -> None:
        self.accounts += other.accounts
        self.placed += other.placed
        self.collected += other.collected
        _add_counts(self.collected_by, other.collected_by)
        _add_counts(self.messages, other.messages)
        self.calls += other.calls
        self.contacts += other.contacts
        self.blocked += other.blocked
        self.reached_legal += other.reached_legal
        _add_counts(self.resolutions, other.resolutions)
        _add_counts(self.outcomes, other.outcomes)


def _add_counts(into: dict[Any, int], counts: Mapping[Any, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n


@dataclass
class Arm:
    """One arm's figures: overall, by variant and by segment, and the per-account distributions."""

    overall: Group = field(default_factory=Group)
    by_variant: dict[str, Group] = field(default_factory=dict)
    by_segment: dict[str, Group] = field(default_factory=dict)
    contacts: list[int] = field(default_factory=list)
    days_to_payment: list[float] = field(default_factory=list)

    def add(self, a: Account, variant: str, segment: str) -> None:
        """`a` counted overall and under `variant` and `segment` (the baseline is grouped by the
        strategy's groups, so that each group's lift compares the same accounts)."""
        self.overall.add(a)
        self.by_variant.setdefault(variant, Group()).add(a)
        self.by_segment.setdefault(segment, Group()).add(a)
        self.contacts.append(a.contacts)
        if a.days_to_payment is not None:
            self.days_to_payment.append(a.days_to_payment)

    def merge(self, other: Arm) -> None:
        self.overall.merge(other.overall)
        for mine, theirs in ((self.by_variant, other.by_variant), (self.by_segment, other.by_segment)):
            for name in sorted(theirs):
                mine.setdefault(name, Group()).merge(theirs[name])
        self.contacts.extend(other.contacts)
        self.days_to_payment.extend(other.days_to_payment)


@dataclass
class Paired:
    """Sums of per-account differences (the other arm minus the strategy) over the same accounts:
    integers, so exact whatever the sharding. Their means and spreads give the confidence intervals."""

    n: int = 0
    placed: int = 0
    collected: int = 0  # sum of d
    collected_sq: int = 0  # sum of d squared
    cost: int = 0
    cost_sq: int = 0

    def add(self, placed: int, d_collected: int, d_cost: int) -> None:
        self.n += 1
        self.placed += placed
        self.collected += d_collected
        self.collected_sq += d_collected * d_collected
        self.cost += d_cost
        self.cost_sq += d_cost * d_cost

    def merge(self, other: Paired) -> None:
        for name in ("n", "placed", "collected", "collected_sq", "cost", "cost_sq"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Job:
    """What to simulate: a strategy (and optionally another to compare), on a portfolio of
    `accounts` synthetic accounts or on given accounts (an import file's), for `days` from `start`."""

    strategy: CompiledStrategy
    portfolio: PortfolioDoc
    accounts: int | tuple[AccountSnapshot, ...]
    days: int
    start: datetime
    seed: int = 1
    other: CompiledStrategy | None = None
    baseline: bool = True
    unit_costs: Mapping[str, int] = field(default_factory=dict)

    @cached_property
    def responses(self) -> dict[str, float]:
        """The chance a message makes the debtor pay, per channel."""
        return {str(c): self.portfolio.response(c) for c in Channel}

    @property
    def size(self) -> int:
        return self.accounts if isinstance(self.accounts, int) else len(self.accounts)

    @property
    def checkpoints(self) -> tuple[int, ...]:
        return (*(d for d in CHECKPOINTS if d < self.days), self.days)


@dataclass
class Analysis:
    job: Job
    strategy: Arm = field(default_factory=Arm)
    other: Arm | None = None
    baseline: Arm | None = None
    paired: Paired | None = None

    def merge(self, part: Analysis | ShardSums) -> None:
        self.strategy.merge(part.strategy)
        for name in ("other", "baseline", "paired"):
            theirs = getattr(part, name)
            if theirs is not None:
                mine = getattr(self, name)
                if mine is None:
                    setattr(self, name, theirs)
                else:
                    mine.merge(theirs)

    def summary(self) -> Summary:
        """The strategy arm as the distributions summary `collect strategy simulate` printed first."""
        s, arm = self.job.strategy, self.strategy
        return Summary(
            accounts=self.job.size,
            days=self.job.days,
            contacts=arm.contacts,
            days_to_resolution=arm.days_to_payment,
            resolutions=dict(sorted(arm.overall.resolutions.items())),
            reached_legal=arm.overall.reached_legal,
            placed=arm.overall.placed,
            collected=arm.overall.collected,
            blocked=arm.overall.blocked,
            currency=s.currency,
            digits=s.digits,
            locale=s.locale,
        )


def _run_account(
    strategy: CompiledStrategy,
    account: AccountSnapshot,
    job: Job,
    index: int,
    cure: tuple[timedelta, int] | None,
) -> Account:
    """Account `index` through `strategy`, the debtor answering from the account's own streams."""
    b = job.portfolio.behaviour
    responses = job.responses
    responder = RandomResponder(
        stream(job.seed, index, "calls"), b, message_rng=stream(job.seed, index, "messages"), responses=responses
    )
    scripted: list[tuple[datetime, ev.Event]] = []
    if cure is not None:  # the self-curer pays on the same day under any strategy
        after, amount = cure
        paid = ev.PaymentReceived(payment_id=f"cure-{index}", amount=amount, currency=account.currency)
        scripted.append((job.start + after, paid))
    run = simulate(strategy, account, job.start, job.days, scripted, responder, record=False)
    start = interpreter_utc(job.start)
    by: dict[int, int] = {}
    for day in job.checkpoints:
        limit = start + timedelta(days=day)
        by[day] = max((total for at, total in run.payments if at <= limit), default=0)
    state = run.state
    days_to_payment = None
    if run.closed_at is not None and state.resolution in (Resolution.PAID, Resolution.SETTLED):
        days_to_payment = (run.closed_at - start).total_seconds() / 86400
    return Account(
        segment=state.segment,
        variant=state.variant or NO_VARIANT,
        placed=account.balance,
        collected=state.paid_total,
        collected_by=by,
        messages=responder.messages,
        calls=responder.calls,
        outcomes=responder.outcomes,
        contacts=len(run.contacts),
        blocked=len(state.blocked),
        legal=run.legal_at is not None,
        resolution=str(state.resolution or ("held after an error" if run.error else "open")),
        days_to_payment=days_to_payment,
    )


def _baseline(account: AccountSnapshot, job: Job, cure: tuple[timedelta, int] | None) -> Account:
    """The account left alone: it pays only if it cures by itself."""
    paid_on = cure[0] / timedelta(days=1) if cure is not None else None
    collected = cure[1] if cure is not None else 0
    return Account(
        segment="",
        variant="",
        placed=account.balance,
        collected=collected,
        collected_by={d: collected if paid_on is not None and paid_on <= d else 0 for d in job.checkpoints},
        messages={},
        calls=0,
        outcomes={},
        contacts=0,
        blocked=0,
        legal=False,
        resolution=str(Resolution.PAID) if cure is not None else "open",
        days_to_payment=paid_on,
    )


def _self_cure(job: Job, index: int, account: AccountSnapshot) -> tuple[timedelta, int] | None:
    """When the account pays in full by itself, if it does (its own stream, the same for every arm)."""
    rng = stream(job.seed, index, "cure")
    cures = rng.random() < job.portfolio.behaviour.self_cure
    after = timedelta(seconds=rng.randrange(job.days * 86400))
    return (after, account.balance) if cures and account.balance > 0 else None


def run_shard(job: Job, first: int, last: int) -> Analysis:
    """Accounts `first` to `last` (exclusive) under every arm of `job`."""
    part = Analysis(job)
    if job.other is not None:
        part.other, part.paired = Arm(), Paired()
    if job.baseline:
        part.baseline = Arm()
    bounds = balance_bounds(job.portfolio, job.strategy) if isinstance(job.accounts, int) else (0, 0)
    for index in range(first, last):
        if isinstance(job.accounts, int):
            account = draw_account(job.portfolio, job.strategy, bounds, index, job.seed, job.start)
        else:
            account = job.accounts[index]
        cure = _self_cure(job, index, account)
        mine = _run_account(job.strategy, account, job, index, cure)
        part.strategy.add(mine, mine.variant, mine.segment)
        if part.baseline is not None:
            part.baseline.add(_baseline(account, job, cure), mine.variant, mine.segment)
        if job.other is not None:
            assert part.other is not None
            assert part.paired is not None
            theirs = _run_account(job.other, account, job, index, cure)
            part.other.add(theirs, theirs.variant, theirs.segment)
            d_cost = theirs.cost(job.unit_costs) - mine.cost(job.unit_costs)
            part.paired.add(account.balance, theirs.collected - mine.collected, d_cost)
    return part


_JOB: Job | None = None  # the job a worker process runs, set once by its initializer


def _init_worker(job: Job) -> None:
    global _JOB
    _JOB = job


@dataclass
class ShardSums:
    """A worker's shard as it travels back: its sums without the job, which the parent already
    holds (unpickling the compiled strategy took 18 ms a shard, a parent's CPU second per 55 shards)."""

    strategy: Arm
    other: Arm | None
    baseline: Arm | None
    paired: Paired | None


def _worker_shard(bounds: tuple[int, int]) -> ShardSums:
    assert _JOB is not None
    part = run_shard(_JOB, *bounds)
    return ShardSums(part.strategy, part.other, part.baseline, part.paired)


def analyse(job: Job, processes: int = 1) -> Analysis:
    """Every arm of `job` over its accounts, on `processes` worker processes (1: in this one).
    Shards are merged in their order, so the result does not depend on `processes`. PortfolioError
    when the portfolio gives a chance to an outcome code no agent task allows."""
    check_outcomes(job.portfolio, (s for s in (job.strategy, job.other) if s is not None))
    size = job.size
    shards = [(lo, min(lo + SHARD, size)) for lo in range(0, size, SHARD)]
    result = Analysis(job)
    if job.other is not None:
        result.other, result.paired = Arm(), Paired()
    if job.baseline:
        result.baseline = Arm()
    if processes <= 1 or len(shards) <= 1:
        parts: Iterable[Analysis] = (run_shard(job, lo, hi) for lo, hi in shards)
        for part in parts:
            result.merge(part)
        return result
    # spawn, not fork: the API process holds threads and connections a fork would copy half-made.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(processes, len(shards)), mp_context=context, initializer=_init_worker, initargs=(job,)
    ) as pool:
        for sums in pool.map(_worker_shard, shards):  # map yields in submission order
            result.merge(sums)
    return result
