"""Who may see which account and task, for every door (API, console): agents see tasks assigned
to them or in one of their queues, and accounts assigned to them or whose latest task is in one of
their queues; supervisors and admins see everything. What a caller may not see is NotFound,
exactly as what does not exist, so no door reveals what is in other queues."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from db.models import Account
from db.repositories import accounts, tasks
from services.errors import NotFound


class Caller(Protocol):
    """The parts of a principal (api/auth.py) that decide what it sees."""

    @property
    def subject(self) -> str: ...
    @property
    def queues(self) -> tuple[str, ...]: ...
    @property
    def is_agent(self) -> bool: ...


def who_of(caller: Caller) -> tasks.Who | None:
    """The agent as the queue sees them; None for supervisors and admins, who see everything."""
    return tasks.Who(caller.subject, caller.queues) if caller.is_agent else None


def account_for(session: Session, caller: Caller, account_id: int) -> Account:
    """The account, if it exists and the caller may see it; NotFound otherwise."""
    account = accounts.get(session, account_id)
    who = who_of(caller)
    if account is None or (who is not None and not accounts.agent_may_see(session, account_id, who)):
        raise NotFound(f"Account {account_id} does not exist or is not one of yours.")
    return account


def task_for(session: Session, caller: Caller, task_id: int) -> tasks.TaskRow:
    """The task, if it exists and the caller may see it; NotFound otherwise."""
    found = tasks.get(session, task_id)
    who = who_of(caller)
    if found is None or (
        who is not None and found.task.assigned_agent != who.subject and found.task.queue not in who.queues
    ):
        raise NotFound(f"Task {task_id} does not exist or is not in your queues.")
    return found
