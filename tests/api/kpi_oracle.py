"""The KPI figures as the implementation of main at 8d33fcd computed them: a frozen copy of
api/routers/kpis.py (formulas and endpoints) and db/repositories/kpis.py (facts per account), kept
only as the oracle of tests/api/test_kpi_oracle.py. It ships every account's facts to Python and
computes there, which is what made it slow; its figures are the expected values of the equality
test, so the code below must not be "improved": change it only if the schemas themselves change.

The endpoints' parsing and problem answers are not copied (they are unchanged); `campaign_report`
and `agent_report` take the validated query and return the body the endpoint answered with, or
raise `Refused` with the status and the query parameter it pointed at.
"""

from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from api.schemas.kpis import (
    AgentKpis,
    Bucket,
    CampaignAgentKpis,
    CampaignKpis,
    ChannelCost,
    Charged,
    CollectedPerDay,
    Cost,
    DayAmount,
    KpiSet,
    Overpaid,
    PromiseCounts,
    Ratio,
    RollPeriod,
    RollTransition,
    VariantKpis,
)
from db.models import Account, AgentTask, Campaign, Communication, Fee, OutcomeRecord, Payment, Promise
from db.models import AccountState as AccountStateRow
from db.repositories.payments import promise_ref
from domain.interpreter import NOT_A_CONVERSATION

_Row = TypeVar("_Row", bound=tuple[Any, ...])

# ---- db/repositories/kpis.py ------------------------------------------------------------------

# Communications that reached (or may have reached) the debtor; the same set the send activity's
# policy check counts as contacts (activities/messaging.py CONTACTED).
CONTACT_STATUSES = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
# Agent calls are logged as voice communications with this provider; they cost agent time, not
# a per-message channel fee.
AGENT_PROVIDER = "agent"


@dataclass(frozen=True)
class Window:
    """Events at or after `start` and before `end` (either open)."""

    start: datetime | None = None
    end: datetime | None = None

    def bounds(self, column: QueryableAttribute[Any]) -> list[ColumnElement[bool]]:
        """SQL conditions keeping `column` inside the window."""
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return conditions


@dataclass(frozen=True)
class PlacedAccount:
    id: int
    variant: str | None
    placed_balance: int  # the balance the account entered the campaign with
    due_date: date
    placed_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    account_id: int
    amount: int
    at: datetime
    allocated_to: str | None = None


@dataclass(frozen=True)
class ContactCount:
    account_id: int
    channel: str
    by_agent: bool
    count: int


@dataclass(frozen=True)
class OutcomeCount:
    account_id: int
    agent: str | None
    code: str
    spoke: bool  # a right-party contact: as recorded, else as its built-in code says
    count: int


@dataclass(frozen=True)
class PromiseFact:
    account_id: int
    key: str
    agent: str | None
    status: str
    amount: int


def _in_campaign(query: Select[_Row], campaign_id: str, currency: str) -> Select[_Row]:
    return query.where(Account.campaign_id == campaign_id, Account.currency == currency)


def currencies(session: Session, campaign_id: str) -> list[str]:
    """The currencies of the campaign's accounts."""
    return list(
        session.scalars(
            select(Account.currency).where(Account.campaign_id == campaign_id).distinct().order_by(Account.currency)
        )
    )


def placed_accounts(session: Session, campaign_id: str, currency: str) -> list[PlacedAccount]:
    """Every account of the campaign in `currency`, with its variant (None until its workflow ran)."""
    placed = Account.snapshot_json["balance"].as_integer()
    query = (
        select(Account.id, AccountStateRow.variant, placed, Account.balance, Account.due_date, Account.created_at)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .where(Account.campaign_id == campaign_id, Account.currency == currency)
        .order_by(Account.id)
    )
    return [
        PlacedAccount(
            id=row[0],
            variant=row[1],
            # The snapshot keeps the balance at placement; `balance` moves with payments.
            placed_balance=int(row[2] if row[2] is not None else row[3]),
            due_date=row[4],
            placed_at=row[5],
        )
        for row in session.execute(query)
    ]


def payments(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[LedgerEntry]:
    """The campaign's payments in `currency` received in the window, oldest first."""
    query = select(Payment.account_id, Payment.amount, Payment.received_at, Payment.allocated_to).join(
        Account, Account.id == Payment.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(Payment.currency == currency)
    query = query.where(*window.bounds(Payment.received_at)).order_by(Payment.received_at, Payment.id)
    return [LedgerEntry(account_id=a, amount=int(m), at=t, allocated_to=to) for a, m, t, to in session.execute(query)]


def fees(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[LedgerEntry]:
    """The fees applied to the campaign's accounts in the window, oldest first."""
    query = select(Fee.account_id, Fee.amount, Fee.applied_at).join(Account, Account.id == Fee.account_id)
    query = _in_campaign(query, campaign_id, currency).where(Fee.currency == currency, *window.bounds(Fee.applied_at))
    return [LedgerEntry(account_id=a, amount=int(m), at=t) for a, m, t in session.execute(query.order_by(Fee.id))]


def contacts(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[ContactCount]:
    """Messages and calls that reached out, per account and channel, planned in the window."""
    query = select(Communication.account_id, Communication.channel, Communication.provider, func.count()).join(
        Account, Account.id == Communication.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(
        Communication.status.in_(CONTACT_STATUSES), *window.bounds(Communication.planned_at)
    )
    query = query.group_by(Communication.account_id, Communication.channel, Communication.provider)
    totals: dict[tuple[int, str, bool], int] = {}
    for account_id, channel, provider, count in session.execute(query):
        key = (int(account_id), str(channel), provider == AGENT_PROVIDER)
        totals[key] = totals.get(key, 0) + int(count)
    return [ContactCount(a, c, by_agent, n) for (a, c, by_agent), n in sorted(totals.items())]


def outcomes(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[OutcomeCount]:
    """Agent outcomes (one per call attempt) per account, agent and code, recorded in the window."""
    query = select(
        OutcomeRecord.account_id,
        OutcomeRecord.agent,
        OutcomeRecord.code,
        OutcomeRecord.right_party_contact,
        func.count(),
    ).join(Account, Account.id == OutcomeRecord.account_id)
    query = _in_campaign(query, campaign_id, currency).where(*window.bounds(OutcomeRecord.recorded_at))
    query = query.group_by(
        OutcomeRecord.account_id, OutcomeRecord.agent, OutcomeRecord.code, OutcomeRecord.right_party_contact
    )
    return [
        OutcomeCount(
            int(a), agent, str(code), bool(spoke) if spoke is not None else code not in NOT_CONVERSATIONS, int(n)
        )
        for a, agent, code, spoke, n in session.execute(query)
    ]


def promises(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> list[PromiseFact]:
    """Promises made in the window, with their current status (open, kept, broken, cancelled)."""
    query = select(Promise.account_id, Promise.key, Promise.agent, Promise.status, Promise.amount).join(
        Account, Account.id == Promise.account_id
    )
    query = _in_campaign(query, campaign_id, currency).where(*window.bounds(Promise.made_at)).order_by(Promise.id)
    return [PromiseFact(int(a), k, agent, s, int(m)) for a, k, agent, s, m in session.execute(query)]


def tasks_done(session: Session, campaign_id: str, currency: str, window: Window = Window()) -> dict[str, int]:
    """Agent tasks finished with an outcome in the window, per agent."""
    query = select(AgentTask.assigned_agent, func.count()).join(Account, Account.id == AgentTask.account_id)
    query = _in_campaign(query, campaign_id, currency).where(
        AgentTask.status == "done", AgentTask.assigned_agent.is_not(None), *window.bounds(AgentTask.completed_at)
    )
    query = query.group_by(AgentTask.assigned_agent)
    return {str(agent): int(n) for agent, n in session.execute(query)}


# ---- api/routers/kpis.py: the formulas --------------------------------------------------------

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

    accounts: list[PlacedAccount]
    payments: list[LedgerEntry]  # in the window
    contacts: list[ContactCount]
    outcomes: list[OutcomeCount]
    promises: list[PromiseFact]
    ledger_payments: list[LedgerEntry] = field(default_factory=list)  # all time: balances at month ends
    ledger_fees: list[LedgerEntry] = field(default_factory=list)

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
    window: Window


# ---- the formulas (§1.4) ----------------------------------------------------------------------


def recovery_rate(f: Facts) -> Ratio:
    """§1.4 Recovery rate: amount collected ÷ amount outstanding when placed."""
    return ratio(sum(p.amount for p in f.payments), sum(a.placed_balance for a in f.accounts))


def right_party_contacts(outcomes: Iterable[OutcomeCount]) -> tuple[int, int]:
    """(right-party contacts, dial attempts): every agent outcome is one attempt; those recorded as
    a conversation with the debtor (as the interpreter counted them) are right-party contacts."""
    attempts = rpcs = 0
    for o in outcomes:
        attempts += o.count
        rpcs += o.count if o.spoke else 0
    return rpcs, attempts


def per_code(outcomes: Iterable[OutcomeCount]) -> dict[str, int]:
    """Dial attempts per outcome code."""
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        counts[o.code] += o.count
    return {code: n for code, n in sorted(counts.items()) if n}


def promise_counts(promises: Iterable[PromiseFact]) -> PromiseCounts:
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


def promise_kept_rates(promises: list[PromiseFact]) -> tuple[Ratio, Ratio]:
    """§1.4 Promise-kept rate: kept ÷ promises that fell due, pending ones excluded; and its
    $-weighted version. The workflow settles a promise as kept when the paid amount reaches the
    strategy's threshold, and as broken when due date + grace passed without it, so "fell due" is
    kept + broken; open (pending) and cancelled (superseded) promises are left out."""
    kept = [p for p in promises if p.status == "kept"]
    due = [p for p in promises if p.status in ("kept", "broken")]
    return ratio(len(kept), len(due)), ratio(sum(p.amount for p in kept), sum(p.amount for p in due))


def collected_per_day(payments: list[LedgerEntry], span: Span) -> CollectedPerDay:
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
        outcomes=per_code(f.outcomes),
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
                outcomes=per_code(o for o in f.outcomes if o.agent == agent),
                promises_taken=counts.made,
                promises_kept=counts.kept,
                promises_broken=counts.broken,
                promise_rate=ratio(counts.made, rpcs),
                promise_kept_rate=kept_rate,
                amount_collected=sum(collected_on[promise_ref(p.key)] for p in theirs),
            )
        )
    return out


# ---- the endpoints, without FastAPI -----------------------------------------------------------


class Refused(Exception):
    """The endpoint's problem answer: its status and the query parameter it pointed at."""

    def __init__(self, status: int, pointer: str | None = None) -> None:
        super().__init__(status, pointer)
        self.status, self.pointer = status, pointer


def _scope(
    session: Session, campaign_id: str, currency: str | None, start: date | None, end: date | None, now: datetime
) -> tuple[str | None, Span, list[PlacedAccount]]:
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise Refused(422, f"/query/{name}")
    if session.get(Campaign, campaign_id) is None:
        raise Refused(404)
    if currency is None:
        found = currencies(session, campaign_id)
        if len(found) > 1:
            raise Refused(422, "/query/currency")
        currency = found[0] if found else None
    last = end or now.date()
    accounts = placed_accounts(session, campaign_id, currency) if currency else []
    first = start or min((a.placed_at.astimezone(UTC).date() for a in accounts), default=last)
    if start is not None and start > last:
        raise Refused(422, "/query/from")
    window = Window(
        start=datetime.combine(start, time(), UTC) if start is not None else None,
        end=datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    return currency, Span(first=first, last=last, window=window), accounts


def _facts(session: Session, campaign_id: str, currency: str, span: Span, accounts: list[PlacedAccount]) -> Facts:
    w = span.window
    return Facts(
        accounts=accounts,
        payments=payments(session, campaign_id, currency, w),
        contacts=contacts(session, campaign_id, currency, w),
        outcomes=outcomes(session, campaign_id, currency, w),
        promises=promises(session, campaign_id, currency, w),
        ledger_payments=payments(session, campaign_id, currency),
        ledger_fees=fees(session, campaign_id, currency),
    )


def campaign_report(
    session: Session,
    campaign_id: str,
    *,
    now: datetime,
    channel_costs: dict[str, int],
    from_: date | None = None,
    to: date | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """The body of `GET /kpis/campaigns/{campaign_id}` as the old implementation answered it."""
    code, span, accounts = _scope(session, campaign_id, currency, from_, to, now)
    f = _facts(session, campaign_id, code, span, accounts) if code else Facts([], [], [], [], [])
    by_variant: dict[str | None, set[int]] = defaultdict(set)
    for a in accounts:
        by_variant[a.variant].add(a.id)
    costs = dict(channel_costs)
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
        overpaid=_overpaid(session, campaign_id, code),
        charged=_charged(session, campaign_id, code),
    ).model_dump(mode="json")


def _overpaid(session: Session, campaign_id: str, currency: str | None) -> Overpaid:
    """Every read-model row of the campaign in `currency`, added up here."""
    rows = session.scalars(
        select(AccountStateRow).where(AccountStateRow.campaign_id == campaign_id, AccountStateRow.currency == currency)
    ).all()
    owed = [r.overpaid for r in rows if r.overpaid > 0]
    return Overpaid(accounts=len(owed), amount=sum(owed))


def _charged(session: Session, campaign_id: str, currency: str | None) -> Charged:
    """Every read-model row of the campaign in `currency`, added up here."""
    rows = session.scalars(
        select(AccountStateRow).where(AccountStateRow.campaign_id == campaign_id, AccountStateRow.currency == currency)
    ).all()
    return Charged(
        fees=sum(r.fees_total for r in rows),
        interest=sum(r.interest_total for r in rows),
        interest_accounts=sum(1 for r in rows if r.interest_total > 0),
    )


def agent_report(
    session: Session,
    campaign_id: str,
    *,
    now: datetime,
    from_: date | None = None,
    to: date | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """The body of `GET /kpis/campaigns/{campaign_id}/agents` as the old implementation answered it."""
    code, span, accounts = _scope(session, campaign_id, currency, from_, to, now)
    agents: list[AgentKpis] = []
    if code:
        f = _facts(session, campaign_id, code, span, accounts)
        agents = agent_kpis(f, tasks_done(session, campaign_id, code, span.window))
    return CampaignAgentKpis(
        campaign_id=campaign_id,
        currency=code,
        from_date=span.first,
        to_date=span.last,
        as_of=now,
        agents=agents,
    ).model_dump(mode="json")
