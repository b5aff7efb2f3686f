"""The supervisors' endpoints: account lists (from the database's read model, never by asking
every workflow), one account in full (with its workflow's live state), and steering: pause,
resume, close, reassign tasks, decide approvals, move accounts to another strategy version.

Agents may read the list and an account's page, limited to their own accounts (see
api/routers/agents.py for what "their own" means); steering is for supervisors and admins.
Pause, resume, close and strategy moves leave a note with who did it and why, since the workflow
keeps those events in its history only.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from temporalio.client import WorkflowQueryFailedError

from api.deps import AgentOrSupervisor, IdempotencyKeyHeader, NowDep, SessionDep, Supervisor, TemporalDep
from api.errors import ProblemError, ProblemItem
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.routers.agents import (
    AccountId,
    TaskId,
    account_for,
    task_for,
    task_public,
    timeline_entries,
    who_of,
)
from api.schemas.agents import TaskPublic
from api.schemas.supervisors import (
    AccountDetail,
    AccountPage,
    AccountSummary,
    ApprovalDecisionIn,
    ApprovalPage,
    ApprovalPublic,
    CloseIn,
    ContactPointPublic,
    DebtorPublic,
    DpdBucket,
    ReassignIn,
    SteeringAccepted,
    SteeringIn,
    StrategyMoveIn,
)
from api.temporal import TemporalGateway, fresh, update_account
from db.models import Account
from db.models import AccountState as AccountStateRow
from db.repositories import accounts, approvals, tasks
from domain import events as ev
from domain.strategy import CompiledStrategy
from domain.types import Stage
from workflows.contracts import AccountView, AssignAgent, ChangeStrategy

router = APIRouter(tags=["supervisors"])

FilterQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
StageQuery = Annotated[Stage | None, Query(description="outreach, contact, commitment, payment, legal, hold, closed")]


def summary(account: Account, row: AccountStateRow | None, today: date) -> AccountSummary:
    """A list row: the account's facts and, once it has run, its read-model projection."""
    days = (today - account.due_date).days
    projected = {}
    if row is not None:
        projected = {
            name: getattr(row, name)
            for name in (
                "stage",
                "step",
                "segment",
                "variant",
                "strategy_hash",
                "paid_total",
                "hold",
                "resolution",
                "next_action",
                "next_action_at",
                "promise_amount",
                "promise_due",
                "plan_summary",
                "assigned_agent",
                "contacts",
                "updated_at",
            )
        }
    return AccountSummary(
        id=account.id,
        campaign_id=account.campaign_id,
        external_id=account.external_id,
        workflow_id=account.workflow_id,
        currency=account.currency,
        balance=row.balance if row is not None else account.balance,
        original_amount=account.original_amount,
        due_date=account.due_date,
        days_past_due=days,
        dpd_bucket=accounts.dpd_bucket(days),
        launched_at=account.launched_at,
        **projected,
    )


@router.get("/accounts", summary="List accounts")
def list_accounts(
    session: SessionDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    campaign_id: FilterQuery = None,
    stage: StageQuery = None,
    segment: FilterQuery = None,
    variant: FilterQuery = None,
    agent: FilterQuery = None,
    dpd_bucket: Annotated[
        DpdBucket | None, Query(description="Days past due: current (not late), 1-29, 30-59, 60-89 or 90+.")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> AccountPage:
    """Accounts by campaign, stage, segment, variant, agent (the read model's assigned agent) and
    days-past-due bucket, ordered by id and paginated with `next_cursor`. Agents see only their
    own accounts."""
    filters = accounts.AccountFilters(
        campaign_id=campaign_id,
        stage=str(stage) if stage is not None else None,
        segment=segment,
        variant=variant,
        agent=agent,
        dpd_bucket=dpd_bucket,
    )
    today = now.date()
    rows = accounts.listing(
        session, filters, today=today, who=who_of(principal), after=decode_cursor(cursor), limit=limit
    )
    return page_of(AccountPage, [summary(a, r, today) for a, r in rows], [a.id for a, _ in rows], limit)


def _live(temporal: TemporalGateway, account: Account) -> tuple[AccountView | None, str]:
    """The workflow's live state and why it is missing when it is."""
    try:
        view = temporal.query_state(account.workflow_id)
    except WorkflowQueryFailedError:  # started, but its first turn has not run yet
        return None, "not_running"
    except ProblemError as exc:
        if exc.status == 503:
            return None, "unavailable"
        raise
    if view is not None:  # a finished workflow still answers with its final state
        return view, "running" if view.resolution is None else "closed"
    return None, "not_launched" if account.launched_at is None else "not_running"


@router.get("/accounts/{account_id}", summary="One account in full")
def get_account(
    account_id: AccountId, session: SessionDep, temporal: TemporalDep, principal: AgentOrSupervisor, now: NowDep
) -> AccountDetail:
    """The account's facts, debtor and contact points, its workflow's live state (`live`, null
    with `live_status` when it is not running), its open tasks and its timeline."""
    account = account_for(session, principal, account_id)
    live, live_status = _live(temporal, account)
    fresh(session)  # read the facts as of after the query, not as of before it
    account = account_for(session, principal, account_id)
    debtor = accounts.debtor(session, account.debtor_id)
    open_tasks = tasks.active_for_account(session, account.id)
    return AccountDetail(
        account=summary(account, accounts.state(session, account.id), now.date()),
        debtor=DebtorPublic(
            id=debtor.id,
            external_id=debtor.external_id,
            name=debtor.name,
            country=debtor.country,
            timezone=debtor.timezone,
            locale=debtor.locale,
            contact_points=[
                ContactPointPublic(
                    channel=p.channel,
                    address=p.address,
                    valid=p.valid,
                    invalid_reason=p.invalid_reason,
                    consent=p.consent,
                    opted_out_at=p.opted_out_at,
                )
                for p in debtor.contact_points
            ],
        ),
        live=live,
        live_status=live_status,
        tasks=[task_public(r) for r in open_tasks],
        timeline=timeline_entries(session, account.id),
    )


# ---- steering ------------------------------------------------------------------------------------------


def _running(temporal: TemporalGateway, account: Account) -> AccountView:
    """The live state of an account that can still be steered; 409 otherwise."""
    try:
        view = temporal.query_state(account.workflow_id)
    except WorkflowQueryFailedError:
        raise ProblemError(409, f"Account {account.id}'s workflow has not taken its first turn yet; retry.") from None
    if view is None:
        raise ProblemError(409, f"Account {account.id}'s workflow is not running (not launched yet, or closed).")
    if view.resolution is not None:
        raise ProblemError(409, f"Account {account.id} is closed ({view.resolution}).")
    return view


def _steer(
    session: Session,
    temporal: TemporalGateway,
    account: Account,
    who: str,
    action: Literal["pause", "resume", "close"],
    note: str,
) -> SteeringAccepted:
    account_id, workflow_id = account.id, account.workflow_id
    signal = {"pause": ev.Pause(), "resume": ev.Resume(), "close": ev.Close(reason=note)}[action]
    fresh(session)  # the workflow's turn writes the read model while this request writes its note
    temporal.signal(workflow_id, action, signal)
    label = {"pause": "Paused", "resume": "Resumed", "close": "Closed"}[action]
    written = accounts.add_note(session, account_id, who, f"{label}: {note}" if note else f"{label}.")
    return SteeringAccepted(account_id=account_id, workflow_id=workflow_id, action=action, note_id=written.id)


@router.post("/accounts/{account_id}/pause", status_code=202, summary="Pause an account")
def pause_account(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    body: SteeringIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> SteeringAccepted:
    """Stop contacting the account until it is resumed (timers, promises and plans wait too).
    409 when it is already on hold or closed."""
    account = account_for(session, principal, account_id)
    view = _running(temporal, account)
    if view.hold == "paused":
        raise ProblemError(409, f"Account {account_id} is already paused.")
    if view.hold == "dispute":
        raise ProblemError(409, f"Account {account_id} is on hold for a dispute; resolve the dispute instead.")
    return _steer(session, temporal, account, principal.subject, "pause", body.reason if body else "")


@router.post("/accounts/{account_id}/resume", status_code=202, summary="Resume a paused account")
def resume_account(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    body: SteeringIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> SteeringAccepted:
    """Continue where the account was paused, or retry one held after an interpreter failure.
    409 when it is neither."""
    account = account_for(session, principal, account_id)
    view = _running(temporal, account)
    if view.hold not in ("paused", "error"):
        raise ProblemError(409, f"Account {account_id} is not paused.")
    return _steer(session, temporal, account, principal.subject, "resume", body.reason if body else "")


@router.post("/accounts/{account_id}/close", status_code=202, summary="Close an account")
def close_account(
    account_id: AccountId,
    body: CloseIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> SteeringAccepted:
    """End the account's workflow (resolution closed_by_supervisor), saying why. 409 when it is
    already closed."""
    account = account_for(session, principal, account_id)
    _running(temporal, account)
    return _steer(session, temporal, account, principal.subject, "close", body.reason)


@router.post("/tasks/{task_id}/reassign", summary="Reassign a task")
def reassign_task(
    task_id: TaskId,
    body: ReassignIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TaskPublic:
    """Give an open or claimed task to another agent (`agent`, or null to release it to its
    queue) and/or move it to another `queue`. The task is open again, for its new holder to claim;
    the account's agent in the read model follows."""
    row = task_for(session, principal, task_id)
    task = row.task
    given = body.model_fields_set & {"agent", "queue"}
    if not given or (given == {"queue"} and body.queue is None):
        raise ProblemError(
            422, "Name an agent, a queue or both.", errors=[ProblemItem(pointer="/body", detail="agent or queue")]
        )
    if task.status not in tasks.ACTIVE:
        raise ProblemError(409, f"Task {task_id} is {task.status}; only open or claimed tasks can be reassigned.")
    if body.agent is not None and not tasks.agent_exists(session, body.agent):
        raise ProblemError(
            422,
            f"No agent is called {body.agent}.",
            errors=[ProblemItem(pointer="/body/agent", detail="not the subject of a live agent key")],
        )
    move_agent = "agent" in given
    tasks.reassign(session, task, agent=body.agent, queue=body.queue, move_agent=move_agent)
    if move_agent:
        accounts.set_assigned_agent(session, task.account_id, body.agent)
        # The workflow writes its agent into the read model on every turn: tell it, or the next
        # turn would put the previous agent back. A closed account has no workflow to tell.
        with contextlib.suppress(ProblemError):
            temporal.signal(task.workflow_id, "assign_agent", AssignAgent(agent=body.agent, by=principal.subject))
    return task_public(row)


@router.get("/approvals", summary="List approvals")
def list_approvals(
    session: SessionDep,
    _: Supervisor,
    status: Annotated[
        Literal["pending", "approved", "rejected", "withdrawn"] | None,
        Query(description="Only approvals in this status (pending: what waits for a decision)."),
    ] = None,
    campaign_id: FilterQuery = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> ApprovalPage:
    """Steps and legal referrals that wait for a supervisor (`status=pending`) or were decided,
    ordered by id and paginated with `next_cursor`. Decide one with
    POST /accounts/{account_id}/approvals/decision."""
    rows = approvals.listing(session, status=status, campaign_id=campaign_id, after=decode_cursor(cursor), limit=limit)
    items = [
        ApprovalPublic(
            id=r.approval.id,
            account_id=r.approval.account_id,
            campaign_id=r.campaign_id,
            external_id=r.external_id,
            subject=r.approval.subject,
            step=r.approval.step,
            status=r.approval.status,
            requested_at=r.approval.requested_at,
            decided_at=r.approval.decided_at,
            decided_by=r.approval.decided_by,
            balance=r.balance,
            currency=r.currency,
        )
        for r in rows
    ]
    return page_of(ApprovalPage, items, [r.approval.id for r in rows], limit)


@router.post("/accounts/{account_id}/approvals/decision", summary="Approve or reject what waits for approval")
def decide_approval(
    account_id: AccountId,
    body: ApprovalDecisionIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """Decide the step or legal referral the account waits on; 409 when nothing waits."""
    account = account_for(session, principal, account_id)
    decision = ev.ApprovalDecision(approved=body.approved, by=principal.subject)
    return update_account(session, temporal, account.workflow_id, "decide_approval", decision)


@router.post("/accounts/{account_id}/strategy", summary="Move an account to another strategy version")
def move_strategy(
    account_id: AccountId,
    body: StrategyMoveIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """Continue the account under a published version (by hash), at `step` or at the step of the
    same name. Promises, plans, counters and contact history carry over. 404 for an unknown
    version; 409 when the account cannot move there (closed, no such step, another currency)."""
    account = account_for(session, principal, account_id)
    version = accounts.strategy_version(session, body.strategy_hash)
    if version is None:
        raise ProblemError(404, f"No strategy version with hash {body.strategy_hash} is published.")
    strategy = CompiledStrategy.model_validate(version.compiled_json)
    if strategy.currency != account.currency:
        raise ProblemError(
            409, f"Strategy {strategy.id} works in {strategy.currency}; account {account_id} is in {account.currency}."
        )
    change = ChangeStrategy(strategy=strategy, step=body.step, by=principal.subject, published=True)
    view = update_account(session, temporal, account.workflow_id, "change_strategy", change)
    accounts.add_note(
        session,
        account_id,
        principal.subject,
        f"Moved to strategy {strategy.id} version {strategy.hash[:12]} at step {view.step}.",
    )
    return view
