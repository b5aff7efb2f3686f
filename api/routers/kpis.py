"""Campaign KPIs for supervisors and strategists, overall, per champion/challenger variant and per
agent, with the formulas of commercial-and-compliance.md §1.4 (each cited where it is computed).

Facts come from the database (db/repositories/kpis.py), never from the workflows. The window
(`from`, `to`: inclusive UTC dates) filters events: payments by when they were received, messages
by when they were planned, outcomes by when they were recorded, promises by when they were made.
Every account of the campaign (in the report's currency) is in the population.

Roll rates need each account's past-due bucket at successive month ends. There is no snapshot
table; the buckets are rebuilt from the ledger instead: the balance at a month end is the placed
balance plus fees applied minus payments received by that day, and days past due run from the
account's due date. A balance of zero or less is the `paid` (cured) bucket. This is exact for
what the ledger knows; it cannot see a creditor-side change of due date.
"""

from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from api.deps import NowDep, Planner, SessionDep, SettingsDep
from api.errors import ProblemError, ProblemItem
from api.schemas.dates import Day
from api.schemas.kpis import (
    AgentKpis,
    Bucket,
    CampaignAgentKpis,
    CampaignKpis,
    ChannelCost,
    CollectedPerDay,
    Cost,
    DayAmount,
    KpiSet,
    PromiseCounts,
    Ratio,
    RollPeriod,
    RollTransition,
    VariantKpis,
)
from db.models import Campaign
from db.repositories import kpis as facts
from db.repositories.payments import promise_ref
from domain.interpreter import NOT_A_CONVERSATION

router = APIRouter(prefix="/kpis", tags=["kpis"])

CampaignPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]*$", description="The campaign's id.")
]
FromQuery = Annotated[
    Day | None, Query(alias="from", description="First day of the window (UTC), default: the first placement.")
]
ToQuery = Annotated[Day | None, Query(description="Last day of the window (UTC), inclusive; default: today.")]
CurrencyQuery = Annotated[
    str | None,
    Query(pattern=r"^[A-Z]{3}$", description="Which currency to report; needed only when the campaign mixes them."),
]

# Past-due buckets (§1.4 roll rate: 30-day buckets), in order; `paid` is the cure.
FORWARD: tuple[Bucket, ...] = ("current", "1-29", "30-59", "60-89", "90+")
NOT_CONVERSATIONS = frozenset(str(code) for code in NOT_A_CONVERSATION)
SIX_PLACES = Decimal("0.000001")
# Dates a report may ask about; outside them date arithmetic overflows and nothing was collected.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
# Roll rates are computed for at most this many month ends (the latest ones): ten years.
MAX_MONTH_ENDS = 121


def ratio(numerator: int, denominator: int) -> Ratio:
    """numerator ÷ denominator as a checkable ratio (decimal string, 6 places, half-even)."""
    if denominator == 0:
        return Ratio(value=None, numerator=numerator, denominator=denominator)
    value = (Decimal(numerator) / Decimal(denominator)).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
    return Ratio(value=format(value.normalize(), "f"), numerator=numerator, denominator=denominator)


def bucket(balance: int, days_past_due: int) -> Bucket:
    """The account's bucket: `paid` when nothing is owed, else by days past due."""
    if balance <= 0:
        return "paid"
    if days_past_due <= 0:
        return "current"
    if days_past_due < 30:
        return "1-29"
    if days_past_due < 60:
        return "30-59"
    if days_past_due < 90:
        return "60-89"
    return "90+"


def month_ends(start: date, end: date) -> list[date]:
    """Every last day of a month within [start, end]."""
    ends: list[date] = []
    year, month = start.year, start.month
    while True:
        last = date(year, month, calendar.monthrange(year, month)[1])
        if last > end:
            return ends
        if last >= start:
            ends.append(last)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass
class Facts:
    """What the KPIs of one set of accounts are computed from."""

    accounts: list[facts.PlacedAccount]
    payments: list[facts.LedgerEntry]  # in the window
    contacts: list[facts.ContactCount]
    outcomes: list[facts.OutcomeCount]
    promises: list[facts.PromiseFact]
    ledger_payments: list[facts.LedgerEntry] = field(default_factory=list)  # all time: balances at month ends
    ledger_fees: list[facts.LedgerEntry] = field(default_factory=list)

    def subset(self, ids: set[int]) -> Facts:
        """The same facts restricted to accounts `ids`."""
        return Facts(
            accounts=[a for a in self.accounts if a.id in ids],
            payments=[p for p in self.payments if p.account_id in ids],
            contacts=[c for c in self.contacts if c.account_id in ids],
            outcomes=[o for o in self.outcomes if o.account_id in ids],
            promises=[p for p in self.promises if p.account_id in ids],
            ledger_payments=[p for p in self.ledger_payments if p.account_id in ids],
            ledger_fees=[f for f in self.ledger_fees if f.account_id in ids],
        )


@dataclass(frozen=True)
class Span:
    """The report's window: inclusive dates, and the UTC instants that bound its events."""

    first: date
    last: date
    window: facts.Window


# ---- the formulas (§1.4) ----------------------------------------------------------------------


def recovery_rate(f: Facts) -> Ratio:
    """§1.4 Recovery rate: amount collected ÷ amount outstanding when placed."""
    return ratio(sum(p.amount for p in f.payments), sum(a.placed_balance for a in f.accounts))


def right_party_contacts(outcomes: Iterable[facts.OutcomeCount]) -> tuple[int, int]:
    """(right-party contacts, dial attempts): every agent outcome is one attempt; those other than
    no_answer and wrong_party were a conversation with the debtor (as the interpreter counts them)."""
    attempts = rpcs = 0
    for o in outcomes:
        attempts += o.count
        rpcs += o.count if o.code not in NOT_CONVERSATIONS else 0
    return rpcs, attempts


def promise_counts(promises: Iterable[facts.PromiseFact]) -> PromiseCounts:
    """How the promises made ended so far (kept and broken are the workflow's decisions)."""
    by_status: dict[str, int] = defaultdict(int)
    made = 0
    for p in promises:
        made += 1
        by_status[p.status] += 1
    return PromiseCounts(
        made=made,
        open=by_status["open"],
        kept=by_status["kept"],
        broken=by_status["broken"],
        cancelled=by_status["cancelled"],
    )


def promise_kept_rates(promises: list[facts.PromiseFact]) -> tuple[Ratio, Ratio]:
    """§1.4 Promise-kept rate: kept ÷ promises that fell due, pending ones excluded; and its
    $-weighted version. The workflow settles a promise as kept when the paid amount reaches the
    strategy's threshold, and as broken when due date + grace passed without it, so "fell due" is
    kept + broken; open (pending) and cancelled (superseded) promises are left out."""
    kept = [p for p in promises if p.status == "kept"]
    due = [p for p in promises if p.status in ("kept", "broken")]
    return ratio(len(kept), len(due)), ratio(sum(p.amount for p in kept), sum(p.amount for p in due))


def collected_per_day(payments: list[facts.LedgerEntry], span: Span) -> CollectedPerDay:
    """Amount collected per (UTC) day, and the average over every day of the window."""
    per_day: dict[date, int] = defaultdict(int)
    for p in payments:
        per_day[p.at.astimezone(UTC).date()] += p.amount
    total = sum(per_day.values())
    days = max((span.last - span.first).days + 1, 0)
    return CollectedPerDay(
        days=[DayAmount(day=d, amount=per_day[d]) for d in sorted(per_day)],
        total=total,
        days_in_window=days,
        average=ratio(total, days),
    )


def cost(f: Facts, channel_costs: dict[str, int]) -> Cost:
    """§1.4 Cost per dollar collected, channel part: Σ messages sent per channel × its configured
    cost, ÷ amount collected. Labour and vendor costs are not known here and are not included."""
    messages: dict[str, int] = defaultdict(int)
    for c in f.contacts:
        if not c.by_agent:
            messages[c.channel] += c.count
    lines = [
        ChannelCost(
            channel=channel,
            messages=messages[channel],
            unit_cost=channel_costs.get(channel, 0),
            cost=messages[channel] * channel_costs.get(channel, 0),
        )
        for channel in sorted(messages)
    ]
    total = sum(line.cost for line in lines)
    return Cost(by_channel=lines, total=total, per_amount_collected=ratio(total, sum(p.amount for p in f.payments)))


def balances_at(f: Facts, day: date) -> dict[int, tuple[int, Bucket]]:
    """Each account placed by `day`: its balance at the end of that (UTC) day, and its bucket."""
    paid: dict[int, int] = defaultdict(int)
    charged: dict[int, int] = defaultdict(int)
    for p in f.ledger_payments:
        if p.at.astimezone(UTC).date() <= day:
            paid[p.account_id] += p.amount
    for fee in f.ledger_fees:
        if fee.at.astimezone(UTC).date() <= day:
            charged[fee.account_id] += fee.amount
    out: dict[int, tuple[int, Bucket]] = {}
    for a in f.accounts:
        if a.placed_at.astimezone(UTC).date() > day:
            continue
        balance = a.placed_balance + charged[a.id] - paid[a.id]
        out[a.id] = (balance, bucket(balance, (day - a.due_date).days))
    return out


def roll_rates(f: Facts, span: Span) -> list[RollPeriod]:
    """§1.4 Roll rate k→k+1: balance in bucket k+1 at month end t that was in bucket k at t−1 ÷
    balance in bucket k at t−1 (and the same by account count); §1.4 Cure rate: accounts moving
    from k to `paid` ÷ accounts in k at t−1. One period per pair of consecutive month ends in the
    window (the latest ten years of them); accounts placed after t−1 join from the next period."""
    periods = []
    ends = month_ends(span.first, span.last)[-MAX_MONTH_ENDS:]
    for start, end in itertools.pairwise(ends):
        before, after = balances_at(f, start), balances_at(f, end)
        transitions = []
        for index, source in enumerate(FORWARD):
            cohort = [(i, balance) for i, (balance, b) in before.items() if b == source]
            if not cohort:
                continue
            count, amount = len(cohort), sum(balance for _, balance in cohort)
            targets: list[Bucket] = [*FORWARD[index + 1 : index + 2], "paid"]
            for target in targets:
                moved = [(i, balance) for i, balance in cohort if after[i][1] == target]
                numerator = (
                    sum(balance for _, balance in moved) if target == "paid" else sum(after[i][0] for i, _ in moved)
                )
                transitions.append(
                    RollTransition(
                        from_bucket=source,
                        to_bucket=target,
                        accounts=ratio(len(moved), count),
                        balance=ratio(numerator, amount),
                    )
                )
        periods.append(RollPeriod(start=start, end=end, transitions=transitions))
    return periods


def kpi_set(f: Facts, span: Span, channel_costs: dict[str, int]) -> KpiSet:
    """Every campaign KPI of one set of accounts."""
    rpcs, attempts = right_party_contacts(f.outcomes)
    counts = promise_counts(f.promises)
    kept_rate, kept_amount_rate = promise_kept_rates(f.promises)
    contacts = sum(c.count for c in f.contacts)
    return KpiSet(
        accounts=len(f.accounts),
        placed_amount=sum(a.placed_balance for a in f.accounts),
        collected_amount=sum(p.amount for p in f.payments),
        recovery_rate=recovery_rate(f),
        dial_attempts=attempts,
        right_party_contacts=rpcs,
        # §1.4 Right-party contact rate, "÷ # dial attempts" variant.
        right_party_contact_rate=ratio(rpcs, attempts),
        promises=counts,
        # §1.4 Promise rate (conversion): promises ÷ right-party contacts.
        promise_rate=ratio(counts.made, rpcs),
        promise_kept_rate=kept_rate,
        promise_kept_amount_rate=kept_amount_rate,
        contacts=contacts,
        contacts_per_account=ratio(contacts, len(f.accounts)),
        collected_per_day=collected_per_day(f.payments, span),
        cost=cost(f, channel_costs),
        roll_rates=roll_rates(f, span),
    )


def agent_kpis(f: Facts, done: dict[str, int]) -> list[AgentKpis]:
    """§1.4 Agent KPIs per agent: promises per RPC, promise-kept rate by agent, amount collected
    on the promises the agent took (payments allocated to them)."""
    collected_on: dict[str, int] = defaultdict(int)
    for p in f.payments:
        if p.allocated_to is not None:
            collected_on[p.allocated_to] += p.amount
    agents = sorted(
        {o.agent for o in f.outcomes if o.agent} | {p.agent for p in f.promises if p.agent} | set(done),
    )
    out = []
    for agent in agents:
        rpcs, attempts = right_party_contacts(o for o in f.outcomes if o.agent == agent)
        theirs = [p for p in f.promises if p.agent == agent]
        counts = promise_counts(theirs)
        kept_rate, _ = promise_kept_rates(theirs)
        out.append(
            AgentKpis(
                agent=agent,
                tasks_done=done.get(agent, 0),
                dial_attempts=attempts,
                right_party_contacts=rpcs,
                right_party_contact_rate=ratio(rpcs, attempts),
                promises_taken=counts.made,
                promises_kept=counts.kept,
                promises_broken=counts.broken,
                promise_rate=ratio(counts.made, rpcs),
                promise_kept_rate=kept_rate,
                amount_collected=sum(collected_on[promise_ref(p.key)] for p in theirs),
            )
        )
    return out


# ---- the endpoints ----------------------------------------------------------------------------


def _scope(
    session: Session, campaign_id: str, currency: str | None, start: date | None, end: date | None, now: datetime
) -> tuple[str | None, Span, list[facts.PlacedAccount]]:
    """The report's currency, its window and the accounts in it; 404, or 422 for an unclear ask."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise ProblemError(
                422,
                f"`{name}` must be between {EARLIEST} and {LATEST}.",
                errors=[ProblemItem(pointer=f"/query/{name}", detail="out of range")],
            )
    if session.get(Campaign, campaign_id) is None:
        raise ProblemError(404, f"There is no campaign {campaign_id!r}.")
    if currency is None:
        found = facts.currencies(session, campaign_id)
        if len(found) > 1:
            raise ProblemError(
                422,
                f"Campaign {campaign_id!r} has accounts in {', '.join(found)}; pick one currency.",
                errors=[ProblemItem(pointer="/query/currency", detail=f"choose one of {', '.join(found)}")],
            )
        currency = found[0] if found else None
    last = end or now.date()
    accounts = facts.placed_accounts(session, campaign_id, currency) if currency else []
    first = start or min((a.placed_at.astimezone(UTC).date() for a in accounts), default=last)
    if start is not None and start > last:
        raise ProblemError(
            422,
            f"The window starts ({start}) after it ends ({last}).",
            errors=[ProblemItem(pointer="/query/from", detail="must not be after `to`")],
        )
    window = facts.Window(
        start=datetime.combine(start, time(), UTC) if start is not None else None,
        end=datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    return currency, Span(first=first, last=last, window=window), accounts


def _facts(session: Session, campaign_id: str, currency: str, span: Span, accounts: list[facts.PlacedAccount]) -> Facts:
    w = span.window
    return Facts(
        accounts=accounts,
        payments=facts.payments(session, campaign_id, currency, w),
        contacts=facts.contacts(session, campaign_id, currency, w),
        outcomes=facts.outcomes(session, campaign_id, currency, w),
        promises=facts.promises(session, campaign_id, currency, w),
        ledger_payments=facts.payments(session, campaign_id, currency),
        ledger_fees=facts.fees(session, campaign_id, currency),
    )


@router.get("/campaigns/{campaign_id}", summary="A campaign's KPIs, overall and per variant")
def campaign_kpis(
    campaign_id: CampaignPath,
    session: SessionDep,
    settings: SettingsDep,
    who: Planner,
    now: NowDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    currency: CurrencyQuery = None,
) -> CampaignKpis:
    """Recovery rate, promise rate, promise-kept rate, right-party-contact rate, contacts per
    account, roll rates between past-due buckets, amount collected per day and cost per amount
    collected (commercial-and-compliance.md §1.4), for the campaign and for each
    champion/challenger variant. Every rate shows its numerator and denominator."""
    code, span, accounts = _scope(session, campaign_id, currency, from_, to, now)
    f = _facts(session, campaign_id, code, span, accounts) if code else Facts([], [], [], [], [])
    by_variant: dict[str | None, set[int]] = defaultdict(set)
    for a in accounts:
        by_variant[a.variant].add(a.id)
    costs = dict(settings.channel_costs)
    variants = [
        VariantKpis(variant=variant, **kpi_set(f.subset(ids), span, costs).model_dump())
        for variant, ids in sorted(by_variant.items(), key=lambda item: (item[0] is None, item[0] or ""))
    ]
    return CampaignKpis(
        campaign_id=campaign_id,
        currency=code,
        from_date=span.first,
        to_date=span.last,
        as_of=now,
        overall=kpi_set(f, span, costs),
        variants=variants,
    )


@router.get("/campaigns/{campaign_id}/agents", summary="Per-agent figures of a campaign")
def campaign_agent_kpis(
    campaign_id: CampaignPath,
    session: SessionDep,
    who: Planner,
    now: NowDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    currency: CurrencyQuery = None,
) -> CampaignAgentKpis:
    """For each agent who worked the campaign in the window: tasks done, dial attempts,
    right-party contacts, promises taken, kept and broken, and the amount collected on their
    promises (§1.4 agent KPIs)."""
    code, span, accounts = _scope(session, campaign_id, currency, from_, to, now)
    agents: list[AgentKpis] = []
    if code:
        f = _facts(session, campaign_id, code, span, accounts)
        agents = agent_kpis(f, facts.tasks_done(session, campaign_id, code, span.window))
    return CampaignAgentKpis(
        campaign_id=campaign_id,
        currency=code,
        from_date=span.first,
        to_date=span.last,
        as_of=now,
        agents=agents,
    )
