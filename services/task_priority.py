"""The priority of an agent's task: its score, the queue's order, and keeping both current.

Priority of the next task, all in integers:

* recovery propensity (basis points) = (promises kept + 1) / (promises kept + broken + 2), over the
  debtor's history: what the creditor reported at import plus this system's settled promises, on
  every account of the debtor. Laplace smoothing: no history gives 50%.
* expected recovery (minor units) = balance x recovery propensity; the balance is the read
  model's (fees and payments included), or the imported one before the first turn.
* contact likelihood (basis points) = (right-party contacts + 1) / (call outcomes + 2), over the
  debtor's recorded call outcomes; every outcome but no_answer and wrong_party is a contact.
* score = expected recovery x contact likelihood: the amount a call is expected to bring in.
* Due times: a task due within the next two hours (or already due) comes first, soonest due
  first, because the workflow counts it as an unanswered attempt when it expires. Then the rest,
  highest score first; ties go to the earlier due time, then the older task.

Scores compare amounts, so they rank well within one currency; queues are per strategy, and a
strategy has one currency. (What the creditor reported at import is read from the task's own
account.)

The score and its inputs are stored on the task (`agent_tasks.score*`), so the next task is one
indexed ORDER BY ... LIMIT 1 per queue rather than a ranking of every open task on each request.
They are computed when the task is created (activities/agent_tasks.py) and recomputed, for every
open or claimed task of the debtor at once, whenever an input changes. All inputs change in one
place, the turn record (activities/turns.py): the outcomes it records, the promises it settles
and the balance it projects into the read model (payments and fees reach the balance only
through a turn). Anyone who writes an input elsewhere must call `rescore_debtor` in the same
transaction, after `hold_debtor`.

Concurrent writers for one debtor (two accounts' turns, a turn and a new task) take turns on the
debtor's row (`hold_debtor`, taken before anything else is written, so no two wait on each
other): the last to commit recomputes from everything committed before it, so no stale count
survives. The formula below serves both SQL (the stored score) and Python (the parts shown to
the agent); the stored amounts are 64-bit in the database, which bounds balances at about
9 x 10^14 minor units (balance x 10,000 must fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from db.models import AgentTask
from db.repositories import tasks

URGENT_WITHIN = timedelta(hours=2)
BP = 10_000  # basis points in one

# An integer, or an integer SQL expression: the formula is written once for both.
N = TypeVar("N", int, ColumnElement[int])


@dataclass(frozen=True)
class Priority(Generic[N]):
    score: N
    expected_recovery: N
    recovery_propensity_bp: N
    contact_likelihood_bp: N


def priority(balance: N, kept: N, broken: N, calls: N, contacts: N) -> Priority[N]:
    """The formula of the module docstring; `balance` is already at least 0. Integer division
    on non-negative operands floors in Python and in SQL alike."""
    propensity = BP * (kept + 1) // (kept + broken + 2)
    contact = BP * (contacts + 1) // (calls + 2)
    expected = balance * propensity // BP
    return Priority(
        score=expected * contact // BP,
        expected_recovery=expected,
        recovery_propensity_bp=propensity,
        contact_likelihood_bp=contact,
    )


def _score(
    balance: ColumnElement[int],
    kept: ColumnElement[int],
    broken: ColumnElement[int],
    calls: ColumnElement[int],
    contacts: ColumnElement[int],
) -> ColumnElement[int]:
    return priority(balance, kept, broken, calls, contacts).score


_RESCORE = tasks.rescorer(_score)


def of_task(task: AgentTask) -> Priority[int]:
    """The task's priority from its stored inputs (its `score` is the same number)."""
    return priority(
        task.score_balance, task.score_promises_kept, task.score_promises_broken, task.score_calls, task.score_contacts
    )


def due_soon(task: AgentTask, now: datetime) -> bool:
    """Whether the task is in the urgent band: due within URGENT_WITHIN of `now`, or overdue."""
    return task.due_at <= now + URGENT_WITHIN


def hold_debtor(session: Session, debtor_id: int) -> None:
    """Take the debtor's turn for changing their tasks' score inputs; call it before writing
    anything else in the transaction."""
    tasks.lock_debtor(session, debtor_id)


def rescore_debtor(session: Session, debtor_id: int) -> None:
    """Recompute the score of every open or claimed task of the debtor from what is in the
    database now (this transaction's writes included)."""
    tasks.rescore(session, _RESCORE, debtor_id=debtor_id)


def rescore_all(session: Session) -> None:
    """Recompute every open or claimed task's score (after loading data in bulk)."""
    tasks.rescore(session, _RESCORE, debtor_id=None)
