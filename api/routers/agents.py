"""The agents' endpoints: the next task and the task list, claiming, recording outcomes, promises,
plans, notes and disputes, and an account's timeline.

Who may act: agents on tasks assigned to them or in one of their queues, and on accounts assigned
to them or whose latest task is in one of their queues (so the team that called an account can
still resolve its dispute or read its timeline afterwards); supervisors and admins on any
(services/access.py). A task or account an agent may not see answers 404, exactly as one that
does not exist, so the API does not reveal what is in other queues. A task they may see but
someone else holds answers 409.

The next task (GET /agent/tasks/next, and POST /agent/tasks/next/claim to take it in one step)
comes by due time, then by score = expected recovery x likelihood of contact: the formula and
how the stored scores stay current are in services/task_priority.py.

Workflow rejections (an outcome the step does not allow, a promise too far ahead, nothing to
resolve...) come back as 409 with the workflow's reason; malformed input is 422 with a pointer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api.deps import AgentOrSupervisor, IdempotencyKeyHeader, NowDep, SessionDep, TemporalDep
from api.errors import ProblemError
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas.agents import (
    CustomOutcomePublic,
    DisputeIn,
    DisputeResolveIn,
    NextTask,
    NoteIn,
    NotePublic,
    OutcomeIn,
    OutcomeResult,
    PlanIn,
    PromiseIn,
    ScoreParts,
    TaskPage,
    TaskPublic,
    Timeline,
    TimelineEntry,
)
from api.temporal import update_account
from db.repositories import accounts, tasks
from db.repositories import timeline as history
from domain import events as ev
from services import agent_work as work
from services import next_task as queue_service
from services.access import account_for, task_for, who_of
from workflows.contracts import AccountView

router = APIRouter(tags=["agents"])

TaskId = Annotated[int, Path(ge=1, le=tasks.MAX_ID, description="The task's id.")]
AccountId = Annotated[int, Path(ge=1, le=tasks.MAX_ID, description="The account's id.")]
QueueQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


# ---- presenting ------------------------------------------------------------------------------------


def task_public(row: tasks.TaskRow) -> TaskPublic:
    t = row.task
    return TaskPublic(
        id=t.id,
        account_id=t.account_id,
        campaign_id=row.campaign_id,
        external_id=row.external_id,
        workflow_id=t.workflow_id,
        seq=t.seq,
        step=t.step,
        queue=t.queue,
        attempt=t.attempt,
        allowed_outcomes=list(t.allowed_outcomes),
        custom_outcomes=[
            CustomOutcomePublic(code=o.code, labels=dict(o.labels), right_party_contact=o.right_party_contact)
            for o in row.custom_outcomes
        ],
        status=t.status,
        assigned_agent=t.assigned_agent,
        due_at=t.due_at,
        created_at=t.created_at,
        claimed_at=t.claimed_at,
        completed_at=t.completed_at,
        balance=row.balance,
        currency=row.currency,
    )


def timeline_entries(session: Session, account_id: int) -> list[TimelineEntry]:
    return [
        TimelineEntry(at=e.at, kind=e.kind, who=e.who, summary=e.summary, details=e.details)
        for e in history.timeline(session, account_id)
    ]


def next_public(ranked: queue_service.Ranked) -> NextTask:
    parts = ranked.priority
    return NextTask(
        **task_public(ranked.row).model_dump(),
        score=ScoreParts(
            score=parts.score,
            expected_recovery=parts.expected_recovery,
            balance=ranked.balance,
            currency=ranked.row.currency,
            recovery_propensity_bp=parts.recovery_propensity_bp,
            contact_likelihood_bp=parts.contact_likelihood_bp,
            due_soon=ranked.due_soon,
        ),
    )


# ---- tasks -----------------------------------------------------------------------------------------


@router.get(
    "/agent/tasks/next",
    response_model=NextTask,
    summary="The task to work next",
    responses={204: {"description": "No open task is waiting in your queues."}},
)
def next_task(
    session: SessionDep, principal: AgentOrSupervisor, now: NowDep, queue: QueueQuery = None
) -> NextTask | Response:
    """The open task to work next from your queues (supervisors: from any queue, or `queue`),
    ordered by due time and then by score = expected recovery x likelihood of contact; `score`
    shows the parts. 204 when nothing is waiting. The task is not claimed: claim it next, or use
    POST /agent/tasks/next/claim."""
    found = queue_service.next_task(session, who_of(principal), queue=queue, now=now)
    return next_public(found) if found is not None else Response(status_code=204)


@router.post(
    "/agent/tasks/next/claim",
    summary="Claim the task to work next",
    responses={404: {"description": "No open task is waiting in your queues."}},
)
def claim_next_task(
    session: SessionDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    queue: QueueQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NextTask:
    """Take the task GET /agent/tasks/next would answer, in one step: it becomes yours (claimed).
    Agents claiming at the same time each get a different task. 404 when nothing is waiting."""
    found = queue_service.claim_next(session, who_of(principal), principal.subject, queue=queue, now=now)
    if found is None:
        raise ProblemError(404, "No open task is waiting in your queues.")
    return next_public(found)


@router.get("/agent/tasks", summary="Your open and claimed tasks")
def list_tasks(
    session: SessionDep,
    principal: AgentOrSupervisor,
    queue: QueueQuery = None,
    status: Annotated[str | None, Query(pattern=r"^(open|claimed)$", description="open or claimed")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> TaskPage:
    """Agents: open tasks in your queues and tasks assigned to you. Supervisors: every open and
    claimed task. Ordered by id, paginated with `next_cursor`."""
    rows = tasks.list_active(
        session, who_of(principal), queue=queue, status=status, after=decode_cursor(cursor), limit=limit
    )
    return page_of(TaskPage, [task_public(r) for r in rows], [r.task.id for r in rows], limit)


@router.post("/agent/tasks/{task_id}/claim", summary="Claim a task")
def claim_task(
    task_id: TaskId,
    session: SessionDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TaskPublic:
    """Take an open task: it becomes yours (claimed). Claiming your own claimed task again is a
    no-op; a task someone else holds, or that is finished, is 409."""
    return task_public(work.claim(session, principal, task_for(session, principal, task_id), now))


@router.post("/agent/tasks/{task_id}/outcome", summary="Record what came of a call")
def record_outcome(
    task_id: TaskId,
    body: OutcomeIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> OutcomeResult:
    """Answer the task with an outcome code (one the step allows: see the task's
    `allowed_outcomes`), with the promise or plan terms it needs. The account's workflow moves on
    and closes the task; its reply is the account's new live state."""
    answered = work.record_outcome(
        session,
        temporal,
        principal,
        task_for(session, principal, task_id),
        code=body.code,
        note=body.note,
        promise=_priced_promise(body.promise),
        plan=_priced_plan(body.plan),
        now=now,
    )
    return OutcomeResult(task=task_public(answered.task), account=answered.account)


def _priced_promise(body: PromiseIn | None) -> work.Priced[ev.PromiseTerms] | None:
    if body is None:
        return None
    return work.Priced(ev.PromiseTerms(amount=body.amount, due=body.due), body.currency)


def _priced_plan(body: PlanIn | None) -> work.Priced[ev.PlanTerms] | None:
    if body is None:
        return None
    terms = ev.PlanTerms(
        installments=body.installments,
        down_payment=body.down_payment,
        frequency=body.frequency,
        first_due=body.first_due,
    )
    return work.Priced(terms, body.currency)


# ---- accounts ----------------------------------------------------------------------------------------


@router.post("/accounts/{account_id}/promises", summary="Record a promise to pay")
def record_promise(
    account_id: AccountId,
    body: PromiseIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """A promise made outside a call's outcome (e.g. by email). The strategy decides how far ahead
    it may be; the account waits for it and checks it when it falls due."""
    account = account_for(session, principal, account_id)
    terms = ev.PromiseTerms(amount=body.amount, due=body.due)
    return work.record_promise(session, temporal, account, terms, body.currency, now)


@router.post("/accounts/{account_id}/plans", summary="Agree a payment plan")
def agree_plan(
    account_id: AccountId,
    body: PlanIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: AgentOrSupervisor,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """A plan within the strategy's (or the current offer's) limits: number of installments,
    minimum down payment, frequencies."""
    account = account_for(session, principal, account_id)
    plan = _priced_plan(body)
    assert plan is not None
    return work.agree_plan(session, temporal, account, plan.terms, plan.currency, now)


@router.post("/accounts/{account_id}/notes", status_code=201, summary="Leave a note on an account")
def add_account_note(
    account_id: AccountId,
    body: NoteIn,
    session: SessionDep,
    principal: AgentOrSupervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NotePublic:
    """Free text for the next person who works the account; it changes nothing in the workflow."""
    account = account_for(session, principal, account_id)
    note = work.add_note(session, account, principal.subject, body.text)
    return NotePublic(id=note.id, account_id=account.id, author=note.author, text=note.text, created_at=note.created_at)


@router.get("/accounts/{account_id}/timeline", summary="An account's timeline")
def account_timeline(account_id: AccountId, session: SessionDep, principal: AgentOrSupervisor) -> Timeline:
    """Every communication, message event, task, outcome, promise, plan, payment, fee, note,
    approval and legal referral of the account, oldest first, each with who and when."""
    account = account_for(session, principal, account_id)
    return Timeline(account_id=account.id, entries=timeline_entries(session, account.id))


@router.post("/accounts/{account_id}/disputes", summary="Open a dispute")
def open_dispute(
    account_id: AccountId,
    body: DisputeIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: AgentOrSupervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """The debtor contests the debt: the account holds (no contact) until the dispute is resolved.
    The reason is kept as a note."""
    account = account_for(session, principal, account_id)
    opened = ev.DisputeOpened(reason=body.reason)
    view = update_account(session, temporal, account.workflow_id, "open_dispute", opened)
    accounts.add_note(session, account_id, principal.subject, f"Dispute opened: {body.reason or 'no reason given'}")
    return view


@router.post("/accounts/{account_id}/disputes/resolve", summary="Resolve the open dispute")
def resolve_dispute(
    account_id: AccountId,
    body: DisputeResolveIn,
    session: SessionDep,
    temporal: TemporalDep,
    principal: AgentOrSupervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountView:
    """`upheld: true` writes the debt off; `false` resumes collection. 409 when no dispute is open."""
    account = account_for(session, principal, account_id)
    resolved = ev.DisputeResolved(upheld=body.upheld)
    view = update_account(session, temporal, account.workflow_id, "resolve_dispute", resolved)
    verdict = "upheld (debt written off)" if body.upheld else "rejected (collection resumes)"
    accounts.add_note(session, account_id, principal.subject, f"Dispute {verdict}.")
    return view
