"""Supervisors steering one account, for every door (API, console): pause, resume and close (each
leaving a note with who and why, since the workflow keeps those events in its history only),
reassigning a task, deciding what waits for approval, and moving the account to another
published strategy version. The checks that refuse a step (already paused, closed, unknown
agent...) live here, once.

Calls to the account's workflow go through the API's Temporal gateway (api/temporal.py), which
turns Temporal's own refusals into 409s and an unreachable Temporal into a 503.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session
from temporalio.client import WorkflowQueryFailedError

from api.errors import ProblemError
from api.temporal import TemporalGateway, fresh, update_account
from db.models import Account
from db.repositories import accounts, tasks
from domain import events as ev
from domain.strategy import CompiledStrategy
from services.errors import Conflict, Field, Invalid, NotFound
from workflows.contracts import AccountView, AssignAgent, ChangeStrategy

Action = Literal["pause", "resume", "close"]
LABELS = {"pause": "Paused", "resume": "Resumed", "close": "Closed"}


@dataclass(frozen=True)
class Steered:
    """The signal was delivered; `note_id` is the note that records who did it and why."""

    account_id: int
    workflow_id: str
    action: Action
    note_id: int


def running(temporal: TemporalGateway, account: Account) -> AccountView:
    """The live state of an account that can still be steered; Conflict otherwise."""
    try:
        view = temporal.query_state(account.workflow_id)
    except WorkflowQueryFailedError:
        raise Conflict(f"Account {account.id}'s workflow has not taken its first turn yet; retry.") from None
    if view is None:
        raise Conflict(f"Account {account.id}'s workflow is not running (not launched yet, or closed).")
    if view.resolution is not None:
        raise Conflict(f"Account {account.id} is closed ({view.resolution}).")
    return view


def _steer(
    session: Session, temporal: TemporalGateway, account: Account, who: str, action: Action, note: str
) -> Steered:
    account_id, workflow_id = account.id, account.workflow_id
    signal = {"pause": ev.Pause(), "resume": ev.Resume(), "close": ev.Close(reason=note)}[action]
    fresh(session)  # the workflow's turn writes the read model while this request writes its note
    temporal.signal(workflow_id, action, signal)
    label = LABELS[action]
    written = accounts.add_note(session, account_id, who, f"{label}: {note}" if note else f"{label}.")
    return Steered(account_id=account_id, workflow_id=workflow_id, action=action, note_id=written.id)


def pause(session: Session, temporal: TemporalGateway, account: Account, who: str, reason: str) -> Steered:
    """Stop contacting the account until it is resumed; Conflict when on hold already or closed."""
    view = running(temporal, account)
    if view.hold == "paused":
        raise Conflict(f"Account {account.id} is already paused.")
    if view.hold == "dispute":
        raise Conflict(f"Account {account.id} is on hold for a dispute; resolve the dispute instead.")
    return _steer(session, temporal, account, who, "pause", reason)


def resume(session: Session, temporal: TemporalGateway, account: Account, who: str, reason: str) -> Steered:
    """Continue a paused account (or retry one held after an interpreter failure)."""
    view = running(temporal, account)
    if view.hold not in ("paused", "error"):
        raise Conflict(f"Account {account.id} is not paused.")
    return _steer(session, temporal, account, who, "resume", reason)


def close(session: Session, temporal: TemporalGateway, account: Account, who: str, reason: str) -> Steered:
    """End the account's workflow (resolution closed_by_supervisor), saying why."""
    running(temporal, account)
    return _steer(session, temporal, account, who, "close", reason)


def reassign(
    session: Session,
    temporal: TemporalGateway,
    row: tasks.TaskRow,
    by: str,
    *,
    agent: str | None,
    queue: str | None,
    given: set[str],
) -> None:
    """Give an open or claimed task to `agent` (None: release it to its queue) and/or move it to
    `queue`; `given` names which of the two the caller set. The account's agent follows."""
    task = row.task
    if not given or (given == {"queue"} and queue is None):
        raise Invalid("Name an agent, a queue or both.", fields=[Field("/body", "agent or queue")])
    if task.status not in tasks.ACTIVE:
        raise Conflict(f"Task {task.id} is {task.status}; only open or claimed tasks can be reassigned.")
    if agent is not None and not tasks.agent_exists(session, agent):
        raise Invalid(
            f"No agent is called {agent}.", fields=[Field("/body/agent", "not the subject of a live agent key")]
        )
    move_agent = "agent" in given
    tasks.reassign(session, task, agent=agent, queue=queue, move_agent=move_agent)
    if move_agent:
        accounts.set_assigned_agent(session, task.account_id, agent)
        # The workflow writes its agent into the read model on every turn: tell it, or the next
        # turn would put the previous agent back. A closed account has no workflow to tell.
        with contextlib.suppress(ProblemError):
            temporal.signal(task.workflow_id, "assign_agent", AssignAgent(agent=agent, by=by))


def decide_approval(
    session: Session, temporal: TemporalGateway, account: Account, by: str, *, approved: bool
) -> AccountView:
    """Decide the step or legal referral the account waits on; the workflow refuses (409) when
    nothing waits."""
    decision = ev.ApprovalDecision(approved=approved, by=by)
    return update_account(session, temporal, account.workflow_id, "decide_approval", decision)


def move_strategy(
    session: Session, temporal: TemporalGateway, account: Account, by: str, *, strategy_hash: str, step: str | None
) -> AccountView:
    """Continue the account under a published version, at `step` or at the step of the same name."""
    version = accounts.strategy_version(session, strategy_hash)
    if version is None:
        raise NotFound(f"No strategy version with hash {strategy_hash} is published.")
    strategy = CompiledStrategy.model_validate(version.compiled_json)
    if strategy.currency != account.currency:
        raise Conflict(
            f"Strategy {strategy.id} works in {strategy.currency}; account {account.id} is in {account.currency}."
        )
    account_id = account.id
    change = ChangeStrategy(strategy=strategy, step=step, by=by, published=True)
    view = update_account(session, temporal, account.workflow_id, "change_strategy", change)
    accounts.add_note(
        session, account_id, by, f"Moved to strategy {strategy.id} version {strategy.hash[:12]} at step {view.step}."
    )
    return view
