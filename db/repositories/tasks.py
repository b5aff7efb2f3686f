"""The agents' task queue: which tasks an agent may see, their lists, the candidates for "next
task" with what their priority is computed from, claiming and reassigning.

A task is visible to an agent when it is assigned to them or sits in one of their queues. An open
task with an assigned agent is reserved for that agent (a supervisor reassigned it to them).
Supervisors and admins see every task (`who=None`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Account, AgentTask, ApiKey, OutcomeRecord, Promise
from db.models import AccountState as AccountStateRow

ACTIVE = ("open", "claimed")
# Outcomes that are no conversation with the debtor (as the interpreter counts right-party contacts).
NO_CONTACT_CODES = ("no_answer", "wrong_party")
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


@dataclass(frozen=True)
class Candidate:
    """An open task and the history its priority is computed from (see api/routers/agents.py)."""

    row: TaskRow
    debtor_id: int
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class DebtorHistory:
    """A debtor's record across all their accounts: call outcomes, and promises kept or broken."""

    outcomes: int = 0
    contacts: int = 0
    promises_kept: int = 0
    promises_broken: int = 0


def visible(who: Who) -> ColumnElement[bool]:
    """Tasks `who` may see: assigned to them, or in one of their queues."""
    return or_(AgentTask.assigned_agent == who.subject, AgentTask.queue.in_(who.queues) if who.queues else false())


def workable(who: Who | None) -> ColumnElement[bool]:
    """Open tasks `who` may take now: unassigned in their queues, or reserved for them."""
    if who is None:
        return and_(AgentTask.status == "open", AgentTask.assigned_agent.is_(None))
    in_queue = and_(AgentTask.assigned_agent.is_(None), AgentTask.queue.in_(who.queues)) if who.queues else false()
    return and_(AgentTask.status == "open", or_(in_queue, AgentTask.assigned_agent == who.subject))


def _with_account() -> Any:
    balance = func.coalesce(AccountStateRow.balance, Account.balance)
    return (
        select(AgentTask, Account.campaign_id, Account.external_id, Account.currency, balance, Account.debtor_id)
        .join(Account, Account.id == AgentTask.account_id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == AgentTask.account_id)
    )


def _row(result: Sequence[Any]) -> TaskRow:
    return TaskRow(task=result[0], campaign_id=result[1], external_id=result[2], currency=result[3], balance=result[4])


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


def candidates(session: Session, who: Who | None, *, queue: str | None) -> list[Candidate]:
    """Every open task `who` may take now (optionally in one queue), with its account's facts."""
    query = _with_account().add_columns(Account.snapshot_json).where(workable(who))
    if queue is not None:
        query = query.where(AgentTask.queue == queue)
    return [Candidate(row=_row(r), debtor_id=r[5], snapshot=r[6]) for r in session.execute(query)]


def histories(session: Session, debtor_ids: Iterable[int]) -> dict[int, DebtorHistory]:
    """Each debtor's outcomes (and how many were conversations) and settled promises, across accounts."""
    ids = sorted(set(debtor_ids))
    if not ids:
        return {}
    contact = case((OutcomeRecord.code.in_(NO_CONTACT_CODES), 0), else_=1)
    outcomes = session.execute(
        select(Account.debtor_id, func.count(OutcomeRecord.id), func.coalesce(func.sum(contact), 0))
        .join(Account, Account.id == OutcomeRecord.account_id)
        .where(Account.debtor_id.in_(ids))
        .group_by(Account.debtor_id)
    ).all()
    kept = func.coalesce(func.sum(case((Promise.status == "kept", 1), else_=0)), 0)
    broken = func.coalesce(func.sum(case((Promise.status == "broken", 1), else_=0)), 0)
    promises = session.execute(
        select(Account.debtor_id, kept, broken)
        .join(Account, Account.id == Promise.account_id)
        .where(Account.debtor_id.in_(ids))
        .group_by(Account.debtor_id)
    ).all()
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for debtor_id, total, contacts in outcomes:
        counts[debtor_id].update(outcomes=int(total), contacts=int(contacts))
    for debtor_id, k, b in promises:
        counts[debtor_id].update(promises_kept=int(k), promises_broken=int(b))
    return {i: DebtorHistory(**c) for i, c in counts.items()}


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
