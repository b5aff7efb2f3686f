"""The SQL behind campaign KPIs: sums of the KPI counters over a window of days, grouped by
variant or agent in the database, and the month-end past-due transitions computed from the ledger
(and the snapshots that keep them).

Every query is scoped to one campaign and one currency (money of two currencies never adds up).
The formulas that turn these sums into rates live in services/kpis.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, String, and_, case, func, literal_column, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Account, Fee, KpiCounter, KpiRollSnapshot, Payment
from db.models import AccountState as AccountStateRow
from db.models.kpis import NONE

# Facts a roll-rate snapshot is computed from: its inputs' revision sums their counters' revisions.
ROLL_INPUTS = ("placed", "payment", "fee")
# A window that runs from the beginning to within this many days of today is read as the totals
# minus the days after it (fewer rows than its months and days).
RECENT = timedelta(days=31)


@dataclass(frozen=True)
class Days:
    """Facts of the days from `first` (None: from the beginning) to `last`, both included (UTC),
    asked on `today`."""

    first: date | None
    last: date
    today: date

    def segments(self) -> list[tuple[int, str, date | None, date | None]]:
        """(sign, grain, from, to) row ranges whose signed sum is the window's: whole months at
        month grain and the days at its edges, or the totals less the days after the window."""
        if self.first is None and self.last >= self.today - RECENT:
            return [(1, "total", None, None), (-1, "day", self.last + timedelta(days=1), None)]
        first_whole = None if self.first is None else _month_start(self.first - timedelta(days=1)) + _MONTH
        after_whole = _month_start(self.last + timedelta(days=1))  # the first day of the month after the last whole one
        if first_whole is not None and first_whole >= after_whole:
            return [(1, "day", self.first, self.last)]
        segments: list[tuple[int, str, date | None, date | None]] = []
        if self.first is not None and first_whole is not None and self.first < first_whole:
            segments.append((1, "day", self.first, first_whole - timedelta(days=1)))
        segments.append((1, "month", first_whole, after_whole - timedelta(days=1)))
        if after_whole <= self.last:
            segments.append((1, "day", after_whole, self.last))
        return segments

    def bounds(self) -> list[ColumnElement[bool]]:
        """Day rows of the window."""
        conditions = [KpiCounter.grain == "day", KpiCounter.day <= self.last]
        if self.first is not None:
            conditions.append(KpiCounter.day >= self.first)
        return conditions


class _Month:
    """Adding it to the first day of a month gives the first day of the next."""

    def __radd__(self, day: date) -> date:
        return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


_MONTH = _Month()


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _signed(days: Days) -> tuple[ColumnElement[bool], Any]:
    """The rows of the window's segments, and each row's sign."""
    conditions, signs = [], []
    for sign, grain, first, last in days.segments():
        condition = and_(
            KpiCounter.grain == grain,
            *([KpiCounter.day >= first] if first is not None else []),
            *([KpiCounter.day <= last] if last is not None else []),
        )
        conditions.append(condition)
        signs.append((condition, sign))
    return or_(*conditions), case(*signs, else_=0)


@dataclass(frozen=True)
class Sum:
    """Counts and amounts of one fact, summed over a group."""

    fact: str
    group: str  # the variant or agent; NONE for none
    detail: str
    count: int
    amount: int


@dataclass(frozen=True)
class Transition:
    """Accounts of one variant that were in `start_bucket` at a month end and in `end_bucket` at
    the next, with their balances then."""

    variant: str
    start_bucket: str
    end_bucket: str
    accounts: int
    start_balance: int
    end_balance: int


def _of(campaign_id: str, currency: str) -> list[ColumnElement[bool]]:
    return [KpiCounter.campaign_id == campaign_id, KpiCounter.currency == currency]


@dataclass(frozen=True)
class Placed:
    """The accounts of one currency and variant: how many, and their placed balance."""

    currency: str
    variant: str
    accounts: int
    amount: int


def placements(session: Session, campaign_id: str) -> list[Placed]:
    """The campaign's accounts per currency and variant (placement is not an event of a window:
    every account placed so far counts)."""
    query = (
        select(KpiCounter.currency, KpiCounter.variant, func.sum(KpiCounter.count), func.sum(KpiCounter.amount))
        .where(KpiCounter.campaign_id == campaign_id, KpiCounter.fact == "placed", KpiCounter.grain == "total")
        .group_by(KpiCounter.currency, KpiCounter.variant)
    )
    rows = session.execute(query)
    return [Placed(currency, variant, int(n), int(amount)) for currency, variant, n, amount in rows if n]


def first_placement(session: Session, campaign_id: str, currency: str) -> date | None:
    """The UTC day the first account of the campaign in `currency` was placed: the first day with
    a row above zero (an account placed that day is counted under its variant; rows of variants
    it left sit at zero)."""
    query = (
        select(KpiCounter.day)
        .where(*_of(campaign_id, currency), KpiCounter.fact == "placed", KpiCounter.grain == "day")
        .where(KpiCounter.count > 0)
        .order_by(KpiCounter.day)
        .limit(1)
    )
    return session.scalar(query)


def _sums(session: Session, campaign_id: str, currency: str, facts: Sequence[str], by: Any, days: Days) -> list[Sum]:
    rows, sign = _signed(days)
    query = (
        select(
            KpiCounter.fact,
            by,
            KpiCounter.detail,
            func.sum(sign * KpiCounter.count),
            func.sum(sign * KpiCounter.amount),
        )
        .where(*_of(campaign_id, currency), KpiCounter.fact.in_(facts), rows)
        .group_by(KpiCounter.fact, by, KpiCounter.detail)
    )
    return [
        Sum(fact, group, detail, int(count), int(amount))
        for fact, group, detail, count, amount in session.execute(query)
        if count or amount
    ]


VARIANT_ACTIVITY = ("message", "call", "outcome", "right_party", "promise")


def variant_sums(
    session: Session, campaign_id: str, currency: str, days: Days
) -> tuple[list[Sum], list[tuple[str, date, int]]]:
    """Per variant: messages and calls per channel, outcomes per code, right-party contacts and
    promises per status in the window; and (variant, day, amount received) for each day of it with
    payments. One read."""
    rows, sign = _signed(days)
    activity = (
        select(
            KpiCounter.fact,
            KpiCounter.variant,
            KpiCounter.detail,
            literal_column("NULL", Date).label("day"),
            func.sum(sign * KpiCounter.count).label("count"),
            func.sum(sign * KpiCounter.amount).label("amount"),
        )
        .where(*_of(campaign_id, currency), KpiCounter.fact.in_(VARIANT_ACTIVITY), rows)
        .group_by(KpiCounter.fact, KpiCounter.variant, KpiCounter.detail)
    )
    per_day = (
        select(
            KpiCounter.fact,
            KpiCounter.variant,
            literal_column("''", String).label("detail"),
            KpiCounter.day,
            func.sum(KpiCounter.count),
            func.sum(KpiCounter.amount),
        )
        .where(*_of(campaign_id, currency), KpiCounter.fact == "payment", *days.bounds())
        .group_by(KpiCounter.fact, KpiCounter.variant, KpiCounter.day)
    )
    sums: list[Sum] = []
    collected: list[tuple[str, date, int]] = []
    for fact, variant, detail, day, count, amount in session.execute(union_all(activity, per_day)):
        if day is not None:
            if count:  # a day with payments (its rows may sit at zero after an account moved)
                collected.append((variant, _as_date(day), int(amount)))
        elif count or amount:
            sums.append(Sum(fact, variant, detail, int(count), int(amount)))
    return sums, collected


def _as_date(value: date | str) -> date:
    # Inside a UNION the result type of SQLite's date text is not applied.
    return value if isinstance(value, date) else date.fromisoformat(value)


def agent_activity(session: Session, campaign_id: str, currency: str, days: Days) -> list[Sum]:
    """Outcomes per code, right-party contacts, promises per status, finished tasks and payments
    received towards their promises (`agent_collected`, whatever the promise's day), per agent."""
    facts = ["agent_outcome", "agent_right_party", "agent_promise", "agent_task_done", "agent_collected"]
    return _sums(session, campaign_id, currency, facts, KpiCounter.agent, days)


def collected_outside(session: Session, campaign_id: str, currency: str, days: Days) -> dict[str, int]:
    """Per agent: payments received in the window towards the agent's promises of before it
    (received on or after the promise's day) or of after it (received before): what the agent's
    `agent_collected` of the window holds that does not count for their promises of the window."""
    # `detail` is the other day, as ISO text, which sorts like the date.
    last = days.last.isoformat()
    outside = [
        and_(
            KpiCounter.fact == "agent_paid_before",
            KpiCounter.day > days.last,
            KpiCounter.detail <= last,
            *([KpiCounter.detail >= days.first.isoformat()] if days.first is not None else []),
        )
    ]
    if days.first is not None:
        outside.append(
            and_(
                KpiCounter.fact == "agent_paid_after",
                KpiCounter.day >= days.first,
                KpiCounter.day <= days.last,
                KpiCounter.detail < days.first.isoformat(),
            )
        )
    query = (
        select(KpiCounter.agent, func.sum(KpiCounter.amount))
        .where(*_of(campaign_id, currency), KpiCounter.grain == "day", or_(*outside))
        .group_by(KpiCounter.agent)
    )
    return {agent: int(amount) for agent, amount in session.execute(query)}


# ---- month ends -------------------------------------------------------------------------------


def roll_input_revisions(session: Session, campaign_id: str, currency: str) -> list[tuple[date, int]]:
    """Per month (its first day), the sum of the revisions of the counters roll rates are computed
    from, in order; a month end's inputs revision is the running total up to its month."""
    query = (
        select(KpiCounter.day, func.sum(KpiCounter.revision))
        .where(*_of(campaign_id, currency), KpiCounter.fact.in_(ROLL_INPUTS), KpiCounter.grain == "month")
        .group_by(KpiCounter.day)
        .order_by(KpiCounter.day)
    )
    return [(day, int(revision)) for day, revision in session.execute(query)]


def roll_snapshots(
    session: Session, campaign_id: str, currency: str, ends: Sequence[date]
) -> dict[date, tuple[int, list[Transition]]]:
    """The stored snapshots of the periods ending on `ends`: (inputs revision, transitions)."""
    if not ends:
        return {}
    query = select(KpiRollSnapshot).where(
        KpiRollSnapshot.campaign_id == campaign_id,
        KpiRollSnapshot.currency == currency,
        KpiRollSnapshot.period_end >= min(ends),
        KpiRollSnapshot.period_end <= max(ends),
    )
    wanted = set(ends)
    return {
        row.period_end: (row.inputs_revision, [Transition(*values) for values in row.transitions])
        for row in session.scalars(query)
        if row.period_end in wanted
    }


def store_roll_snapshot(
    session: Session,
    campaign_id: str,
    currency: str,
    end: date,
    inputs_revision: int,
    transitions: Sequence[Transition],
    now: datetime,
) -> None:
    """Keep a period's transitions with the inputs revision they were computed at (two requests
    computing the same period at once both write a consistent pair; the later one stays)."""
    values = {
        "campaign_id": campaign_id,
        "currency": currency,
        "period_end": end,
        "inputs_revision": inputs_revision,
        "transitions": [
            [t.variant, t.start_bucket, t.end_bucket, t.accounts, t.start_balance, t.end_balance] for t in transitions
        ],
        "computed_at": now,
    }
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = module.insert(KpiRollSnapshot).values(values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["campaign_id", "currency", "period_end"],
            set_={name: insert.excluded[name] for name in ("inputs_revision", "transitions", "computed_at")},
        )
    )


def _bucket(balance: Any, due: Any, day: date) -> Any:
    """The past-due bucket (services/kpis.py `bucket`) in SQL: days past due on `day` compared
    through due-date thresholds, so no date arithmetic runs in the database."""
    return case(
        (balance <= 0, "paid"),
        (due >= day, "current"),
        (due > day - timedelta(days=30), "1-29"),
        (due > day - timedelta(days=60), "30-59"),
        (due > day - timedelta(days=90), "60-89"),
        else_="90+",
    )


def month_end_transitions(
    session: Session, campaign_id: str, currency: str, start: date, end: date
) -> list[Transition]:
    """How the accounts placed by month end `start` moved by month end `end`, per variant and pair
    of buckets. A balance at the end of a day is the placed balance plus the fees applied minus the
    payments received by then (both in the account's currency)."""
    after_start = datetime.combine(start + timedelta(days=1), time(), UTC)
    after_end = datetime.combine(end + timedelta(days=1), time(), UTC)
    in_campaign = [Account.campaign_id == campaign_id, Account.currency == currency, Account.created_at < after_start]

    def ledger(amount: Any, at: Any, account_id: Any, row_currency: Any) -> Any:
        return (
            select(
                account_id.label("account_id"),
                func.sum(case((at < after_start, amount), else_=0)).label("at_start"),
                func.sum(amount).label("at_end"),
            )
            .join(Account, Account.id == account_id)
            .where(*in_campaign, row_currency == Account.currency, at < after_end)
            .group_by(account_id)
            .subquery()
        )

    paid = ledger(Payment.amount, Payment.received_at, Payment.account_id, Payment.currency)
    charged = ledger(Fee.amount, Fee.applied_at, Fee.account_id, Fee.currency)
    placed = func.coalesce(Account.snapshot_json["balance"].as_integer(), Account.balance)
    balances = (
        select(
            func.coalesce(AccountStateRow.variant, NONE).label("variant"),
            Account.due_date.label("due"),
            (placed + func.coalesce(charged.c.at_start, 0) - func.coalesce(paid.c.at_start, 0)).label("at_start"),
            (placed + func.coalesce(charged.c.at_end, 0) - func.coalesce(paid.c.at_end, 0)).label("at_end"),
        )
        .select_from(Account)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .outerjoin(paid, paid.c.account_id == Account.id)
        .outerjoin(charged, charged.c.account_id == Account.id)
        .where(*in_campaign)
        .subquery()
    )
    start_bucket = _bucket(balances.c.at_start, balances.c.due, start)
    end_bucket = _bucket(balances.c.at_end, balances.c.due, end)
    query = select(
        balances.c.variant,
        start_bucket,
        end_bucket,
        func.count(),
        func.sum(balances.c.at_start),
        func.sum(balances.c.at_end),
    ).group_by(balances.c.variant, start_bucket, end_bucket)
    return [
        Transition(variant, str(b0), str(b1), int(n), int(s0), int(s1))
        for variant, b0, b1, n, s0, s1 in session.execute(query)
    ]


def overpaid(session: Session, campaign_id: str, currency: str) -> tuple[int, int]:
    """(accounts, amount) the campaign's accounts in `currency` were paid beyond what they owed, as
    of their last turns (the read model): what the creditor owes back as refunds or credits. Read
    through the partial index on overpaid accounts (the predicate is its own, as a constant)."""
    count, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(AccountStateRow.overpaid), 0)).where(
            AccountStateRow.campaign_id == campaign_id,
            AccountStateRow.overpaid > literal_column("0"),
            AccountStateRow.currency == currency,
        )
    ).one()
    return int(count), int(amount)


def charged(session: Session, campaign_id: str, currency: str) -> tuple[int, int, int]:
    """(fees, interest, accounts charged interest) of the campaign's accounts in `currency`, as of
    their last turns (the read model): what the campaign added to the debts. One aggregate query,
    over the accounts charged anything only (the others add nothing: the totals only grow from 0),
    answered from the partial index that holds the totals (its predicate as a constant, as there)."""
    zero: ColumnElement[int] = literal_column("0")
    charged_interest = case((AccountStateRow.interest_total > zero, 1))
    fees, interest, accounts = session.execute(
        select(
            func.coalesce(func.sum(AccountStateRow.fees_total), 0),
            func.coalesce(func.sum(AccountStateRow.interest_total), 0),
            func.count(charged_interest),
        ).where(
            AccountStateRow.campaign_id == campaign_id,
            AccountStateRow.currency == currency,
            or_(AccountStateRow.fees_total > zero, AccountStateRow.interest_total > zero),
        )
    ).one()
    return int(fees), int(interest), int(accounts)
