"""Accounts for the people who work and steer them: the supervisors' list (from the read model
joined with the account rows, never by asking workflows), one account's facts, and which accounts
an agent may see.

Days-past-due buckets follow the industry's 30-day buckets (research/commercial-and-compliance.md
§1.4, roll rates): current, 1-29, 30-59, 60-89, 90+. Days past due count from the read model's
`past_due_since` (else the account's due date) to the debtor's today, as
services/accounts_view.py counts them for every door; the bucket filter asks the same in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from db.models import Account, AgentNote, AgentTask, Campaign, Debtor, StrategyVersion
from db.models import AccountState as AccountStateRow
from db.repositories.tasks import MAX_ID, Who

# name -> (fewest, most) days past due; None is unbounded.
DPD_BUCKETS: dict[str, tuple[int | None, int | None]] = {
    "current": (None, 0),
    "1-29": (1, 29),
    "30-59": (30, 59),
    "60-89": (60, 89),
    "90+": (90, None),
}


def dpd_bucket(days_past_due: int) -> str:
    """The bucket an account `days_past_due` days late falls in."""
    for name, (low, high) in DPD_BUCKETS.items():
        if (low is None or days_past_due >= low) and (high is None or days_past_due <= high):
            return name
    raise AssertionError("the buckets cover every integer")


@dataclass(frozen=True)
class DebtorDates:
    """Today in the debtors' zones at one instant (services/accounts_view.debtors_today): `utc`,
    except a day later in the zones of `ahead` and a day earlier in those of `behind` (no zone is
    a whole day from UTC)."""

    utc: date
    ahead: tuple[str, ...] = ()
    behind: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountFilters:
    campaign_id: str | None = None
    stage: str | None = None
    segment: str | None = None
    variant: str | None = None
    agent: str | None = None
    dpd_bucket: str | None = None
    overpaid: bool = False  # only accounts paid beyond what they owed (a refund or credit due)


def get(session: Session, account_id: int) -> Account | None:
    """The account row, or None."""
    return session.get(Account, account_id) if 0 < account_id <= MAX_ID else None


def state(session: Session, account_id: int) -> AccountStateRow | None:
    """The account's read-model row; None until its workflow's first turn."""
    return session.get(AccountStateRow, account_id)


def debtor(session: Session, debtor_id: int) -> Debtor:
    """The debtor with their contact points loaded."""
    found = session.scalar(select(Debtor).options(selectinload(Debtor.contact_points)).where(Debtor.id == debtor_id))
    assert found is not None, "accounts.debtor_id is a foreign key"
    return found


def _agent_sees(who: Who) -> ColumnElement[bool]:
    """Accounts assigned to `who` (the read model's agent, or an open task given to them) or whose
    latest task is in one of their queues: the queue that works an account keeps it between calls
    (while it waits, is on hold or is settled), until a task of it goes to another queue.

    Each test looks at the account's own rows (correlated, through agent_tasks' account index), so
    asking about one account, or walking a page of accounts, never reads other accounts' tasks."""
    held = (
        select(AgentTask.id)
        .where(
            AgentTask.account_id == Account.id,
            AgentTask.assigned_agent == who.subject,
            AgentTask.status.in_(("open", "claimed")),
        )
        .exists()
    )
    clauses = [AccountStateRow.assigned_agent == who.subject, held]
    if who.queues:
        latest = (
            select(AgentTask.queue)
            .where(AgentTask.account_id == Account.id)
            .order_by(AgentTask.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        clauses.append(latest.in_(who.queues))
    return or_(*clauses)


def agent_may_see(session: Session, account_id: int, who: Who) -> bool:
    """Whether the agent `who` may see and act on the account."""
    found = session.scalar(
        select(Account.id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .where(Account.id == account_id, _agent_sees(who))
    )
    return found is not None


def _late_by(low: int | None, high: int | None, today: DebtorDates) -> list[ColumnElement[bool]]:
    """Accounts between `low` and `high` days past due (None: unbounded), counted as
    services/accounts_view.days_past_due counts them: from the read model's `past_due_since`, else
    the account's due date, to today in the debtor's zone.

    Each bound is first a range of dates that holds it in every zone, written so that the
    (campaign_id, past_due_since, account_id) index can serve it; then exactly, by the date of
    the account's zone (a row whose date is well inside the range never needs its zone)."""
    since = func.coalesce(AccountStateRow.past_due_since, Account.due_date)
    zone = Account.snapshot_json["timezone"].as_string()

    def day(offset: int) -> ColumnElement[date]:
        return literal(today.utc + timedelta(days=offset), Date)

    def debtors_today_less(days: int) -> ColumnElement[date]:
        shifted = [(names, offset) for names, offset in ((today.ahead, 1), (today.behind, -1)) if names]
        if not shifted:
            return day(-days)
        return case(*((zone.in_(names), day(offset - days)) for names, offset in shifted), else_=day(-days))

    def coarse(holds: ColumnElement[bool], on_due_date: ColumnElement[bool]) -> ColumnElement[bool]:
        # COALESCE(past_due_since, due_date) as an OR, so the read model's index can serve it.
        return or_(holds, and_(AccountStateRow.past_due_since.is_(None), on_due_date))

    clauses = []
    if low is not None:  # late by at least `low` days <=> counting since on or before today - low
        latest = today.utc + timedelta(days=1 - low)
        clauses += [
            coarse(AccountStateRow.past_due_since <= latest, Account.due_date <= latest),
            since <= debtors_today_less(low),
        ]
    if high is not None:
        earliest = today.utc - timedelta(days=1 + high)
        clauses += [
            coarse(AccountStateRow.past_due_since >= earliest, Account.due_date >= earliest),
            since >= debtors_today_less(high),
        ]
    return clauses


def listing(
    session: Session, filters: AccountFilters, *, today: DebtorDates, who: Who | None, after: int | None, limit: int
) -> list[tuple[Account, AccountStateRow | None]]:
    """Accounts matching `filters` by id, `limit + 1` of them (see api.pagination); an agent (`who`)
    sees only their own. Filters on the read model leave out accounts that have not started.

    With a read-model filter the read model drives the page: its (campaign, filter, account id)
    indexes hold each filter's accounts in page order, so a deep page reads no more than a first
    one. Without one, accounts (campaign, id) does."""
    projected: list[ColumnElement[bool]] = [
        column == value
        for column, value in (
            (AccountStateRow.stage, filters.stage),
            (AccountStateRow.segment, filters.segment),
            (AccountStateRow.variant, filters.variant),
            (AccountStateRow.assigned_agent, filters.agent),
        )
        if value is not None
    ]
    if filters.overpaid:
        # Written as the partial indexes' own predicate (a constant, not a parameter), so both
        # databases read only the overpaid accounts' index entries.
        projected.append(AccountStateRow.overpaid > literal_column("0"))
    # The cursor bounds both tables, so neither side of the join is read from its start.
    after = min(after, MAX_ID) if after is not None else 0
    joined = and_(AccountStateRow.account_id == Account.id, AccountStateRow.account_id > after)
    query = select(Account, AccountStateRow).where(Account.id > after)
    if projected:
        query = query.join(AccountStateRow, joined).where(*projected)
        key: InstrumentedAttribute[int] = AccountStateRow.account_id
    else:
        query = query.outerjoin(AccountStateRow, joined)
        key = Account.id
    if filters.campaign_id is not None:
        query = query.where(Account.campaign_id == filters.campaign_id)
        if projected:  # the read model's copy of the campaign leads its indexes
            query = query.where(AccountStateRow.campaign_id == filters.campaign_id)
    if filters.dpd_bucket is not None:
        query = query.where(*_late_by(*DPD_BUCKETS[filters.dpd_bucket], today))
    if who is not None:
        query = query.where(_agent_sees(who))
    rows = session.execute(query.order_by(key).limit(limit + 1)).all()
    return [(account, row) for account, row in rows]


def set_assigned_agent(session: Session, account_id: int, agent: str | None) -> None:
    """Show `agent` as the account's agent in the read model (a supervisor reassigned its task)."""
    row = session.get(AccountStateRow, account_id)
    if row is not None:
        row.assigned_agent = agent
        session.flush()


def add_note(session: Session, account_id: int, author: str, text: str) -> AgentNote:
    """Store a note on the account (also how steering and disputes record who did it and why)."""
    note = AgentNote(account_id=account_id, author=author, text=text, created_at=datetime.now(UTC))
    session.add(note)
    session.flush()
    return note


def strategy_version(session: Session, strategy_hash: str) -> StrategyVersion | None:
    """The published strategy version with this hash, or None."""
    return session.scalar(select(StrategyVersion).where(StrategyVersion.hash == strategy_hash))


def money_locale(session: Session, account: Account) -> str | None:
    """The locale an account's money reads in: its debtor's, else its campaign's strategy's (the
    language its messages are written in). Two indexed reads; only the strategy's `locale` field."""
    locale = session.scalar(select(Debtor.locale).where(Debtor.id == account.debtor_id))
    if locale:
        return locale
    found = session.scalar(
        select(StrategyVersion.compiled_json["locale"].as_string())
        .join(Campaign, Campaign.strategy_hash == StrategyVersion.hash)
        .where(Campaign.id == account.campaign_id)
    )
    return found or None
