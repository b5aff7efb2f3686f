"""The KPI counters (db/models/kpis.py): what each writer of a fact adds to them, the recount from
the fact tables that they must always equal, and the move of an account's counts when the
variant or currency they are kept under changes.

How a count gets in:

- The code that writes or changes a fact calls the function named after it here (`payment`,
  `contact`, `promise_settled`, ...) in the same transaction. Deltas are merged per counter row in
  the session and written when the transaction commits (a `before_commit` hook), to the day, the
  month and the total rows, one upsert per row, in key order: the count commits or rolls back
  with its fact; hot rows (every message of the day of a variant) are locked for the commit only,
  not for the rest of a turn; and since every transaction locks counter rows last and in the same
  order, counting adds no deadlock.
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

from collections import defaultdict
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
    insert,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, aliased

from db.models import Account, AgentTask, Communication, Fee, KpiCounter, OutcomeRecord, Payment, Promise
from db.models import AccountState as AccountStateRow
from db.models.agent_work import spoke_with_debtor
from db.models.kpis import DAY_ONLY, NONE, TOTAL_DAY
from db.models.ledger import TOWARDS_PROMISE
from db.utc_day import utc_day, utc_day_text
from domain.types import NOT_A_CONVERSATION

# Communications that reached (or may have reached) the debtor: the statuses the send activity's
# policy check counts as contacts (activities/messaging.py CONTACTED).
CONTACT_STATUSES = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
# Agent calls are logged as voice communications with this provider; they cost agent time, not a
# per-message channel fee, so they are counted apart (`call`).
AGENT_PROVIDER = "agent"
# Counters roll-rate snapshots are computed from: a change that cancels out (a due date moved, an
# account moved between variants) still touches their rows, so their revision records it.
ROLL_INPUTS = ("placed", "payment", "fee")
# Ids per statement when many accounts are recounted at once.
CHUNK = 5_000
_PENDING = "kpi_counter_deltas"
_LOCKED = "kpi_counter_accounts_locked"
KEY_COLUMNS = ("campaign_id", "fact", "currency", "grain", "day", "variant", "agent", "detail")

# A delta's key, at the grain of a day: campaign, fact, currency, day, variant, agent, detail.
Delta = tuple[str, str, str, date, str, str, str]
# A stored row's key: campaign, fact, currency, grain, day, variant, agent, detail.
Key = tuple[str, str, str, str, date, str, str, str]


@dataclass(frozen=True)
class Home:
    """Where an account's facts are counted."""

    campaign_id: str
    currency: str
    variant: str  # NONE until its workflow has run, or when its strategy has no variants


def utc_date(at: datetime) -> date:
    return at.astimezone(UTC).date()


def home(session: Session, account_id: int) -> Home:
    """The campaign, currency and variant the account's facts are counted under now.

    The account's row is read under a share lock (once per transaction): a move of the account
    (`withdraw`) locks it for update, so a fact counted here is either seen by the move's recount
    or counted after the move, never counted where the account no longer is."""
    locked: set[int] = session.info.setdefault(_LOCKED, set())
    if account_id in locked:
        account = session.get(Account, account_id)
    else:
        account = session.get(Account, account_id, with_for_update={"read": True}, populate_existing=True)
        locked.add(account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    state = session.get(AccountStateRow, account_id)
    variant = state.variant if state is not None else None
    return Home(account.campaign_id, account.currency, variant or NONE)


def grains(delta: Delta) -> list[Key]:
    """The stored rows a day's delta goes to: its day, its month and the total."""
    campaign_id, fact, currency, day, variant, agent, detail = delta
    days = [("day", day)]
    if fact not in DAY_ONLY:
        days += [("month", day.replace(day=1)), ("total", TOTAL_DAY)]
    return [(campaign_id, fact, currency, grain, at, variant, agent, detail) for grain, at in days]


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
    """Add `count` and `amount` to one fact's day (month and total) when the transaction commits.
    Facts by agent are not split by variant."""
    variant = NONE if fact.startswith("agent_") else where.variant
    _add(session, (where.campaign_id, fact, where.currency, day, variant, agent or NONE, detail), count, amount)


def _add(session: Session, delta: Delta, count: int, amount: int) -> None:
    pending: dict[Delta, list[int]] = session.info.setdefault(_PENDING, {})
    total = pending.setdefault(delta, [0, 0])
    total[0] += count
    total[1] += amount


def apply_pending(session: Session) -> None:
    """Write the deltas added in this transaction (normally done at commit)."""
    pending: dict[Delta, list[int]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows: dict[Key, list[int]] = {}
    for delta, (count, amount) in pending.items():
        if (count, amount) == (0, 0) and delta[1] not in ROLL_INPUTS:
            continue
        for key in grains(delta):
            row = rows.setdefault(key, [0, 0])
            row[0] += count
            row[1] += amount
    if not rows:
        return
    values = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)), "count": count, "amount": amount, "revision": 1}
        # Key order: every transaction locks the rows it touches in the same order.
        for key, (count, amount) in sorted(rows.items())
    ]
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    new = module.insert(KpiCounter)
    upsert = new.on_conflict_do_update(
        index_elements=KEY_COLUMNS,
        set_={
            "count": KpiCounter.count + new.excluded.count,
            "amount": KpiCounter.amount + new.excluded.amount,
            "revision": KpiCounter.revision + 1,
        },
    )
    session.execute(upsert, values)


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
        session.info.pop(_LOCKED, None)


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
    """An agent outcome (one dial attempt) recorded, and whether it reached the right party."""
    where, day = home(session, row.account_id), utc_date(row.recorded_at)
    spoke = row.right_party_contact
    if spoke is None:
        spoke = row.code not in NOT_A_CONVERSATION
    add(session, where, "outcome", day, detail=row.code, count=1)
    if spoke:
        add(session, where, "right_party", day, count=1)
    if row.agent:
        add(session, where, "agent_outcome", day, agent=row.agent, detail=row.code, count=1)
        if spoke:
            add(session, where, "agent_right_party", day, agent=row.agent, count=1)


def task_done(session: Session, task: AgentTask) -> None:
    """A task finished with an outcome; counted for its agent (a task nobody held is not)."""
    if task.status == "done" and task.assigned_agent and task.completed_at is not None:
        where = home(session, task.account_id)
        add(session, where, "agent_task_done", utc_date(task.completed_at), agent=task.assigned_agent, count=1)


def promise_made(session: Session, row: Promise) -> None:
    """A new promise, counted under its status."""
    _promise(session, row, row.status, 1)


def promise_settled(session: Session, row: Promise, before: str) -> None:
    """A promise's status changed from `before` to its current one."""
    if before != row.status:
        _promise(session, row, before, -1)
        _promise(session, row, row.status, 1)


def _promise(session: Session, row: Promise, status: str, sign: int) -> None:
    where, day, amount = home(session, row.account_id), utc_date(row.made_at), sign * row.amount
    add(session, where, "promise", day, detail=status, count=sign, amount=amount)
    if row.agent:
        add(session, where, "agent_promise", day, agent=row.agent, detail=status, count=sign, amount=amount)


def payment(session: Session, row: Payment) -> None:
    """A payment received; in another currency than its account's it counts nowhere (money of two
    currencies never adds up). One allocated to a promise an agent took in the campaign also counts
    for that agent, with the promise's day."""
    where = home(session, row.account_id)
    if row.currency != where.currency:
        return
    received = utc_date(row.received_at)
    add(session, where, "payment", received, count=1, amount=row.amount)
    if not (row.allocated_to and row.allocated_to.startswith(TOWARDS_PROMISE)):
        return
    found = session.execute(
        select(Promise.agent, Promise.made_at)
        .join(Account, Account.id == Promise.account_id)
        .where(
            Promise.key == row.allocated_to.removeprefix(TOWARDS_PROMISE),
            Account.campaign_id == where.campaign_id,
            Account.currency == where.currency,
        )
    ).first()
    if found is None or not found[0]:
        return
    agent, promised = found[0], utc_date(found[1])
    add(session, where, "agent_collected", received, agent=agent, count=1, amount=row.amount)
    if promised <= received:
        pair = ("agent_paid_after", received, promised.isoformat())
    else:
        pair = ("agent_paid_before", promised, received.isoformat())
    add(session, where, pair[0], pair[1], agent=agent, detail=pair[2], count=1, amount=row.amount)


def fee(session: Session, row: Fee) -> None:
    """A fee applied; in another currency than its account's it counts nowhere."""
    where = home(session, row.account_id)
    if row.currency == where.currency:
        add(session, where, "fee", utc_date(row.applied_at), count=1, amount=row.amount)


def withdraw(session: Session, account_ids: Sequence[int]) -> None:
    """Take the accounts' counts out of where they are kept now; call before changing their
    variant, currency or placement, then `deposit` after the change is flushed. The accounts'
    rows are locked first: facts being counted for them commit before the recount reads them."""
    unique = sorted(set(account_ids))
    for start in range(0, len(unique), CHUNK):
        session.execute(
            select(Account.id)
            .where(Account.id.in_(unique[start : start + CHUNK]))
            .order_by(Account.id)
            .with_for_update(key_share=True)
        ).all()
    for delta, (count, amount) in _deltas(session, unique).items():
        _add(session, delta, -count, -amount)


def deposit(session: Session, account_ids: Sequence[int]) -> None:
    """Count the accounts' facts where they are kept now (after `withdraw` and the change)."""
    for delta, (count, amount) in _deltas(session, account_ids).items():
        _add(session, delta, count, amount)


# ---- the recount ------------------------------------------------------------------------------


def _fact_queries(accounts: ColumnElement[bool]) -> list[Select[Any]]:
    """One grouped query per fact, each giving the day deltas (campaign, fact, currency, day,
    variant, agent, detail, count, amount) of the accounts `accounts` selects."""
    # Constants are written into the SQL, not bound: PostgreSQL must see the same expression in
    # the select list and in GROUP BY.
    none, zero = literal_column("''", String), literal_column("0", BigInteger)
    variant = func.coalesce(AccountStateRow.variant, none)

    def grouped(
        source: Any,
        account_id: Any,
        fact: str | ColumnElement[str],
        day: Any,
        agent: Any,
        detail: Any,
        amount: Any,
        count: Any = None,
    ) -> Select[Any]:
        fact_column = literal_column(f"'{fact}'", String) if isinstance(fact, str) else fact
        by_agent = isinstance(fact, str) and fact.startswith("agent_")
        variant_column = none if by_agent else variant
        query = select(
            Account.campaign_id,
            fact_column.label("fact"),
            Account.currency,
            day.label("day"),
            variant_column.label("variant"),
            agent.label("agent"),
            detail.label("detail"),
            (func.count() if count is None else count).label("count"),
            amount.label("amount"),
        ).select_from(source)
        if source is not Account:
            query = query.join(Account, Account.id == account_id)
        if not by_agent:
            query = query.outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        keys = [Account.campaign_id, fact_column, Account.currency, day, variant_column, agent, detail]
        # Constants are not grouped by (PostgreSQL refuses a text constant in GROUP BY).
        constants = [none, *([fact_column] if isinstance(fact, str) else [])]
        return query.where(accounts).group_by(*(k for k in keys if not any(k is c for c in constants)))

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
    queries = [population, contacts]
    recorded = utc_day(OutcomeRecord.recorded_at)
    queries.append(
        grouped(OutcomeRecord, OutcomeRecord.account_id, "outcome", recorded, none, OutcomeRecord.code, zero)
    )
    queries.append(
        grouped(
            OutcomeRecord,
            OutcomeRecord.account_id,
            "agent_outcome",
            recorded,
            OutcomeRecord.agent,
            OutcomeRecord.code,
            zero,
        ).where(OutcomeRecord.agent.is_not(None), OutcomeRecord.agent != NONE)
    )
    queries.append(
        grouped(OutcomeRecord, OutcomeRecord.account_id, "right_party", recorded, none, none, zero).where(
            spoke_with_debtor()
        )
    )
    queries.append(
        grouped(
            OutcomeRecord, OutcomeRecord.account_id, "agent_right_party", recorded, OutcomeRecord.agent, none, zero
        ).where(spoke_with_debtor(), OutcomeRecord.agent.is_not(None), OutcomeRecord.agent != NONE)
    )
    made, promised = utc_day(Promise.made_at), func.sum(Promise.amount)
    queries.append(grouped(Promise, Promise.account_id, "promise", made, none, Promise.status, promised))
    queries.append(
        grouped(Promise, Promise.account_id, "agent_promise", made, Promise.agent, Promise.status, promised).where(
            Promise.agent.is_not(None), Promise.agent != NONE
        )
    )
    received, paid = utc_day(Payment.received_at), func.sum(Payment.amount)
    queries.append(
        grouped(Payment, Payment.account_id, "payment", received, none, none, paid).where(
            Payment.currency == Account.currency
        )
    )
    queries.extend(_towards_promises(grouped, none))
    queries.append(
        grouped(Fee, Fee.account_id, "fee", utc_day(Fee.applied_at), none, none, func.sum(Fee.amount)).where(
            Fee.currency == Account.currency
        )
    )
    done_on = utc_day(AgentTask.completed_at)
    tasks = grouped(AgentTask, AgentTask.account_id, "agent_task_done", done_on, AgentTask.assigned_agent, none, zero)
    queries.append(
        tasks.where(
            AgentTask.status == "done",
            AgentTask.assigned_agent.is_not(None),
            AgentTask.assigned_agent != NONE,
            AgentTask.completed_at.is_not(None),
        )
    )
    return queries


def _towards_promises(grouped: Any, none: Any) -> list[Select[Any]]:
    """Payments towards a promise an agent took in the same campaign and currency."""
    their_account = aliased(Account)
    towards = (
        select(Promise.key, Promise.agent, Promise.made_at, their_account.campaign_id, their_account.currency)
        .join(their_account, their_account.id == Promise.account_id)
        .where(Promise.agent.is_not(None), Promise.agent != NONE)
        .subquery("towards")
    )
    received, promised = utc_day(Payment.received_at), utc_day(towards.c.made_at)

    def joined(query: Select[Any]) -> Select[Any]:
        return query.join(
            towards,
            and_(
                Payment.allocated_to.startswith(TOWARDS_PROMISE, autoescape=True),
                towards.c.key == func.substr(Payment.allocated_to, len(TOWARDS_PROMISE) + 1),
                towards.c.campaign_id == Account.campaign_id,
                towards.c.currency == Account.currency,
            ),
        ).where(Payment.currency == Account.currency)

    paid = func.sum(Payment.amount)
    collected = grouped(Payment, Payment.account_id, "agent_collected", received, towards.c.agent, none, paid)
    after = grouped(
        Payment,
        Payment.account_id,
        "agent_paid_after",
        received,
        towards.c.agent,
        utc_day_text(towards.c.made_at),
        paid,
    )
    before = grouped(
        Payment,
        Payment.account_id,
        "agent_paid_before",
        promised,
        towards.c.agent,
        utc_day_text(Payment.received_at),
        paid,
    )
    return [
        joined(collected),
        joined(after).where(promised <= received),
        joined(before).where(promised > received),
    ]


def _deltas(session: Session, account_ids: Sequence[int]) -> dict[Delta, tuple[int, int]]:
    """The day deltas of these accounts' facts, where they are counted now."""
    unique = sorted(set(account_ids))
    out: dict[Delta, tuple[int, int]] = {}
    for start in range(0, len(unique), CHUNK):
        _collect(session, Account.id.in_(unique[start : start + CHUNK]), out)
    return out


def _collect(session: Session, accounts: ColumnElement[bool], out: dict[Delta, tuple[int, int]]) -> None:
    for campaign_id, fact, currency, day, variant, agent, detail, count, amount in session.execute(
        union_all(*_fact_queries(accounts))
    ):
        delta: Delta = (campaign_id, fact, currency, _as_date(day), variant, agent, detail)
        before = out.get(delta, (0, 0))
        out[delta] = (before[0] + int(count), before[1] + int(amount or 0))


def _as_date(value: date | str) -> date:
    # Inside a UNION the result type of SQLite's date() text is not applied.
    return value if isinstance(value, date) else date.fromisoformat(value)


def recount(session: Session, campaign_id: str | None = None) -> dict[Key, tuple[int, int]]:
    """The counter rows (every grain) the fact tables call for, of one campaign or all, by key;
    rows whose count and amount are both zero are left out."""
    deltas: dict[Delta, tuple[int, int]] = {}
    _collect(session, Account.campaign_id == campaign_id if campaign_id is not None else true(), deltas)
    rows: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for delta, (count, amount) in deltas.items():
        for key in grains(delta):
            rows[key][0] += count
            rows[key][1] += amount
    return {key: (count, amount) for key, (count, amount) in rows.items() if (count, amount) != (0, 0)}


def stored(session: Session, campaign_id: str | None = None) -> dict[Key, tuple[int, int]]:
    """The counter rows as stored (of one campaign, or all), rows at zero left out."""
    query = select(KpiCounter)
    if campaign_id is not None:
        query = query.where(KpiCounter.campaign_id == campaign_id)
    return {
        (r.campaign_id, r.fact, r.currency, r.grain, r.day, r.variant, r.agent, r.detail): (r.count, r.amount)
        for r in session.scalars(query)
        if (r.count, r.amount) != (0, 0)
    }


def rebuild(session: Session, campaign_id: str) -> None:
    """Replace a campaign's counters with a recount from the fact tables."""
    session.info.pop(_PENDING, None)
    session.execute(delete(KpiCounter).where(KpiCounter.campaign_id == campaign_id))
    rows = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)), "count": count, "amount": amount, "revision": 1}
        for key, (count, amount) in sorted(recount(session, campaign_id).items())
    ]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(KpiCounter), rows[start : start + CHUNK])
