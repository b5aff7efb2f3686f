"""Agent tasks: a call the strategy hands to a person, queued until an agent records an outcome
(through the workflow's `record_outcome` update; the turn record then closes the task). A task
is queued with its score (services/task_priority.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.lookups import account_by_workflow, id_by_key
from db.models import AgentTask
from db.session import session_scope
from services import task_priority
from workflows.contracts import AgentTaskInput


class AgentTaskActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="create_agent_task", no_thread_cancel_exception=True)
    def create_agent_task(self, input: AgentTaskInput) -> int:
        """Queue the task once per key; return its id."""
        with session_scope(self._sessions) as session:
            found = id_by_key(session, AgentTask, input.key)
            if found is not None:
                return found
            account = account_by_workflow(session, input.workflow_id)
            task_priority.hold_debtor(session, account.debtor_id)
            task = input.task
            row = AgentTask(
                key=input.key,
                account_id=account.id,
                workflow_id=input.workflow_id,
                seq=task.seq,
                step=task.step,
                queue=task.queue,
                attempt=task.attempt,
                allowed_outcomes=[str(o) for o in task.outcomes],
                priority=input.priority,
                due_at=task.due_at,
                created_at=input.at,
            )
            session.add(row)
            session.flush()
            task_priority.rescore_debtor(session, account.debtor_id)
            return row.id
