"""Work for human agents: the task queue and the outcomes agents record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models._checks import one_of

AGENT_TASK_STATUSES = ("open", "claimed", "done", "expired", "cancelled")


class AgentTask(Base):
    """A task created by a workflow step (e.g. a call); `key` is its idempotency key."""

    __tablename__ = "agent_tasks"
    __table_args__ = (CheckConstraint(one_of("status", AGENT_TASK_STATUSES), name="status"),)

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
    assigned_agent: Mapped[str | None] = mapped_column(String, index=True)
    priority: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class OutcomeRecord(Base):
    """An outcome recorded by an agent (or by the system without a task, hence the nullable `task_id`)."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("agent_tasks.id"), index=True)
    code: Mapped[str] = mapped_column(String)
    agent: Mapped[str | None] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentNote(Base):
    """A free-text note an agent left on an account (not an outcome: it changes nothing)."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    author: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
