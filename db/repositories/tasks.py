"""The agents' task queue: which tasks an agent may see, their lists, picking the next task in
the queue's order, keeping each task's stored score inputs current, claiming and reassigning.

A task is visible to an agent when it is assigned to them or sits in one of their queues. An open
task with an assigned agent is reserved for that agent (a supervisor reassigned it to them).
Supervisors and admins see every task (`who=None`).

The queue's order and the score formula are services/task_priority.py's; here is the SQL that
reads them from the partial indexes of db/models/agent_work.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    Update,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from db.models import Account, AgentTask, ApiKey, Debtor, OutcomeRecord, Promise, StrategyVersion
from db.models import AccountState as AccountStateRow
from db.models.agent_work import spoke_with_debtor
from domain.strategy import CustomOutcome

ACTIVE = ("open", "claimed")
# Integer ids are 32-bit on PostgreSQL: a larger id (from a path or a cursor) cannot exist, and
# comparing against it would fail in the driver instead of finding nothing.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Who:
    """An agent as the queue sees them: their name and the queues they work."""

    subject: str
    queues: tuple[str, ...]


@dataclass(frozen=True)
class TaskRow:
    """A task with the account facts lists show next to it."""

    task: AgentTask
    campaign_id: str
    external_id: str
    currency: str
    balance: int
    # The codes of the task's step that the account's strategy declares itself, with their labels.
    custom_outcomes: tuple[CustomOutcome, ...] = ()


def visible(who: Who) -> ColumnElement[bool]:
    """Tasks `who` may see: assigned to them, or in one of their queues."""
    return or_(AgentTask.assigned_agent == who.subject, AgentTask.queue.in_(who.queues) if who.queues else false())


def _with_account() -> Any:
    balance = func.coalesce(AccountStateRow.balance, Account.balance)
    return (
        select(
            AgentTask,
            Account.campaign_id,
            Account.external_id,
            Account.currency,
            balance,
            Account.debtor_id,
            StrategyVersion.compiled_json["outcomes"],
        )
        .join(Account, Account.id == AgentTask.account_id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == AgentTask.account_id)
        .outerjoin(StrategyVersion, StrategyVersion.hash == AccountStateRow.strategy_hash)
    )


def _row(result: Sequence[Any]) -> TaskRow:
    task = result[0]
    declared = [CustomOutcome.model_validate(o) for o in result[6] or ()]
    return TaskRow(
        task=task,
        campaign_id=result[1],
        external_id=result[2],
        currency=result[3],
        balance=result[4],
        custom_outcomes=tuple(o for o in declared if o.code in task.allowed_outcomes),
    )


def get(session: Session, task_id: int) -> TaskRow | None:
    """One task with its account facts, or None."""
    if task_id > MAX_ID:
        return None
    found = session.execute(_with_account().where(AgentTask.id == task_id)).first()
    return _row(found) if found is not None else None


def list_active(
    session: Session, who: Who | None, *, queue: str | None, status: str | None, after: int | None, limit: int
) -> list[TaskRow]:
    """Open and claimed tasks, by id: for an agent, those in their queues (open, unassigned) and
    those assigned to them; for a supervisor, all. Fetches `limit + 1` rows (see api.pagination)."""
    query = _with_account().where(AgentTask.status.in_((status,) if status else ACTIVE))
    if who is not None:
        mine = AgentTask.assigned_agent == who.subject
        queued = (
            and_(AgentTask.queue.in_(who.queues), AgentTask.status == "open", AgentTask.assigned_agent.is_(None))
            if who.queues
            else false()
        )
        query = query.where(or_(mine, queued))
    if queue is not None:
        query = query.where(AgentTask.queue == queue)
    if after is not None:
        query = query.where(AgentTask.id > min(after, MAX_ID))
    return [_row(r) for r in session.execute(query.order_by(AgentTask.id).limit(limit + 1))]


def active_for_account(session: Session, account_id: int) -> list[TaskRow]:
    """The account's open and claimed tasks, oldest first."""
    query = _with_account().where(AgentTask.account_id == account_id, AgentTask.status.in_(ACTIVE))
    return [_row(r) for r in session.execute(query.order_by(AgentTask.id))]


class Scorer(Protocol):
    """A task's score from its inputs, as SQL (services/task_priority.py owns the formula)."""

    def __call__(
        self,
        balance: ColumnElement[int],
        kept: ColumnElement[int],
        broken: ColumnElement[int],
        calls: ColumnElement[int],
        contacts: ColumnElement[int],
    ) -> ColumnElement[int]: ...


def lock_debtor(session: Session, debtor_id: int) -> None:
    """Hold the debtor's row until the transaction ends, so that transactions changing what their
    tasks' scores are computed from take turns (see services/task_priority.py). FOR NO KEY UPDATE:
    inserts that merely reference the debtor (accounts, contact points) are not held up. SQLite has
    no row locks and needs none: its writers already take turns."""
    session.execute(select(Debtor.id).where(Debtor.id == debtor_id).with_for_update(key_share=True))


def _nonnegative(value: ColumnElement[int]) -> ColumnElement[int]:
    return case((value > 0, value), else_=0)


@dataclass(frozen=True)
class Rescorer:
    """The UPDATEs that recompute stored scores with a given formula, built once: building and
    keying a statement this size costs SQLAlchemy several times what the database spends on it."""

    one_debtor: Update  # takes the bound parameter `debtor_id`
    every_debtor: Update


def rescorer(scorer: Scorer) -> Rescorer:
    """Rescore statements for `scorer`: each sets, on every open or claimed task (of one debtor,
    or of all), the account's balance (the read model's, else the imported one; never below 0),
    the debtor's promises kept and broken (those the creditor reported on the task's account at
    import, plus every settled promise on any of the debtor's accounts), the debtor's recorded
    call outcomes and how many reached the right party, and the score computed from them."""
    return Rescorer(one_debtor=_rescore(scorer, bindparam("debtor_id")), every_debtor=_rescore(scorer, None))


def _rescore(scorer: Scorer, debtor: BindParameter[int] | None) -> Update:
    kin = aliased(Account, name="kin")  # every account of the debtor, for their history

    def of_debtor(query: Select[Any], column: QueryableAttribute[int]) -> Select[Any]:
        return query.where(column == debtor) if debtor is not None else query

    contact = case((spoke_with_debtor(), 1), else_=0)
    calls = of_debtor(
        select(kin.debtor_id, func.count(OutcomeRecord.id).label("calls"), func.sum(contact).label("contacts"))
        .join(OutcomeRecord, OutcomeRecord.account_id == kin.id)
        .group_by(kin.debtor_id),
        kin.debtor_id,
    ).subquery("calls")
    settled = of_debtor(
        select(
            kin.debtor_id,
            func.sum(case((Promise.status == "kept", 1), else_=0)).label("kept"),
            func.sum(case((Promise.status == "broken", 1), else_=0)).label("broken"),
        )
        .join(Promise, Promise.account_id == kin.id)
        .group_by(kin.debtor_id),
        kin.debtor_id,
    ).subquery("settled")

    def reported(key: str) -> ColumnElement[int]:
        return _nonnegative(func.coalesce(Account.snapshot_json[key].as_integer(), 0))

    facts = of_debtor(
        select(
            Account.id.label("account_id"),
            _nonnegative(func.coalesce(AccountStateRow.balance, Account.balance)).label("balance"),
            (reported("promises_kept") + func.coalesce(settled.c.kept, 0)).label("kept"),
            (reported("promises_broken") + func.coalesce(settled.c.broken, 0)).label("broken"),
            func.coalesce(calls.c.calls, 0).label("calls"),
            func.coalesce(calls.c.contacts, 0).label("contacts"),
        )
        .outerjoin(AccountStateRow, AccountStateRow.account_id == Account.id)
        .outerjoin(calls, calls.c.debtor_id == Account.debtor_id)
        .outerjoin(settled, settled.c.debtor_id == Account.debtor_id),
        Account.debtor_id,
    ).subquery("facts")
    return (
        update(AgentTask)
        .where(AgentTask.account_id == facts.c.account_id, AgentTask.status.in_(ACTIVE))
        .values(
            score_balance=facts.c.balance,
            score_promises_kept=facts.c.kept,
            score_promises_broken=facts.c.broken,
            score_calls=facts.c.calls,
            score_contacts=facts.c.contacts,
            score=scorer(facts.c.balance, facts.c.kept, facts.c.broken, facts.c.calls, facts.c.contacts),
        )
        .execution_options(synchronize_session=False)
    )


_ACTIVE_OF_DEBTOR = (
    select(AgentTask.id)
    .join(Account, Account.id == AgentTask.account_id)
    .where(Account.debtor_id == bindparam("debtor_id"), AgentTask.status.in_(ACTIVE))
    .limit(1)
)


def rescore(session: Session, statements: Rescorer, *, debtor_id: int | None) -> None:
    """Recompute the stored scores of the debtor's open and claimed tasks (None: everyone's); a
    debtor with none costs one index lookup."""
    if debtor_id is None:
        session.execute(statements.every_debtor)
    elif session.scalar(_ACTIVE_OF_DEBTOR, {"debtor_id": debtor_id}) is not None:
        session.execute(statements.one_debtor, {"debtor_id": debtor_id})


# Spelled as literals, not bound parameters, so that the planner (SQLite's, and PostgreSQL's on a
# generic plan for a prepared statement) can match the partial indexes' predicates.
_OPEN: ColumnElement[str] = literal_column("'open'")
_URGENT_ORDER = (AgentTask.due_at, AgentTask.score.desc(), AgentTask.id)
_SCORE_ORDER = (AgentTask.score.desc(), AgentTask.due_at, AgentTask.id)
Head = Row[tuple[int, datetime, int]]


def _sources(who: Who | None, queue: str | None) -> list[ColumnElement[bool]]:
    """Where the open tasks `who` may take now sit, each one index range: every queue of theirs
    (unassigned tasks), and the tasks reserved for them. For supervisors, unassigned tasks in
    every queue. `queue` narrows either to that queue."""
    unassigned = and_(AgentTask.status == _OPEN, AgentTask.assigned_agent.is_(None))
    if who is None:
        return [and_(unassigned, AgentTask.queue == queue) if queue is not None else unassigned]
    sources = [and_(unassigned, AgentTask.queue == q) for q in who.queues if queue in (None, q)]
    reserved = and_(AgentTask.status == _OPEN, AgentTask.assigned_agent == who.subject)
    sources.append(and_(reserved, AgentTask.queue == queue) if queue is not None else reserved)
    return sources


def _head(source: ColumnElement[bool], band: ColumnElement[bool] | None, order: Sequence[Any]) -> Select[Any]:
    """The first task of one source in one band: one indexed ORDER BY ... LIMIT 1."""
    query = select(AgentTask.id, AgentTask.due_at, AgentTask.score).where(source)
    return (query.where(band) if band is not None else query).order_by(*order).limit(1)


def first_open(session: Session, who: Who | None, *, queue: str | None, urgent_until: datetime) -> TaskRow | None:
    """The first open task `who` may take now, in the queue's order, with its account facts; in
    one statement. Each source's head in each band (tasks due by `urgent_until` by due time, then
    higher score, then older; all by score, then earlier due, then older) is one indexed
    ORDER BY ... LIMIT 1, and the best head wins: urgent before the rest, then the band's order."""
    heads = [
        _head(source, band, order).subquery()
        for source in _sources(who, queue)
        for band, order in ((AgentTask.due_at <= urgent_until, _URGENT_ORDER), (None, _SCORE_ORDER))
    ]
    candidates = union_all(*(select(head.c.id, head.c.due_at, head.c.score) for head in heads)).subquery("heads")
    urgent = candidates.c.due_at <= urgent_until
    best = (
        select(candidates.c.id)
        .order_by(
            case((urgent, 0), else_=1),
            case((urgent, candidates.c.due_at)),  # NULL for the rest, who are then ordered by score
            candidates.c.score.desc(),
            candidates.c.due_at,
            candidates.c.id,
        )
        .limit(1)
        .scalar_subquery()
    )
    found = session.execute(_with_account().where(AgentTask.id == best)).first()
    return _row(found) if found is not None else None


def lock_first_open(session: Session, who: Who | None, *, queue: str | None, urgent_until: datetime) -> int | None:
    """The id of `first_open`'s task, locked for this transaction; while other transactions hold
    it (and any other task), the best one nobody holds. Each head is taken with FOR UPDATE SKIP
    LOCKED (PostgreSQL), so concurrent claimers each get a different task instead of queueing on
    the same row; heads not chosen stay locked (and skipped by others) until the claim commits, a
    few milliseconds. The heads' merge is `first_open`'s order."""
    bands: tuple[tuple[ColumnElement[bool] | None, Sequence[Any], Callable[[Head], Any]], ...] = (
        (AgentTask.due_at <= urgent_until, _URGENT_ORDER, lambda h: (h.due_at, -h.score, h.id)),
        (None, _SCORE_ORDER, lambda h: (-h.score, h.due_at, h.id)),
    )
    for band, order, key in bands:
        heads = []
        for source in _sources(who, queue):
            head = session.execute(_head(source, band, order).with_for_update(skip_locked=True)).first()
            if head is not None:
                heads.append(head)
        if heads:
            return int(min(heads, key=key).id)
    return None


def claim(session: Session, task_id: int, subject: str, now: datetime) -> bool:
    """Claim an open task for `subject` if nobody else holds it; False when it was not open for them.
    One conditional UPDATE, so two agents claiming at once cannot both win."""
    result = session.execute(
        update(AgentTask)
        .where(
            AgentTask.id == task_id,
            AgentTask.status == "open",
            or_(AgentTask.assigned_agent.is_(None), AgentTask.assigned_agent == subject),
        )
        .values(status="claimed", assigned_agent=subject, claimed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reassign(session: Session, task: AgentTask, *, agent: str | None, queue: str | None, move_agent: bool) -> None:
    """Give the task to `agent` (None: to nobody) when `move_agent`, and/or move it to `queue`.
    The task is open again either way: its new holder claims it themselves."""
    if move_agent:
        task.assigned_agent = agent
        task.status, task.claimed_at = "open", None
    if queue is not None:
        task.queue = queue
        if not move_agent and task.status == "claimed":
            task.assigned_agent, task.status, task.claimed_at = None, "open", None
    session.flush()


def agent_exists(session: Session, subject: str) -> bool:
    """Whether `subject` holds a live agent key (tasks may only be given to real agents)."""
    found = session.scalar(
        select(ApiKey.id).where(ApiKey.subject == subject, ApiKey.role == "agent", ApiKey.revoked_at.is_(None)).limit(1)
    )
    return found is not None
