"""The supervisors' endpoints: account lists (from the database's read model, never by asking
every workflow), one account in full (with its workflow's live state), and steering: pause,
resume, close, reassign tasks, decide approvals, move accounts to another strategy version, and
record a refund or credit of what an account was paid beyond what it owed.

Agents may read the list and an account's page, limited to their own accounts (see
api/routers/agents.py for what "their own" means); steering is for supervisors and admins.
Pause, resume, close and strategy moves leave a note with who did it and why, since the workflow
keeps those events in its history only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.deps import AgentOrSupervisor, IdempotencyKeyHeader, NowDep, SessionDep, Supervisor, TemporalDep
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.routers.agents import AccountId, TaskId, task_public, timeline_entries
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
    RefundIn,
    RefundRecorded,
    SteeringAccepted,
    SteeringIn,
    StrategyMoveIn,
)
from api.temporal import fresh
from db.models import Account
from db.models import AccountState as AccountStateRow
from db.repositories import accounts, approvals, tasks
from domain.types import Stage
from services import accounts_view, refunds, steering
from services.access import account_for, task_for, who_of
from workflows.contracts import AccountView

router = APIRouter(tags=["supervisors"])

FilterQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
StageQuery = Annotated[Stage | None, Query(description="outreach, contact, commitment, payment, legal, hold, closed")]


def summary(account: Account, row: AccountStateRow | None, now: datetime) -> AccountSummary:
    """A list row: the account's facts and, once it has run, its read-model projection."""
    days = accounts_view.days_past_due(account, row, now)
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
                "overpaid",
                "fees_total",
                "interest_total",
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
    overpaid: Annotated[
        bool, Query(description="Only accounts paid beyond what they owed: a refund or credit is due.")
    ] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> AccountPage:
    """Accounts by campaign, stage, segment, variant, agent (the read model's assigned agent),
    days-past-due bucket and overpayment, ordered by id and paginated with `next_cursor`. Agents
    see only their own accounts."""
    filters = accounts.AccountFilters(
        campaign_id=campaign_id,
        stage=str(stage) if stage is not None else None,
        segment=segment,
        variant=variant,
        agent=agent,
        dpd_bucket=dpd_bucket,
        overpaid=overpaid,
    )
    today = accounts_view.debtors_today(now)
    rows = accounts.listing(
        session, filters, today=today, who=who_of(principal), after=decode_cursor(cursor), limit=limit
    )
    return page_of(AccountPage, [summary(a, r, now) for a, r in rows], [a.id for a, _ in rows], limit)


@router.get("/accounts/{account_id}", summary="One account in full")
def get_account(
    account_id: AccountId, session: SessionDep, temporal: TemporalDep, principal: AgentOrSupervisor, now: NowDep
) -> AccountDetail:
    """The account's facts, debtor and contact points, its workflow's live state (`live`, null
    with `live_status` when it is not running), its open tasks and its timeline."""
    account = account_for(session, principal, account_id)
    live, live_status = temporal.live_state(account.workflow_id, launched=account.launched_at is not None)
    fresh(session)  # read the facts as of after the query, not as of before it
    account = account_for(session, principal, account_id)
    debtor = accounts.debtor(session, account.debtor_id)
    open_tasks = tasks.active_for_account(session, account.id)
    row = accounts.state(session, account.id)
    live = refunds.with_refunds(live, row)
    return AccountDetail(
        account=summary(account, row, now),
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


# ---- steering (the rules: services/steering.py) ------------------------------------------------------


def _accepted(done: steering.Steered) -> SteeringAccepted:
    return SteeringAccepted(
        account_id=done.account_id, workflow_id=done.workflow_id, action=done.action, note_id=done.note_id
    )


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
    return _accepted(steering.pause(session, temporal, account, principal.subject, body.reason if body else ""))


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
    return _accepted(steering.resume(session, temporal, account, principal.subject, body.reason if body else ""))


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
    return _accepted(steering.close(session, temporal, account, principal.subject, body.reason))


@router.post(
    "/accounts/{account_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    summary="Record a refund or credit of an overpayment (idempotent by reference)",
    responses={200: {"model": RefundRecorded, "description": "Already recorded: nothing changed."}},
)
def record_refund(
    account_id: AccountId,
    body: RefundIn,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Supervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RefundRecorded:
    """The creditor gave back `amount` of what the debtor paid beyond what the account owed: the
    account's `overpaid` goes down by it (open or closed account). 201 the first time, 200 when
    the reference was already recorded with the same facts; 404 no such account, 409 nothing is
    owed back (or the reference was recorded with other facts), 422 more than is owed back or
    another currency."""
    account = account_for(session, principal, account_id)
    done = refunds.record_refund(
        session,
        temporal,
        account,
        principal.subject,
        amount=body.amount,
        currency=body.currency,
        method=body.kind,
        reference=body.reference,
        now=now,
    )
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return RefundRecorded(
        account_id=done.account_id,
        amount=done.amount,
        currency=done.currency,
        kind=done.method,
        reference=done.reference,
        overpaid=done.remaining,
        created=done.created,
    )


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
    given = body.model_fields_set & {"agent", "queue"}
    steering.reassign(session, temporal, row, principal.subject, agent=body.agent, queue=body.queue, given=given)
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
    return steering.decide_approval(session, temporal, account, principal.subject, approved=body.approved)


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
    return steering.move_strategy(
        session, temporal, account, principal.subject, strategy_hash=body.strategy_hash, step=body.step
    )
