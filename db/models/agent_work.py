"""Work for human agents: the task queue and the outcomes agents record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ColumnElement, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of
from domain.types import NOT_A_CONVERSATION

AGENT_TASK_STATUSES = ("open", "claimed", "done", "expired", "cancelled")


class AgentTask(Base):
    """A task created by a workflow step (e.g. a call); `key` is its idempotency key."""

    __tablename__ = "agent_tasks"
    __table_args__ = (
        CheckConstraint(one_of("status", AGENT_TASK_STATUSES), name="status"),
        # An agent's held tasks among all they ever worked (which accounts are theirs).
        Index(None, "assigned_agent", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String, index=True)
    seq: Mapped[int]
    step: Mapped[str] = mapped_column(String)
    queue: Mapped[str] = mapped_column(String, index=True)
    attempt: Mapped[int]
    allowed_outcomes: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String, default="open")
    assigned_agent: Mapped[str | None] = mapped_column(String)
    priority: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # The task's priority and what it is computed from (services/task_priority.py), kept current
    # by whoever changes an input, so that "next task" is one indexed ORDER BY ... LIMIT 1.
    score: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    score_balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    score_promises_kept: Mapped[int] = mapped_column(default=0, server_default="0")
    score_promises_broken: Mapped[int] = mapped_column(default=0, server_default="0")
    score_calls: Mapped[int] = mapped_column(default=0, server_default="0")
    score_contacts: Mapped[int] = mapped_column(default=0, server_default="0")


# The queue's indexes hold open tasks only (a small, moving share of every task ever made), in the
# two orders "next task" reads (services/task_priority.py): by due time for the urgent band, by
# score for the rest. Unassigned tasks are indexed per queue and across queues (supervisors),
# reserved ones per agent. `assigned_agent IS NULL` is a predicate, not a column: PostgreSQL does
# not read an index in order past a column tested with IS NULL. Queries must spell the predicate
# with literal values (db/repositories/tasks.py) for the planner to match it.
OPEN_UNASSIGNED = "status = 'open' AND assigned_agent IS NULL"
OPEN_RESERVED = "status = 'open' AND assigned_agent IS NOT NULL"


def _open_index(name: str, *columns: Any, reserved: bool = False) -> Index:
    where = text(OPEN_RESERVED if reserved else OPEN_UNASSIGNED)
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


_by_due = (AgentTask.due_at, AgentTask.score.desc(), AgentTask.id)
_by_score = (AgentTask.score.desc(), AgentTask.due_at, AgentTask.id)
QUEUE_INDEXES = (
    _open_index("ix_agent_tasks_open_queue_due", AgentTask.queue, *_by_due),
    _open_index("ix_agent_tasks_open_queue_score", AgentTask.queue, *_by_score),
    _open_index("ix_agent_tasks_open_due", *_by_due),
    _open_index("ix_agent_tasks_open_score", *_by_score),
    _open_index("ix_agent_tasks_reserved_due", AgentTask.assigned_agent, *_by_due, reserved=True),
    _open_index("ix_agent_tasks_reserved_score", AgentTask.assigned_agent, *_by_score, reserved=True),
)


class OutcomeRecord(Base):
    """An outcome recorded by an agent (or by the system without a task, hence the nullable `task_id`)."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("agent_tasks.id"), index=True)
    code: Mapped[str] = mapped_column(String)
    # Whether the agent spoke with the debtor, as the interpreter counted it (a strategy's own codes
    # say so in their declaration). None in rows written before custom codes: their built-in code
    # says it (`spoke_with_debtor`).
    right_party_contact: Mapped[bool | None]
    agent: Mapped[str | None] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


def spoke_with_debtor() -> ColumnElement[bool]:
    """SQL: whether an outcome row was a right-party contact (see `right_party_contact`)."""
    by_code = OutcomeRecord.code.not_in(sorted(str(code) for code in NOT_A_CONVERSATION))
    return func.coalesce(OutcomeRecord.right_party_contact, by_code)


class AgentNote(Base):
    """A free-text note an agent left on an account (not an outcome: it changes nothing)."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    author: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
