"""The ranking "next task" used before scores were stored on the tasks (api/routers/agents.py and
db/repositories/tasks.py up to issue 10), kept verbatim as the oracle the stored, indexed answer
must equal: load every open task the caller may take with its account, load its debtor's
history, score each in Python and take the minimum of the ordering key.

It reads the database directly and shares nothing with the code under test but the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from db.models import Account, AgentTask, OutcomeRecord, Promise
from db.models import AccountState as AccountStateRow

URGENT_WITHIN = timedelta(hours=2)
BP = 10_000
NO_CONTACT_CODES = ("no_answer", "wrong_party")


@dataclass(frozen=True)
class Scored:
    task_id: int
    score: int
    expected_recovery: int
    balance: int
    recovery_propensity_bp: int
    contact_likelihood_bp: int
    due_soon: bool
    due_at: datetime


@dataclass(frozen=True)
class _History:
    outcomes: int = 0
    contacts: int = 0
    promises_kept: int = 0
    promises_broken: int = 0


def _workable(subject: str | None, queues: tuple[str, ...]) -> Any:
    if subject is None:
        return and_(AgentTask.status == "open", AgentTask.assigned_agent.is_(None))
    in_queue = and_(AgentTask.assigned_agent.is_(None), AgentTask.queue.in_(queues)) if queues else false()
    return and_(AgentTask.status == "open", or_(in_queue, AgentTask.assigned_agent == subject))


def _histories(session: Session, ids: list[int]) -> dict[int, _History]:
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
    return {i: _History(**c) for i, c in counts.items()}


def _count(snapshot: dict[str, object], key: str) -> int:
    value = snapshot.get(key, 0)
    return value if isinstance(value, int) and value > 0 else 0


def scored(
    session: Session, subject: str | None, queues: tuple[str, ...], queue: str | None, now: datetime
) -> list[Scored]:
    """Every open task the caller (None: a supervisor) may take now, scored, best first."""
    balance = func.coalesce(AccountStateRow.balance, Account.balance)
    query = (
        select(AgentTask.id, AgentTask.due_at, balance, Account.debtor_id, Account.snapshot_json)
        .join(Account, Account.id == AgentTask.account_id)
        .outerjoin(AccountStateRow, AccountStateRow.account_id == AgentTask.account_id)
        .where(_workable(subject, queues))
    )
    if queue is not None:
        query = query.where(AgentTask.queue == queue)
    rows = session.execute(query).all()
    past = _histories(session, sorted({r[3] for r in rows}))
    out = []
    for task_id, due_at, row_balance, debtor_id, snapshot in rows:
        history = past.get(debtor_id, _History())
        kept = history.promises_kept + _count(snapshot, "promises_kept")
        broken = history.promises_broken + _count(snapshot, "promises_broken")
        propensity = BP * (kept + 1) // (kept + broken + 2)
        contact = BP * (history.contacts + 1) // (history.outcomes + 2)
        clamped = max(row_balance, 0)
        expected = clamped * propensity // BP
        out.append(
            Scored(
                task_id=task_id,
                score=expected * contact // BP,
                expected_recovery=expected,
                balance=clamped,
                recovery_propensity_bp=propensity,
                contact_likelihood_bp=contact,
                due_soon=due_at <= now + URGENT_WITHIN,
                due_at=due_at,
            )
        )
    return sorted(out, key=_order)


def _order(s: Scored) -> tuple[int, float, int, float, int]:
    due = s.due_at.timestamp()
    if s.due_soon:
        return (0, due, -s.score, 0.0, s.task_id)
    return (1, 0.0, -s.score, due, s.task_id)
