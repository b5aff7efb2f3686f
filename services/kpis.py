"""Campaign KPIs, overall, per champion/challenger variant and per agent, with the formulas of
commercial-and-compliance.md §1.4 (each cited where it is computed). The API's KPI endpoints call
this module; so can the CLI and the console.

Facts come from the database, never from the workflows, as sums the database computes
(db/repositories/kpis.py): the KPI counters that every writer of a fact keeps per campaign,
currency, variant and UTC day (db/repositories/kpi_counters.py), so a report reads a few hundred
rows whatever the number of accounts. The window (`from`, `to`: inclusive UTC dates) filters
events: payments by when they were received, messages by when they were planned, outcomes by when
they were recorded, promises by when they were made. Every account of the campaign (in the
report's currency) is in the population.

Roll rates need each account's past-due bucket at successive month ends. The buckets are rebuilt
from the ledger: the balance at a month end is the placed balance plus fees applied minus payments
received by that day, and days past due run from the account's due date. A balance of zero or
less is the `paid` (cured) bucket. This is exact for what the ledger knows; it cannot see a
creditor-side change of due date. One period's transitions per variant are computed in one
grouped query and kept (`kpi_roll_snapshots`) with the revision of their inputs (the counters of
placements, payments and fees dated up to the period's end); a late fact dated in a closed month,
a variant or placement change raises that revision, and the period is computed again on the next
request. So a closed month is computed once, and later requests read its snapshot.
"""

from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy.orm import Session

from db.models import Campaign
from db.models.kpis import NONE
from db.repositories import kpis as facts
from services.errors import Field, Invalid, NotFound

# Past-due buckets (§1.4 roll rate: 30-day buckets), in order; `paid` is the cure.
FORWARD = ("current", "1-29", "30-59", "60-89", "90+")
SIX_PLACES = Decimal("0.000001")
# Roll rates are computed for at most this many month ends (the latest ones): ten years.
MAX_MONTH_ENDS = 121
# Dates a report may ask about; outside them date arithmetic overflows and nothing was collected.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


class CampaignNotFound(NotFound):
    """No campaign has this id."""


class UnclearRequest(Invalid):
    """The request cannot be answered as asked; `parameter` names the query parameter to fix."""

    def __init__(self, parameter: str, message: str, detail: str) -> None:
        super().__init__(message, fields=[Field(f"/query/{parameter}", detail)])
        self.parameter, self.message = parameter, message


# ---- what a report is made of (rendered by api/schemas/kpis.py) --------------------------------


@dataclass(frozen=True)
class Ratio:
    value: str | None  # decimal string, 6 places, half-even; None when the denominator is 0
    numerator: int
    denominator: int


@dataclass(frozen=True)
class PromiseCounts:
    made: int
    open: int
    kept: int
    broken: int
    cancelled: int


@dataclass(frozen=True)
class DayAmount:
    day: date
    amount: int


@dataclass(frozen=True)
class CollectedPerDay:
    days: list[DayAmount]
    total: int
    days_in_window: int
    average: Ratio


@dataclass(frozen=True)
class ChannelCost:
    channel: str
    messages: int
    unit_cost: int
    cost: int


@dataclass(frozen=True)
class Cost:
    by_channel: list[ChannelCost]
    total: int
    per_amount_collected: Ratio


@dataclass(frozen=True)
class RollTransition:
    from_bucket: str
    to_bucket: str
    accounts: Ratio
    balance: Ratio


@dataclass(frozen=True)
class RollPeriod:
    start: date
    end: date
    transitions: list[RollTransition]


@dataclass(frozen=True)
class KpiSet:
    accounts: int
    placed_amount: int
    collected_amount: int
    recovery_rate: Ratio
    dial_attempts: int
    right_party_contacts: int
    right_party_contact_rate: Ratio
    outcomes: dict[str, int]  # dial attempts per outcome code
    promises: PromiseCounts
    promise_rate: Ratio
    promise_kept_rate: Ratio
    promise_kept_amount_rate: Ratio
    contacts: int
    contacts_per_account: Ratio
    collected_per_day: CollectedPerDay
    cost: Cost
    roll_rates: list[RollPeriod]


@dataclass(frozen=True)
class VariantKpis(KpiSet):
    variant: str | None = None


@dataclass(frozen=True)
class Overpaid:
    """Accounts paid beyond what they owed, and by how much in all: refunds or credits due."""

    accounts: int
    amount: int


@dataclass(frozen=True)
class Charged:
    """What the campaign added to its accounts' debts: fees and interest charged so far."""

    fees: int
    interest: int
    interest_accounts: int  # accounts charged any interest


@dataclass(frozen=True)
class CampaignKpis:
    campaign_id: str
    currency: str | None
    from_date: date
    to_date: date
    as_of: datetime
    overall: KpiSet
    variants: list[VariantKpis]
    overpaid: Overpaid  # as of each account's last turn, whatever the window
    charged: Charged  # as of each account's last turn, whatever the window


@dataclass(frozen=True)
class AgentKpis:
    agent: str
    tasks_done: int
    dial_attempts: int
    right_party_contacts: int
    right_party_contact_rate: Ratio
    outcomes: dict[str, int]  # dial attempts per outcome code
    promises_taken: int
    promises_kept: int
    promises_broken: int
    promise_rate: Ratio
    promise_kept_rate: Ratio
    amount_collected: int


@dataclass(frozen=True)
class CampaignAgentKpis:
    campaign_id: str
    currency: str | None
    from_date: date
    to_date: date
    as_of: datetime
    agents: list[AgentKpis]


# ---- the formulas (§1.4) ----------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> Ratio:
    """numerator ÷ denominator as a checkable ratio (decimal string, 6 places, half-even)."""
    if denominator == 0:
        return Ratio(value=None, numerator=numerator, denominator=denominator)
    value = (Decimal(numerator) / Decimal(denominator)).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
    return Ratio(value=format(value.normalize(), "f"), numerator=numerator, denominator=denominator)


def bucket(balance: int, days_past_due: int) -> str:
    """The account's bucket: `paid` when nothing is owed, else by days past due (the database
    computes the same, db/repositories/kpis.py `_bucket`)."""
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
class Tally:
    """The sums one KPI set is computed from (a variant's, or the campaign's: the sum of its
    variants')."""

    accounts: int = 0
    placed: int = 0
    collected_per_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per code
    right_party: int = 0  # of those outcomes, the right-party contacts (as the strategy counts its codes)
    promises: dict[str, tuple[int, int]] = field(default_factory=dict)  # per status: (count, amount)
    messages: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per channel, agent calls apart
    calls: int = 0
    # per period end, per (start bucket, end bucket): [accounts, balance at the start, at the end]
    transitions: dict[date, dict[tuple[str, str], list[int]]] = field(default_factory=lambda: defaultdict(dict))

    def moved(self, end: date, t: facts.Transition) -> None:
        self._moved(end, (t.start_bucket, t.end_bucket), (t.accounts, t.start_balance, t.end_balance))

    def _moved(self, end: date, buckets: tuple[str, str], figures: Iterable[int]) -> None:
        totals = self.transitions[end].setdefault(buckets, [0, 0, 0])
        for index, figure in enumerate(figures):
            totals[index] += figure

    def add(self, other: Tally) -> None:
        self.accounts += other.accounts
        self.placed += other.placed
        for day, amount in other.collected_per_day.items():
            self.collected_per_day[day] += amount
        for code, n in other.outcomes.items():
            self.outcomes[code] += n
        self.right_party += other.right_party
        for status, (n, amount) in other.promises.items():
            before = self.promises.get(status, (0, 0))
            self.promises[status] = (before[0] + n, before[1] + amount)
        for channel, n in other.messages.items():
            self.messages[channel] += n
        self.calls += other.calls
        for end, moved in other.transitions.items():
            for buckets, figures in moved.items():
                self._moved(end, buckets, figures)

    @property
    def collected(self) -> int:
        return sum(self.collected_per_day.values())


def recovery_rate(t: Tally) -> Ratio:
    """§1.4 Recovery rate: amount collected ÷ amount outstanding when placed."""
    return ratio(t.collected, t.placed)


def right_party_contacts(outcomes: Mapping[str, int], right_party: int) -> tuple[int, int]:
    """(right-party contacts, dial attempts): every agent outcome is one attempt; the right-party
    contacts are those the interpreter counted as a conversation with the debtor (every built-in
    code but no_answer and wrong_party; a strategy's own codes as it declares them), counted by the
    outcome's writer."""
    return right_party, sum(outcomes.values())


def per_code(outcomes: Mapping[str, int]) -> dict[str, int]:
    """Dial attempts per outcome code, built-in and the strategies' own, codes without any left out."""
    return {code: n for code, n in sorted(outcomes.items()) if n}


def promise_counts(by_status: Mapping[str, tuple[int, int]]) -> PromiseCounts:
    """How the promises made ended so far (kept and broken are the workflow's decisions)."""

    def n(status: str) -> int:
        return by_status.get(status, (0, 0))[0]

    return PromiseCounts(
        made=sum(count for count, _ in by_status.values()),
        open=n("open"),
        kept=n("kept"),
        broken=n("broken"),
        cancelled=n("cancelled"),
    )


def promise_kept_rates(by_status: Mapping[str, tuple[int, int]]) -> tuple[Ratio, Ratio]:
    """§1.4 Promise-kept rate: kept ÷ promises that fell due, pending ones excluded; and its
    $-weighted version. The workflow settles a promise as kept when the paid amount reaches the
    strategy's threshold, and as broken when due date + grace passed without it, so "fell due" is
    kept + broken; open (pending) and cancelled (superseded) promises are left out."""
    kept = by_status.get("kept", (0, 0))
    broken = by_status.get("broken", (0, 0))
    return ratio(kept[0], kept[0] + broken[0]), ratio(kept[1], kept[1] + broken[1])


def collected_per_day(t: Tally, first: date, last: date) -> CollectedPerDay:
    """Amount collected per (UTC) day, and the average over every day of the window."""
    days = [DayAmount(day=d, amount=t.collected_per_day[d]) for d in sorted(t.collected_per_day)]
    total = t.collected
    in_window = max((last - first).days + 1, 0)
    return CollectedPerDay(days=days, total=total, days_in_window=in_window, average=ratio(total, in_window))


def cost(t: Tally, channel_costs: Mapping[str, int]) -> Cost:
    """§1.4 Cost per dollar collected, channel part: Σ messages sent per channel × its configured
    cost, ÷ amount collected. Labour and vendor costs are not known here and are not included."""
    lines = [
        ChannelCost(
            channel=channel,
            messages=t.messages[channel],
            unit_cost=channel_costs.get(channel, 0),
            cost=t.messages[channel] * channel_costs.get(channel, 0),
        )
        for channel in sorted(t.messages)
    ]
    total = sum(line.cost for line in lines)
    return Cost(by_channel=lines, total=total, per_amount_collected=ratio(total, t.collected))


def roll_rates(t: Tally, ends: list[date]) -> list[RollPeriod]:
    """§1.4 Roll rate k→k+1: balance in bucket k+1 at month end t that was in bucket k at t−1 ÷
    balance in bucket k at t−1 (and the same by account count); §1.4 Cure rate: accounts moving
    from k to `paid` ÷ accounts in k at t−1. One period per pair of consecutive month ends in the
    window (the latest ten years of them); accounts placed after t−1 join from the next period."""
    periods = []
    for start, end in itertools.pairwise(ends):
        moved = t.transitions.get(end, {})
        transitions = []
        for index, source in enumerate(FORWARD):
            cohort = [figures for (was, _), figures in moved.items() if was == source]
            count, amount = sum(f[0] for f in cohort), sum(f[1] for f in cohort)
            if count == 0:
                continue
            for target in [*FORWARD[index + 1 : index + 2], "paid"]:
                arrived = moved.get((source, target), [0, 0, 0])
                # For cures the numerator is the cured accounts' balance at the start.
                numerator = arrived[1] if target == "paid" else arrived[2]
                transitions.append(
                    RollTransition(
                        from_bucket=source,
                        to_bucket=target,
                        accounts=ratio(arrived[0], count),
                        balance=ratio(numerator, amount),
                    )
                )
        periods.append(RollPeriod(start=start, end=end, transitions=transitions))
    return periods


def kpi_set(t: Tally, first: date, last: date, ends: list[date], channel_costs: Mapping[str, int]) -> KpiSet:
    """Every campaign KPI of one set of accounts."""
    rpcs, attempts = right_party_contacts(t.outcomes, t.right_party)
    counts = promise_counts(t.promises)
    kept_rate, kept_amount_rate = promise_kept_rates(t.promises)
    contacts = sum(t.messages.values()) + t.calls
    return KpiSet(
        accounts=t.accounts,
        placed_amount=t.placed,
        collected_amount=t.collected,
        recovery_rate=recovery_rate(t),
        dial_attempts=attempts,
        right_party_contacts=rpcs,
        # §1.4 Right-party contact rate, "÷ # dial attempts" variant.
        right_party_contact_rate=ratio(rpcs, attempts),
        outcomes=per_code(t.outcomes),
        promises=counts,
        # §1.4 Promise rate (conversion): promises ÷ right-party contacts.
        promise_rate=ratio(counts.made, rpcs),
        promise_kept_rate=kept_rate,
        promise_kept_amount_rate=kept_amount_rate,
        contacts=contacts,
        contacts_per_account=ratio(contacts, t.accounts),
        collected_per_day=collected_per_day(t, first, last),
        cost=cost(t, channel_costs),
        roll_rates=roll_rates(t, ends),
    )


def agent_kpis(activity: Iterable[facts.Sum], collected_outside: Mapping[str, int]) -> list[AgentKpis]:
    """§1.4 Agent KPIs per agent: promises per RPC, promise-kept rate by agent, amount collected
    on the promises the agent took in the window (payments allocated to them, received in the
    window: all those received towards the agent's promises, less those towards promises of
    before or after the window)."""
    outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    right_party: dict[str, int] = defaultdict(int)
    promises: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    done: dict[str, int] = defaultdict(int)
    collected: dict[str, int] = defaultdict(int)
    for s in activity:
        if s.fact == "agent_outcome":
            outcomes[s.group][s.detail] += s.count
        elif s.fact == "agent_right_party":
            right_party[s.group] += s.count
        elif s.fact == "agent_promise":
            promises[s.group][s.detail] = (s.count, s.amount)
        elif s.fact == "agent_task_done":
            done[s.group] += s.count
        elif s.fact == "agent_collected":
            collected[s.group] += s.amount
    out = []
    for agent in sorted(set(outcomes) | set(promises) | set(done)):
        rpcs, attempts = right_party_contacts(outcomes.get(agent, {}), right_party.get(agent, 0))
        theirs = promises.get(agent, {})
        counts = promise_counts(theirs)
        kept_rate, _ = promise_kept_rates(theirs)
        out.append(
            AgentKpis(
                agent=agent,
                tasks_done=done.get(agent, 0),
                dial_attempts=attempts,
                right_party_contacts=rpcs,
                right_party_contact_rate=ratio(rpcs, attempts),
                outcomes=per_code(outcomes.get(agent, {})),
                promises_taken=counts.made,
                promises_kept=counts.kept,
                promises_broken=counts.broken,
                promise_rate=ratio(counts.made, rpcs),
                promise_kept_rate=kept_rate,
                amount_collected=collected.get(agent, 0) - collected_outside.get(agent, 0),
            )
        )
    return out


# ---- the reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The report's currency (None: the campaign has no accounts), its window of days and its
    accounts per variant."""

    currency: str | None
    first: date  # the window's first day as shown: `from`, else the first placement
    days: facts.Days  # the facts counted: from `from` (or the beginning) to `to`
    placed: list[facts.Placed]  # of `currency`


def scope(
    session: Session, campaign_id: str, currency: str | None, start: date | None, end: date | None, now: datetime
) -> Scope:
    """The report's currency and window; CampaignNotFound, or UnclearRequest for an unclear ask."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise UnclearRequest(name, f"`{name}` must be between {EARLIEST} and {LATEST}.", "out of range")
    placed = facts.placements(session, campaign_id)
    if not placed and session.get(Campaign, campaign_id) is None:  # accounts belong to a campaign that exists
        raise CampaignNotFound(f"There is no campaign {campaign_id!r}.")
    if currency is None:
        found = sorted({p.currency for p in placed})
        if len(found) > 1:
            raise UnclearRequest(
                "currency",
                f"Campaign {campaign_id!r} has accounts in {', '.join(found)}; pick one currency.",
                f"choose one of {', '.join(found)}",
            )
        currency = found[0] if found else None
    placed = [p for p in placed if p.currency == currency]
    last = end or now.date()
    first = start or (facts.first_placement(session, campaign_id, currency) if placed and currency else None) or last
    if start is not None and start > last:
        raise UnclearRequest("from", f"The window starts ({start}) after it ends ({last}).", "must not be after `to`")
    return Scope(currency, first, facts.Days(first=start, last=last, today=now.date()), placed)


def _tallies(session: Session, campaign_id: str, s: Scope) -> dict[str, Tally]:
    """Every variant's sums, by variant (NONE: no variant)."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for p in s.placed:
        tallies[p.variant].accounts += p.accounts
        tallies[p.variant].placed += p.amount
    if s.currency is None:
        return tallies
    sums, collected = facts.variant_sums(session, campaign_id, s.currency, s.days)
    for variant, day, amount in collected:
        tallies[variant].collected_per_day[day] += amount
    for sum_ in sums:
        t = tallies[sum_.group]
        if sum_.fact == "outcome":
            t.outcomes[sum_.detail] += sum_.count
        elif sum_.fact == "right_party":
            t.right_party += sum_.count
        elif sum_.fact == "promise":
            t.promises[sum_.detail] = (sum_.count, sum_.amount)
        elif sum_.fact == "message":
            t.messages[sum_.detail] += sum_.count
        elif sum_.fact == "call":
            t.calls += sum_.count
    return tallies


def _transitions(
    session: Session, campaign_id: str, currency: str, ends: list[date], now: datetime
) -> dict[date, list[facts.Transition]]:
    """The transitions of every period ending on ends[1:], by its end: from the period's snapshot
    while its inputs have not changed, else computed from the ledger and kept."""
    periods = list(itertools.pairwise(ends))
    # The inputs' revisions are read before any period is computed: a fact committed in between
    # raises the revision past the one kept, so the next request computes the period again.
    revision_at, running = {}, 0
    revisions = iter(facts.roll_input_revisions(session, campaign_id, currency) if periods else [])
    pending = next(revisions, None)
    for _, end in periods:
        while pending is not None and pending[0] <= end:
            running += pending[1]
            pending = next(revisions, None)
        revision_at[end] = running
    kept = facts.roll_snapshots(session, campaign_id, currency, [end for _, end in periods])
    out: dict[date, list[facts.Transition]] = {}
    for start, end in periods:
        snapshot = kept.get(end)
        if snapshot is not None and snapshot[0] == revision_at[end]:
            out[end] = snapshot[1]
        else:
            out[end] = facts.month_end_transitions(session, campaign_id, currency, start, end)
            facts.store_roll_snapshot(session, campaign_id, currency, end, revision_at[end], out[end], now)
    return out


def campaign_kpis(
    session: Session,
    campaign_id: str,
    *,
    start: date | None,
    end: date | None,
    currency: str | None,
    now: datetime,
    channel_costs: Mapping[str, int],
) -> CampaignKpis:
    """Recovery rate, promise rate, promise-kept rate, right-party-contact rate, contacts per
    account, roll rates between past-due buckets, amount collected per day and cost per amount
    collected (commercial-and-compliance.md §1.4), for the campaign and for each
    champion/challenger variant. Every rate shows its numerator and denominator."""
    s = scope(session, campaign_id, currency, start, end, now)
    ends = month_ends(s.first, s.days.last)[-MAX_MONTH_ENDS:]
    tallies = _tallies(session, campaign_id, s)
    if s.currency is not None and s.placed:
        for period_end, moved in _transitions(session, campaign_id, s.currency, ends, now).items():
            for transition in moved:
                tallies[transition.variant].moved(period_end, transition)
    overall = Tally()
    for t in tallies.values():
        overall.add(t)
    costs = dict(channel_costs)
    populated = sorted((v for v, t in tallies.items() if t.accounts), key=lambda v: (v == NONE, v))
    variants = [
        VariantKpis(**vars(kpi_set(tallies[v], s.first, s.days.last, ends, costs)), variant=v or None)
        for v in populated
    ]
    return CampaignKpis(
        campaign_id=campaign_id,
        currency=s.currency,
        from_date=s.first,
        to_date=s.days.last,
        as_of=now,
        overall=kpi_set(overall, s.first, s.days.last, ends, costs),
        variants=variants,
        overpaid=Overpaid(*facts.overpaid(session, campaign_id, s.currency)) if s.currency else Overpaid(0, 0),
        charged=Charged(*facts.charged(session, campaign_id, s.currency)) if s.currency else Charged(0, 0, 0),
    )


def campaign_agent_kpis(
    session: Session, campaign_id: str, *, start: date | None, end: date | None, currency: str | None, now: datetime
) -> CampaignAgentKpis:
    """For each agent who worked the campaign in the window: tasks done, dial attempts,
    right-party contacts, promises taken, kept and broken, and the amount collected on their
    promises (§1.4 agent KPIs)."""
    s = scope(session, campaign_id, currency, start, end, now)
    agents: list[AgentKpis] = []
    if s.currency is not None:
        agents = agent_kpis(
            facts.agent_activity(session, campaign_id, s.currency, s.days),
            facts.collected_outside(session, campaign_id, s.currency, s.days),
        )
    return CampaignAgentKpis(
        campaign_id=campaign_id,
        currency=s.currency,
        from_date=s.first,
        to_date=s.days.last,
        as_of=now,
        agents=agents,
    )
