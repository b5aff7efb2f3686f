"""The next task an agent should work, and claiming it in one step.

The order is services/task_priority.py's. Both read a handful of index entries (one ordered
LIMIT 1 per band and queue of the caller's, and per band over the tasks reserved for them),
whatever the size of the queue; the next task is one statement. Claiming takes the chosen row
with FOR UPDATE SKIP LOCKED on PostgreSQL, so fifty agents claiming at once each get a different
task without waiting on each other; on SQLite every transaction holds the database's write lock
(db/session.py), so claims take turns. Either way a task is handed out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from db.repositories import tasks
from services.task_priority import URGENT_WITHIN, Priority, due_soon, of_task

# A claim that loses its task anyway (only on a database that neither locks rows nor serializes
# writers) looks again; after this many tries the caller hears "nothing to claim".
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Ranked:
    """A task with why it comes where it does."""

    row: tasks.TaskRow
    priority: Priority[int]
    balance: int  # the balance the score counted (the account's, never below 0)
    due_soon: bool


def _ranked(row: tasks.TaskRow, now: datetime) -> Ranked:
    task = row.task
    return Ranked(row=row, priority=of_task(task), balance=task.score_balance, due_soon=due_soon(task, now))


def next_task(session: Session, who: tasks.Who | None, *, queue: str | None, now: datetime) -> Ranked | None:
    """The open task `who` (None: a supervisor) should take next, or None; nothing is claimed."""
    row = tasks.first_open(session, who, queue=queue, urgent_until=now + URGENT_WITHIN)
    return _ranked(row, now) if row is not None else None


def claim_next(
    session: Session, who: tasks.Who | None, subject: str, *, queue: str | None, now: datetime
) -> Ranked | None:
    """Claim for `subject` the task `next_task` would answer (or, while other claimers hold it,
    the best one nobody holds); None when nothing is left to claim."""
    for _ in range(CLAIM_ATTEMPTS):
        found = tasks.lock_first_open(session, who, queue=queue, urgent_until=now + URGENT_WITHIN)
        if found is None:
            return None
        if tasks.claim(session, found, subject, now):
            row = tasks.get(session, found)
            assert row is not None, "tasks are never deleted"
            return _ranked(row, now)
    return None
