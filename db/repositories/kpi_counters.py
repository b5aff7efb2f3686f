"""The KPI counters (db/models/kpis.py): what each writer of a fact adds to them, the recount from
the fact tables that they must always equal, and the move of an account's counts when the
variant or currency they are kept under changes.

How a count gets in:

- The code that writes or changes a fact calls the function named after it here (`payment`,
  `contact`, `promise_settled`, ...) in the same transaction. Deltas are merged per counter row in
  the session and written when the transaction commits (a `before_commit` hook), one upsert per
  row, in key order: the count commits or rolls back with its fact; hot rows (every message of
  the day of a variant) are locked for the commit only, not for the rest of a turn; and since every
  transaction locks counter rows last and in the same order, counting adds no deadlock.
- A status change is counted out of the old row and into the new one by the code that makes it,
  under the fact's row lock (or a unique key a racing duplicate fails on), so one change is never
  counted twice by two racing writers.
- An account's facts are counted under its campaign, currency and variant. When the variant
  (first turn, strategy change) or the placement (an import updating an account not yet launched)
  changes, `withdraw` before the change and `deposit` after it move every count of the account.

Facts written without these functions (tests that insert rows, data loaded by hand) are brought in
by `rebuild`, which recounts a campaign from the fact tables, as the migration did for existing
data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    delete,
    event,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, aliased

from db.models import Account, AgentTask, Communication, Fee, KpiCounter, OutcomeRecord, Payment, Promise
from db.models import AccountState as AccountStateRow
from db.models.kpis import NONE
from db.models.ledger import TOWARDS_PROMISE
from db.utc_day import utc_day, utc_day_text

# Communications that reached (or may have reached) the debtor: the statuses the send activity's
# policy check counts as contacts (activities/messaging.py CONTACTED).
CONTACT_STATUSES = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
# Agent calls are logged as voice communications with this provider; they cost agent time, not a
# per-message channel fee, so they are counted apart (`call`).
AGENT_PROVIDER = "agent"
# Ids per statement when many accounts are recounted at once.
CHUNK = 5_000
_PENDING = "kpi_counter_deltas"
KEY_COLUMNS = ("campaign_id", "currency", "fact", "day", "variant", "agent", "detail")

Key = tuple[str, str, str, date, str, str, str]  # campaign, currency, fact, day, variant, agent, detail


@dataclass(frozen=True)
class Home:
    """Where an account's facts are counted."""

    campaign_id: str
    currency: str
    variant: str  # NONE until its workflow has run, or when its strategy has no variants


def utc_date(at: datetime) -> date:
    return at.astimezone(UTC).date()


def home(session: Session, account_id: int) -> Home:
    """The campaign, currency and variant the account's facts are counted under now."""
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    state = session.get(AccountStateRow, account_id)
    variant = state.variant if state is not None else None
    return Home(account.campaign_id, account.currency, variant or NONE)


# ---- deltas -----------------------------------------------------------------------------------


def add(
    session: Session,
    where: Home,
    fact: str,
    day: date,
    *,
    agent: str | None = None,
    detail: str = NONE,
    count: int = 0,
    amount: int = 0,
) -> None:
    """Add `count` and `amount` to one counter row when the transaction commits."""
    key: Key = (where.campaign_id, where.currency, fact, day, where.variant, agent or NONE, detail)
    _add(session, key, count, amount)


def _add(session: Session, key: Key, count: int, amount: int) -> None:
    pending: dict[Key, list[int]] = session.info.setdefault(_PENDING, {})
    delta = pending.setdefault(key, [0, 0])
    delta[0] += count
    delta[1] += amount


def apply_pending(session: Session) -> None:
    """Write the deltas added in this transaction (normally done at commit)."""
    pending: dict[Key, list[int]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = [
        {
            "campaign_id": campaign_id,
            "currency": currency,
            "fact": fact,
            "day": day,
            "variant": variant,
            "agent": agent,
            "detail": detail,
            "count": count,
            "amount": amount,
            "revision": 1,
        }
        # Key order: every transaction locks the rows it touches in the same order.
        for (campaign_id, currency, fact, day, variant, agent, detail), (count, amount) in sorted(pending.items())
    ]
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = module.insert(KpiCounter)
    # A row whose deltas cancel out is still written: its revision records that something dated
    # that day changed (a due date, a variant), which roll-rate snapshots depend on.
    upsert = insert.on_conflict_do_update(
        index_elements=KEY_COLUMNS,
        set_={
            "count": KpiCounter.count + insert.excluded.count,
            "amount": KpiCounter.amount + insert.excluded.amount,
            "revision": KpiCounter.revision + 1,
        },
    )
    session.execute(upsert, rows)


@event.listens_for(Session, "before_commit")
def _count_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the commit
        apply_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    # Rolled back or closed without a commit: its deltas go with its facts. (Savepoints end too;
    # writers add no deltas inside one that may roll back.)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# ---- what writers call ------------------------------------------------------------------------


def placed(session: Session, account: Account) -> None:
    """A new account (flushed): it joins its campaign's population on the day it was placed."""
    add(
        session,
        home(session, account.id),
        "placed",
        utc_date(account.created_at),
        count=1,
        amount=placed_balance(account.snapshot_json, account.balance),
    )


def placed_rows(session: Session, campaign_id: str, rows: Iterable[dict[str, Any]]) -> None:
    """New accounts inserted in bulk (dicts of their columns, `created_at` included); none has
    run a workflow yet."""
    for row in rows:
        add(
            session,
            Home(campaign_id, row["currency"], NONE),
            "placed",
            utc_date(row["created_at"]),
            count=1,
            amount=placed_balance(row["snapshot_json"], row["balance"]),
        )


def placed_balance(snapshot: dict[str, Any], balance: int) -> int:
    """The balance an account entered the campaign with: its snapshot's (`balance` moves with
    payments). Every snapshot written by the import or `register_account` carries it."""
    value = snapshot.get("balance") if isinstance(snapshot, dict) else None
    return int(value) if value is not None else int(balance)


def contact(session: Session, comm: Communication, before: str | None) -> None:
    """`comm`'s status went from `before` (None: a new row) to its current one: counted in or
    out when that crossed the line between reaching the debtor and not."""
    was, now = before in CONTACT_STATUSES, comm.status in CONTACT_STATUSES
    if was == now:
        return
    add(
        session,
        home(session, comm.account_id),
        "call" if comm.provider == AGENT_PROVIDER else "message",
        utc_date(comm.planned_at),
        detail=comm.channel,
        count=1 if now else -1,
    )


def outcome(session: Session, row: OutcomeRecord) -> None:
    """An agent outcome (one dial attempt) recorded."""
    where = home(session, row.account_id)
    add(session, where, "outcome", utc_date(row.recorded_at), agent=row.agent, detail=row.code, count=1)


def task_done(session: Session, task: AgentTask) -> None:
    """A task finished with an outcome; counted for its agent (a task nobody held is not)."""
    if task.status == "done" and task.assigned_agent and task.completed_at is not None:
        where = home(session, task.account_id)
        add(session, where, "task_done", utc_date(task.completed_at), agent=task.assigned_agent, count=1)


def promise_made(session: Session, row: Promise) -> None:
    """A new promise, counted under its status."""
    _promise(session, row, row.status, 1)


def promise_settled(session: Session, row: Promise, before: str) -> None:
    """A promise's status changed from `before` to its current one."""
    if before != row.status:
        _promise(session, row, before, -1)
        _promise(session, row, row.status, 1)


def _promise(session: Session, row: Promise, status: str, sign: int) -> None:
    add(
        session,
        home(session, row.account_id),
        "promise",
        utc_date(row.made_at),
        agent=row.agent,
        detail=status,
        count=sign,
        amount=sign * row.amount,
    )


def payment(session: Session, row: Payment) -> None:
    """A payment received; in another currency than its account's it counts nowhere (money of two
    currencies never adds up). One allocated to a promise of the campaign is also counted for the
    promise's agent and day, for the agents' `amount collected`."""
    where = home(session, row.account_id)
    if row.currency != where.currency:
        return
    agent, made = None, NONE
    if row.allocated_to and row.allocated_to.startswith(TOWARDS_PROMISE):
        found = session.execute(
            select(Promise.agent, Promise.made_at)
            .join(Account, Account.id == Promise.account_id)
            .where(
                Promise.key == row.allocated_to.removeprefix(TOWARDS_PROMISE),
                Account.campaign_id == where.campaign_id,
                Account.currency == where.currency,
            )
        ).first()
        if found is not None:
            agent, made = found[0], utc_date(found[1]).isoformat()
    add(session, where, "payment", utc_date(row.received_at), agent=agent, detail=made, count=1, amount=row.amount)


def fee(session: Session, row: Fee) -> None:
    """A fee applied; in another currency than its account's it counts nowhere."""
    where = home(session, row.account_id)
    if row.currency == where.currency:
        add(session, where, "fee", utc_date(row.applied_at), count=1, amount=row.amount)


def withdraw(session: Session, account_ids: Sequence[int]) -> None:
    """Take the accounts' counts out of where they are kept now; call before changing their
    variant, currency or placement, then `deposit` after the change is flushed."""
    for key, (count, amount) in _recount(session, account_ids).items():
        _add(session, key, -count, -amount)


def deposit(session: Session, account_ids: Sequence[int]) -> None:
    """Count the accounts' facts where they are kept now (after `withdraw` and the change)."""
    for key, (count, amount) in _recount(session, account_ids).items():
        _add(session, key, count, amount)


# ---- the recount ------------------------------------------------------------------------------


def _fact_queries(accounts: ColumnElement[bool]) -> list[Select[Any]]:
    """One grouped query per fact, each giving (campaign, currency, fact, day, variant, agent,
    detail, count, amount) for the accounts `accounts` selects."""
    # Constants are written into the SQL, not bound: PostgreSQL must see the same expression in
    # the select list and in GROUP BY.
    none, zero = literal_column("''", String), literal_column("0", BigInteger)
    variant = func.coalesce(AccountStateRow.variant, none)

    def grouped(
        source: Any, account_id: Any, fact: str | ColumnElement[str], day: Any, agent: Any, detail: Any, amount: Any
    ) -> Select[Any]:
        fact_column = literal_column(f"'{fact}'", String) if isinstance(fact, str) else fact
        query = select(
            Account.campaign_id,
            Account.currency,
            fact_column.label("fact"),
            day.label("day"),
            variant.label("variant"),
            agent.label("agent"),
            detail.label("detail"),
            func.count().label("count"),
            amount.label("amount"),
        ).select_from(source)
        if source is not Account:
            query = query.join(Account, Account.id == account_id)
        query = query.outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id).where(accounts)
        # Constants are not grouped by (PostgreSQL refuses a text constant in GROUP BY).
        keys = [Account.campaign_id, Account.currency, fact_column, day, variant, agent, detail]
        constants = [none, *([fact_column] if isinstance(fact, str) else [])]
        return query.group_by(*(k for k in keys if not any(k is c for c in constants)))

    placed = func.coalesce(Account.snapshot_json["balance"].as_integer(), Account.balance)
    population = grouped(Account, Account.id, "placed", utc_day(Account.created_at), none, none, func.sum(placed))
    contacts = grouped(
        Communication,
        Communication.account_id,
        case(
            (Communication.provider == literal_column(f"'{AGENT_PROVIDER}'"), literal_column("'call'")),
            else_=literal_column("'message'"),
        ),
        utc_day(Communication.planned_at),
        none,
        Communication.channel,
        zero,
    ).where(Communication.status.in_(CONTACT_STATUSES))
    outcomes = grouped(
        OutcomeRecord,
        OutcomeRecord.account_id,
        "outcome",
        utc_day(OutcomeRecord.recorded_at),
        func.coalesce(OutcomeRecord.agent, none),
        OutcomeRecord.code,
        zero,
    )
    promises = grouped(
        Promise,
        Promise.account_id,
        "promise",
        utc_day(Promise.made_at),
        func.coalesce(Promise.agent, none),
        Promise.status,
        func.sum(Promise.amount),
    )
    their_account = aliased(Account)
    towards = (
        select(Promise.key, Promise.agent, Promise.made_at, their_account.campaign_id, their_account.currency)
        .join(their_account, their_account.id == Promise.account_id)
        .subquery("towards")
    )
    payments = (
        grouped(
            Payment,
            Payment.account_id,
            "payment",
            utc_day(Payment.received_at),
            func.coalesce(towards.c.agent, none),
            case((towards.c.key.is_not(None), utc_day_text(towards.c.made_at)), else_=none),
            func.sum(Payment.amount),
        )
        .outerjoin(
            towards,
            and_(
                Payment.allocated_to.startswith(TOWARDS_PROMISE, autoescape=True),
                towards.c.key == func.substr(Payment.allocated_to, len(TOWARDS_PROMISE) + 1),
                towards.c.campaign_id == Account.campaign_id,
                towards.c.currency == Account.currency,
            ),
        )
        .where(Payment.currency == Account.currency)
    )
    fees = grouped(Fee, Fee.account_id, "fee", utc_day(Fee.applied_at), none, none, func.sum(Fee.amount)).where(
        Fee.currency == Account.currency
    )
    done_on = utc_day(AgentTask.completed_at)
    tasks = grouped(AgentTask, AgentTask.account_id, "task_done", done_on, AgentTask.assigned_agent, none, zero)
    tasks = tasks.where(
        AgentTask.status == "done", AgentTask.assigned_agent.is_not(None), AgentTask.completed_at.is_not(None)
    )
    return [population, contacts, outcomes, promises, payments, fees, tasks]


def recount(session: Session, campaign_id: str | None = None) -> dict[Key, tuple[int, int]]:
    """The counter rows the fact tables call for (of one campaign, or all), by key; rows whose
    count and amount are both zero are left out."""
    where = Account.campaign_id == campaign_id if campaign_id is not None else true()
    return _rows(session, [where])


def _recount(session: Session, account_ids: Sequence[int]) -> dict[Key, tuple[int, int]]:
    unique = sorted(set(account_ids))
    return _rows(session, [Account.id.in_(unique[i : i + CHUNK]) for i in range(0, len(unique), CHUNK)])


def _rows(session: Session, filters: Iterable[ColumnElement[bool]]) -> dict[Key, tuple[int, int]]:
    out: dict[Key, tuple[int, int]] = {}
    for where in filters:
        query = union_all(*_fact_queries(where))
        for campaign_id, currency, fact, day, variant, agent, detail, count, amount in session.execute(query):
            key: Key = (campaign_id, currency, fact, _as_date(day), variant, agent, detail)
            before = out.get(key, (0, 0))
            out[key] = (before[0] + int(count), before[1] + int(amount or 0))
    return {key: value for key, value in out.items() if value != (0, 0)}


def _as_date(value: date | str) -> date:
    # Inside a UNION the result type of SQLite's date() text is not applied.
    return value if isinstance(value, date) else date.fromisoformat(value)


def stored(session: Session, campaign_id: str | None = None) -> dict[Key, tuple[int, int]]:
    """The counter rows as stored (of one campaign, or all), rows at zero left out."""
    query = select(KpiCounter)
    if campaign_id is not None:
        query = query.where(KpiCounter.campaign_id == campaign_id)
    return {
        (r.campaign_id, r.currency, r.fact, r.day, r.variant, r.agent, r.detail): (r.count, r.amount)
        for r in session.scalars(query)
        if (r.count, r.amount) != (0, 0)
    }


def rebuild(session: Session, campaign_id: str) -> None:
    """Replace a campaign's counters with a recount from the fact tables."""
    session.info.pop(_PENDING, None)
    session.execute(delete(KpiCounter).where(KpiCounter.campaign_id == campaign_id))
    for key, (count, amount) in recount(session, campaign_id).items():
        _add(session, key, count, amount)
    apply_pending(session)
