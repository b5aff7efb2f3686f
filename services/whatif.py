"""What-if analysis a strategist decides with, for every door (API, CLI): a strategy run over a
synthetic portfolio (or an import file's accounts), split by variant and by segment, beside the
same accounts left alone (the self-cure baseline) and, optionally, beside another strategy or
version on the same accounts and the same random draws, with the difference and its 95%
confidence interval.

Costs are the cost-per-amount-collected KPI's (services.kpis.cost, the configured channel costs),
so a simulated figure and a campaign's live figure mean the same thing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.account_import import FileUnreadable, parse_csv
from domain.account import AccountSnapshot
from domain.strategy import CompiledStrategy
from services import kpis, strategies
from services.errors import Field, Invalid
from simulator.montecarlo import NO_VARIANT, Analysis, Arm, Group, Job, Paired, Summary, analyse
from simulator.portfolio import PortfolioDoc, PortfolioError, balance_bounds, check_outcomes
from simulator.scenario import parse_start
from strategies.amounts import Currency
from strategies.loader import StrategyInvalid, parse, translate

PORTFOLIO_NAME = "portfolio.yaml"
# A request runs on the API's own thread: these keep one under a minute on a loaded machine.
# The CLI runs on the strategist's machine and may ask for a whole portfolio (`MAX_CLI_ACCOUNTS`).
MAX_API_ACCOUNTS = 5_000
MAX_CLI_ACCOUNTS = 5_000_000
MAX_DAYS = 730
# Rows of an import file shown in the refusal when some cannot be read (the rest are counted).
SHOWN_PROBLEMS = 20
# Two-sided 95% normal quantile.
Z95 = Decimal("1.959963984540054")
SIX = Decimal("0.000001")
BASELINE_LABEL = "no contact (self-cure baseline)"


def read_portfolio(text: str) -> PortfolioDoc:
    """A portfolio written as YAML; Invalid with each error's line and column. Blank: the defaults."""
    if not text.strip():
        return PortfolioDoc()
    try:
        src = parse(text, PORTFOLIO_NAME)
        return PortfolioDoc.model_validate(src.data if src.data is not None else {})
    except StrategyInvalid as exc:
        errors = exc.errors
    except ValidationError as exc:
        errors = translate(src, exc)
    fields = [Field(None, e.message, line=e.line, column=e.col) for e in errors]
    raise Invalid(f"The portfolio is not valid ({len(fields)} error{'s' if len(fields) != 1 else ''}).", fields=fields)


def imported_accounts(data: bytes, strategy: CompiledStrategy, today: date) -> tuple[AccountSnapshot, ...]:
    """The accounts of an import file (CSV, read as a campaign import reads it), to simulate as
    they are; Invalid naming each row that cannot be read."""
    try:
        parsed = parse_csv(data, strategy.currency, today=today)
    except FileUnreadable as exc:
        raise Invalid(exc.detail) from None
    problems = list(parsed.problems)
    wrong = [a for a in parsed.accounts if a.record.snapshot.currency != strategy.currency]
    if problems or wrong:
        fields = [Field(f"/rows/{p.row}" + (f"/{p.field}" if p.field else ""), p.detail) for p in problems]
        fields += [
            Field(
                f"/rows/{a.row}/currency", f"{a.record.snapshot.currency}, but the strategy is in {strategy.currency}"
            )
            for a in wrong
        ]
        fields.sort(key=lambda f: int((f.pointer or "/rows/0").split("/")[2]))
        more = len(fields) - SHOWN_PROBLEMS
        detail = f"{len(fields)} row problem{'s' if len(fields) != 1 else ''} in the import file"
        raise Invalid(
            detail + (f" (the first {SHOWN_PROBLEMS} shown)." if more > 0 else "."), fields=fields[:SHOWN_PROBLEMS]
        )
    if not parsed.accounts:
        raise Invalid("The import file has no accounts.")
    return tuple(a.record.snapshot for a in parsed.accounts)


def check(job: Job, max_accounts: int) -> None:
    """Invalid, saying which and why, when `job` is out of bounds or its portfolio does not fit
    its strategy (before any account runs)."""
    fields = []
    if not 1 <= job.size <= max_accounts:
        fields.append(Field("/accounts", f"{job.size:,} accounts; between 1 and {max_accounts:,}"))
    if not 1 <= job.days <= MAX_DAYS:
        fields.append(Field("/days", f"{job.days} days; between 1 and {MAX_DAYS}"))
    for strategy in (job.strategy, job.other):
        if strategy is None or not isinstance(job.accounts, int):
            continue
        try:
            balance_bounds(job.portfolio, strategy)
        except PortfolioError as exc:
            fields.append(Field(f"/portfolio/{exc.where.replace('.', '/')}", exc.message))
    try:  # a code either arm allows: comparing a strategy with a new route against one without it
        check_outcomes(job.portfolio, (s for s in (job.strategy, job.other) if s is not None))
    except PortfolioError as exc:
        fields.append(Field(f"/portfolio/{exc.where.replace('.', '/')}", exc.message))
    if job.other is not None and job.other.currency != job.strategy.currency:
        fields.append(Field("/compare_with", f"in {job.other.currency}; the strategy is in {job.strategy.currency}"))
    if fields:
        raise Invalid("The what-if analysis cannot run.", fields=fields)


# ---- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    minor: int  # minor units of the report's currency
    shown: str  # formatted for the strategy's locale


@dataclass(frozen=True)
class CurvePoint:
    day: int
    collected: Amount
    share: str | None  # of placed, decimal string


@dataclass(frozen=True)
class ChannelCost:
    channel: str
    messages: int
    unit_cost: Amount
    cost: Amount


@dataclass(frozen=True)
class Figures:
    """One group of accounts (all of them, a variant or a segment) under one arm."""

    name: str
    accounts: int
    placed: Amount
    collected: Amount
    recovery_rate: str | None
    recovery_curve: list[CurvePoint]
    cost_by_channel: list[ChannelCost]
    cost: Amount
    cost_per_account: str | None  # minor units, decimal string
    cost_per_amount_collected: str | None
    calls: int
    contacts_per_account: str | None
    reached_legal: int
    legal_share: str | None
    blocked: int
    resolutions: dict[str, int]
    outcomes: dict[str, int]  # agent calls by the outcome recorded, built-in and the strategy's own


@dataclass(frozen=True)
class Spread:
    mean: float
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class ArmReport:
    label: str
    strategy_id: str | None
    hash: str | None
    overall: Figures
    by_variant: list[Figures]
    by_segment: list[Figures]
    contacts_per_account: Spread
    days_to_payment: Spread


@dataclass(frozen=True)
class Interval:
    """A difference and its 95% confidence interval, decimal strings."""

    difference: str
    low: str
    high: str


@dataclass(frozen=True)
class Comparison:
    """The other arm minus the strategy, on the same accounts."""

    method: str
    recovery_rate: Interval
    cost_per_account: Interval  # minor units
    collected: Amount


@dataclass(frozen=True)
class WhatIf:
    accounts: int
    days: int
    seed: int
    start: datetime
    currency: str
    locale: str
    portfolio: str  # "synthetic" or "import file"
    checkpoints: list[int]
    strategy: ArmReport
    baseline: ArmReport | None
    lift: str | None  # recovery rate minus the baseline's, decimal string
    other: ArmReport | None
    comparison: Comparison | None


def run(job: Job, channel_costs: Mapping[str, int], *, processes: int = 1, max_accounts: int) -> WhatIf:
    """Check `job`, run it and report it."""
    check(job, max_accounts)
    return report(analyse(job, processes), channel_costs)


def report(analysis: Analysis, channel_costs: Mapping[str, int]) -> WhatIf:
    job, s = analysis.job, analysis.job.strategy
    money = Currency(s.currency, s.locale, s.digits).shown
    costs = dict(channel_costs)

    def amount(minor: int) -> Amount:
        return Amount(minor, money(minor))

    def figures(name: str, g: Group) -> Figures:
        tally = kpis.Tally(accounts=g.accounts, placed=g.placed)
        tally.collected_per_day = defaultdict(int, {job.start.date(): g.collected})
        tally.messages = defaultdict(int, g.messages)
        spent = kpis.cost(tally, costs)
        return Figures(
            name=name,
            accounts=g.accounts,
            placed=amount(g.placed),
            collected=amount(g.collected),
            recovery_rate=kpis.recovery_rate(tally).value,
            recovery_curve=[
                CurvePoint(
                    day, amount(g.collected_by.get(day, 0)), kpis.ratio(g.collected_by.get(day, 0), g.placed).value
                )
                for day in job.checkpoints
            ],
            cost_by_channel=[
                ChannelCost(line.channel, line.messages, amount(line.unit_cost), amount(line.cost))
                for line in spent.by_channel
            ],
            cost=amount(spent.total),
            cost_per_account=kpis.ratio(spent.total, g.accounts).value,
            cost_per_amount_collected=spent.per_amount_collected.value,
            calls=g.calls,
            contacts_per_account=kpis.ratio(g.contacts, g.accounts).value,
            reached_legal=g.reached_legal,
            legal_share=kpis.ratio(g.reached_legal, g.accounts).value,
            blocked=g.blocked,
            resolutions=dict(sorted(g.resolutions.items())),
            outcomes=dict(sorted(g.outcomes.items())),
        )

    def arm(label: str, a: Arm, strategy: CompiledStrategy | None) -> ArmReport:
        spread = Summary(accounts=0, days=0).percentiles
        return ArmReport(
            label=label,
            strategy_id=strategy.id if strategy else None,
            hash=strategy.hash if strategy else None,
            overall=figures("all accounts", a.overall),
            by_variant=[figures(n, a.by_variant[n]) for n in sorted(a.by_variant, key=_named_last)],
            by_segment=[figures(n, a.by_segment[n]) for n in sorted(a.by_segment)],
            contacts_per_account=Spread(**spread(a.contacts)),
            days_to_payment=Spread(**spread(a.days_to_payment)),
        )

    mine = arm(f"{s.id} ({s.hash[:12]})", analysis.strategy, s)
    baseline = arm(BASELINE_LABEL, analysis.baseline, None) if analysis.baseline is not None else None
    lift = None
    if baseline is not None:
        g, b = analysis.strategy.overall, analysis.baseline.overall  # type: ignore[union-attr]
        lift = _decimal(Decimal(g.collected - b.collected) / g.placed) if g.placed else None
    other = comparison = None
    if analysis.other is not None and job.other is not None:
        other = arm(f"{job.other.id} ({job.other.hash[:12]})", analysis.other, job.other)
        assert analysis.paired is not None
        comparison = compare(analysis.paired, amount)
    return WhatIf(
        accounts=job.size,
        days=job.days,
        seed=job.seed,
        start=job.start,
        currency=s.currency,
        locale=s.locale,
        portfolio="synthetic" if isinstance(job.accounts, int) else "import file",
        checkpoints=list(job.checkpoints),
        strategy=mine,
        baseline=baseline,
        lift=lift,
        other=other,
        comparison=comparison,
    )


def _named_last(name: str) -> tuple[bool, str]:
    return name == NO_VARIANT, name


PAIRED_METHOD = (
    "paired per-account differences (the other strategy minus this one, on the same accounts and random "
    "draws), normal approximation: mean difference +/- 1.96 standard errors"
)


def compare(p: Paired, amount: Callable[[int], Amount]) -> Comparison:
    """The difference and its 95% interval for the recovery rate and the cost per account.

    Paired, normal approximation: each account ran under both arms, so the per-account differences
    d_i are independent draws and their mean has standard error sd(d)/sqrt(n) (n is large: the
    central limit theorem applies; a bootstrap would give the same within noise at these n and
    cost a thousand reruns of the sums). The recovery rate's difference is sum(d)/sum(placed) with
    placed the same in both arms, so its standard error is that of mean(d) scaled by n/placed.
    Everything is computed in Decimal from exact integer sums: the same seed, the same digits.
    """
    if p.n == 0 or p.placed == 0:
        zero = Interval("0", "0", "0")
        return Comparison(PAIRED_METHOD, zero, zero, amount(0))
    n = Decimal(p.n)
    rate_scale = n / Decimal(p.placed)
    rate = _interval(p.collected, p.collected_sq, p.n, rate_scale)
    cost = _interval(p.cost, p.cost_sq, p.n, Decimal(1))
    return Comparison(PAIRED_METHOD, rate, cost, amount(p.collected))


def _interval(total: int, squares: int, n: int, scale: Decimal) -> Interval:
    mean = Decimal(total) / n
    variance = (Decimal(squares) - Decimal(total) * Decimal(total) / n) / (n - 1) if n > 1 else Decimal(0)
    error = (max(variance, Decimal(0)) / n).sqrt() * Z95
    return Interval(_decimal(mean * scale), _decimal((mean - error) * scale), _decimal((mean + error) * scale))


def _decimal(value: Decimal) -> str:
    rounded = value.quantize(SIX, rounding=ROUND_HALF_EVEN)
    return "0" if rounded == 0 else format(rounded.normalize(), "f")


# ---- for a published version (the API) ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a strategist asks of a published version; bounded by the API's schema and by `check`."""

    accounts: int
    days: int
    seed: int
    start: str | None
    portfolio: PortfolioDoc | None
    accounts_csv: str | None
    compare_with: str | None
    baseline: bool


def for_version(
    session: Session, strategy_hash: str, asked: Request, now: datetime, channel_costs: Mapping[str, int]
) -> WhatIf:
    """The analysis of a published version (and of the version to compare with); NotFound when
    either is not published, Invalid naming the field otherwise."""
    strategy = CompiledStrategy.model_validate(strategies.version(session, strategy_hash).compiled_json)
    other = None
    if asked.compare_with is not None:
        other = CompiledStrategy.model_validate(strategies.version(session, asked.compare_with).compiled_json)
    try:
        begin = parse_start(asked.start, strategy.timezone, now.replace(second=0, microsecond=0))
    except (ValueError, KeyError, OverflowError) as exc:
        raise Invalid(
            "The start is not a local date and time like '2026-11-02 09:00'.",
            fields=[Field("/start", f"cannot read {asked.start!r}: {exc}")],
        ) from None
    population: int | tuple[AccountSnapshot, ...] = asked.accounts
    if asked.accounts_csv is not None:
        population = imported_accounts(asked.accounts_csv.encode(), strategy, begin.date())
    job = Job(
        strategy=strategy,
        portfolio=asked.portfolio or PortfolioDoc(),
        accounts=population,
        days=asked.days,
        start=begin,
        seed=asked.seed,
        other=other,
        baseline=asked.baseline,
        unit_costs=dict(channel_costs),
    )
    return run(job, channel_costs, max_accounts=MAX_API_ACCOUNTS)
