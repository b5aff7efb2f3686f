"""The agents' workspace: the next task with the parts of its score, claiming, one account's
facts, live state and timeline with the forms an agent uses on a call (the outcome, a promise, a
plan, a note), and the list of the agent's open tasks.

The forms show the strategy's limits as the account's workflow reports them (AccountView.limits,
computed by the interpreter that enforces them) and post to the same services as the API
(services/agent_work.py): what the API or the workflow refuses is refused here with the same
reason, shown beside the form with the values kept. Visibility is the API's (services/access.py):
another queue's task or account is the API's 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import NowDep, SessionDep, TemporalDep
from api.errors import ProblemError
from api.pagination import decode_cursor, encode_cursor
from api.routers.agents import AccountId, TaskId
from api.temporal import TemporalGateway
from console.amounts import minor_of
from console.auth import Worker
from console.pages.supervisors import _account_context, _locales
from console.templating import language, render
from db.models import Account
from db.repositories import tasks
from db.repositories import timeline as history
from domain import events as ev
from domain.money import to_major
from domain.strategy import Frequency
from domain.terms import first_day_after
from domain.types import CUSTOM_OUTCOME_PATTERN, MAX_OUTCOME_CHARS, Outcome, OutcomeCode
from services import accounts_view
from services import agent_work as work
from services import next_task as queue_service
from services.access import account_for, task_for, who_of
from services.errors import Field, Invalid, ServiceError

router = APIRouter()

PAGE = 25
Text = Annotated[str, Form(max_length=40)]
NoteText = Annotated[str, Form(max_length=2000)]
QueueQuery = Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
DoneQuery = Annotated[str | None, Query(max_length=20)]
FREQUENCIES: tuple[Frequency, ...] = ("weekly", "biweekly", "monthly")


@dataclass(frozen=True)
class Refusal:
    """What a form was refused for, shown beside that form with the values it sent."""

    form: str  # outcome | promise | plan | note
    status: int
    detail: str
    values: dict[str, str]

    @staticmethod
    def of(form: str, values: dict[str, str]) -> Callable[[ServiceError | ProblemError], Refusal]:
        """How `form` shows a service's or the workflow's refusal: its status and detail."""

        def refusal(exc: ServiceError | ProblemError) -> Refusal:
            return Refusal(form, exc.status, exc.detail, values)

        return refusal


# ---- reading a form --------------------------------------------------------------------------------


def _day(text: str, pointer: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{text!r} is not a date.", fields=[Field(pointer, "a date like 2026-12-01")]) from None


def _count(text: str, pointer: str) -> int:
    if not text.strip().isdigit():
        raise Invalid(f"{text!r} is not a number of installments.", fields=[Field(pointer, "a whole number")])
    return int(text.strip())


def _frequency(text: str) -> Frequency:
    for known in FREQUENCIES:
        if text == known:
            return known
    raise Invalid(f"{text!r} is not a frequency.", fields=[Field("/body/frequency", ", ".join(FREQUENCIES))])


def _promise(amount: str, due: str, currency: str, base: str) -> work.Priced[ev.PromiseTerms]:
    terms = ev.PromiseTerms(amount=minor_of(amount, currency, f"{base}/amount"), due=_day(due, f"{base}/due"))
    return work.Priced(terms, currency)


def _plan(
    installments: str, down_payment: str, frequency: str, first_due: str, currency: str, base: str
) -> work.Priced[ev.PlanTerms]:
    down = minor_of(down_payment, currency, f"{base}/down_payment") if down_payment.strip() not in ("", "0") else 0
    terms = ev.PlanTerms(
        installments=_count(installments, f"{base}/installments"),
        down_payment=down,
        frequency=_frequency(frequency),
        first_due=_day(first_due, f"{base}/first_due"),
    )
    return work.Priced(terms, currency)


def _basis_points(value: int) -> str:
    """Basis points as the ratio fmt.percent reads (2500 -> "0.25")."""
    return str(Decimal(value) / 10_000)


# ---- the workspace ---------------------------------------------------------------------------------


@router.get("/work")
def workspace(
    request: Request,
    session: SessionDep,
    principal: Worker,
    now: NowDep,
    queue: QueueQuery = "",
    done: DoneQuery = None,
) -> Response:
    """The task to work next (GET /agent/tasks/next), with why it comes first, and the agent's
    own claimed tasks."""
    found = queue_service.next_task(session, who_of(principal), queue=queue or None, now=now)
    holder = tasks.Who(principal.subject, ())  # only the tasks held by the signed-in person
    mine = tasks.list_active(session, holder, queue=None, status="claimed", after=None, limit=PAGE)[:PAGE]
    shown = ([found.row] if found is not None else []) + mine
    context = {
        "next": found,
        "mine": mine,
        "queue": queue,
        "done": done,
        "locales": _locales(session, {r.campaign_id for r in shown}),
        "bp": _basis_points,
    }
    return render(request, "agents/workspace.html", context, current="work")


@router.post("/work/next")
def claim_next(
    session: SessionDep, principal: Worker, now: NowDep, queue: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Take the next task in one step (POST /agent/tasks/next/claim) and open it."""
    found = queue_service.claim_next(session, who_of(principal), principal.subject, queue=queue or None, now=now)
    if found is None:
        return RedirectResponse("/console/work?done=nothing", status_code=303)
    return RedirectResponse(f"/console/tasks/{found.row.task.id}?done=claimed", status_code=303)


@router.get("/tasks")
def task_list(
    request: Request,
    session: SessionDep,
    principal: Worker,
    status: Annotated[str, Query(pattern=r"^(open|claimed)?$")] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """GET /agent/tasks: open tasks in the agent's queues and the tasks assigned to them, by id."""
    rows = tasks.list_active(
        session, who_of(principal), queue=None, status=status or None, after=decode_cursor(cursor), limit=PAGE
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    query = {"status": status} if status else {}
    context = {
        "rows": rows,
        "locales": _locales(session, {r.campaign_id for r in rows}),
        "status": status,
        "query": query,
        "next_query": {**query, "cursor": encode_cursor(rows[-1].task.id)} if more else None,
    }
    return render(request, "agents/tasks.html", context, current="tasks")


@router.post("/tasks/{task_id}/claim")
def claim(task_id: TaskId, session: SessionDep, principal: Worker, now: NowDep) -> Response:
    """POST /agent/tasks/{id}/claim: the task becomes the agent's."""
    work.claim(session, principal, task_for(session, principal, task_id), now)
    return RedirectResponse(f"/console/tasks/{task_id}?done=claimed", status_code=303)


def _page(
    request: Request,
    session: Session,
    temporal: TemporalGateway,
    principal: Principal,
    now: datetime,
    *,
    account_id: int,
    task: tasks.TaskRow | None,
    done: str | None = None,
    refusal: Refusal | None = None,
) -> Response:
    """One account as an agent works it (with `task`: the task's outcome form too)."""
    context, formats = _account_context(request, session, temporal, principal, account_id)
    account = context["account"]
    live = context["live"]
    limits = live.limits if live is not None and live.resolution is None else None
    today = work.debtor_today(account, now)
    context.update(
        {
            "task": task,
            "open_tasks": tasks.active_for_account(session, account.id),
            "days_past_due": accounts_view.days_past_due(account, context["row"], now),
            "timeline": history.timeline(session, account.id),
            "limits": limits,
            "earliest": first_day_after(today),
            "latest": limits.promise.latest(today) if limits is not None and limits.promise is not None else None,
            "major": lambda minor: to_major(minor, account.currency),
            "amount_step": _minor_unit(account.currency),
            "outcomes": [str(o) for o in Outcome],
            # The task's codes the strategy declares itself, in the strategist's words for this language.
            "outcome_labels": {o.code: o.label(language(request)) for o in (task.custom_outcomes if task else ())},
            "done": done,
            "refusal": refusal,
            "values": refusal.values if refusal is not None else {},
        }
    )
    status = refusal.status if refusal is not None else 200
    return render(request, "agents/account.html", context, current="work", formats=formats, status_code=status)


def _minor_unit(currency: str) -> str:
    """The amount inputs' step: one minor unit of the currency, in major units."""
    return str(to_major(1, currency))


@router.get("/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    done: DoneQuery = None,
) -> Response:
    row = task_for(session, principal, task_id)
    return _page(request, session, temporal, principal, now, account_id=row.task.account_id, task=row, done=done)


@router.get("/work/accounts/{account_id}")
def account_page(
    request: Request,
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    done: DoneQuery = None,
) -> Response:
    account_for(session, principal, account_id)  # the API's 404 before anything else is read
    return _page(request, session, temporal, principal, now, account_id=account_id, task=None, done=done)


@router.post("/tasks/{task_id}/outcome")
def record_outcome(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    code: Annotated[str, Form(max_length=MAX_OUTCOME_CHARS)],
    note: NoteText = "",
    promise_amount: Text = "",
    promise_due: Text = "",
    plan_installments: Text = "",
    plan_down_payment: Text = "",
    plan_frequency: Text = "",
    plan_first_due: Text = "",
) -> Response:
    """POST /agent/tasks/{id}/outcome: the promise's or the plan's fields are read only with the
    code that needs them (the form shows both)."""
    row = task_for(session, principal, task_id)
    account_id, currency = row.task.account_id, row.currency
    values = {
        "code": code,
        "note": note,
        "promise_amount": promise_amount,
        "promise_due": promise_due,
        "plan_installments": plan_installments,
        "plan_down_payment": plan_down_payment,
        "plan_frequency": plan_frequency,
        "plan_first_due": plan_first_due,
    }

    def act() -> None:
        if not re.fullmatch(CUSTOM_OUTCOME_PATTERN, code):
            raise Invalid(f"{code!r} is not an outcome.", fields=[Field("/body/code", "an outcome code")])
        outcome: OutcomeCode = Outcome(code) if code in work.BUILT_IN else code  # else the strategy's own
        promise = (
            _promise(promise_amount, promise_due, currency, "/body/promise")
            if outcome == Outcome.PROMISE_TO_PAY
            else None
        )
        plan = (
            _plan(plan_installments, plan_down_payment, plan_frequency, plan_first_due, currency, "/body/plan")
            if outcome == Outcome.PAYMENT_PLAN
            else None
        )
        work.record_outcome(
            session, temporal, principal, row, code=outcome, note=note.strip(), promise=promise, plan=plan, now=now
        )

    refused = _attempt(session, act, Refusal.of("outcome", values))
    if refused is not None:
        row = task_for(session, principal, task_id)
        return _page(request, session, temporal, principal, now, account_id=account_id, task=row, refusal=refused)
    return RedirectResponse(f"/console/work/accounts/{account_id}?done=outcome", status_code=303)


def _attempt(
    session: Session, act: Callable[[], None], refusal: Callable[[ServiceError | ProblemError], Refusal]
) -> Refusal | None:
    """Run `act`; what the API or the workflow refuses comes back as the refusal to show (the
    request's transaction rolled back), anything else is raised."""
    try:
        act()
    except (ServiceError, ProblemError) as exc:
        session.rollback()
        return refusal(exc)
    return None


def _account_action(
    request: Request,
    session: Session,
    temporal: TemporalGateway,
    principal: Principal,
    now: datetime,
    account_id: int,
    form: str,
    values: dict[str, str],
    act: Callable[[Account], None],
) -> Response:
    """Run `act(account)` on a visible account: back to its page with `done=form`, or the page
    again with the refusal beside the form."""
    account = account_for(session, principal, account_id)
    refused = _attempt(session, lambda: act(account), Refusal.of(form, values))
    if refused is not None:
        return _page(request, session, temporal, principal, now, account_id=account_id, task=None, refusal=refused)
    return RedirectResponse(f"/console/work/accounts/{account_id}?done={form}", status_code=303)


@router.post("/work/accounts/{account_id}/promise")
def record_promise(
    request: Request,
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    amount: Text,
    due: Text,
) -> Response:
    """POST /accounts/{id}/promises."""

    def act(account: Account) -> None:
        priced = _promise(amount, due, account.currency, "/body")
        work.record_promise(session, temporal, account, priced.terms, priced.currency, now)

    values = {"amount": amount, "due": due}
    return _account_action(request, session, temporal, principal, now, account_id, "promise", values, act)


@router.post("/work/accounts/{account_id}/plan")
def agree_plan(
    request: Request,
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    installments: Text,
    first_due: Text,
    frequency: Text = "monthly",
    down_payment: Text = "",
) -> Response:
    """POST /accounts/{id}/plans."""

    def act(account: Account) -> None:
        priced = _plan(installments, down_payment, frequency, first_due, account.currency, "/body")
        work.agree_plan(session, temporal, account, priced.terms, priced.currency, now)

    values = {
        "installments": installments,
        "down_payment": down_payment,
        "frequency": frequency,
        "first_due": first_due,
    }
    return _account_action(request, session, temporal, principal, now, account_id, "plan", values, act)


@router.post("/work/accounts/{account_id}/note")
def add_note(
    request: Request,
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    text: NoteText = "",
) -> Response:
    """POST /accounts/{id}/notes."""

    def act(account: Account) -> None:
        work.add_note(session, account, principal.subject, text)

    return _account_action(request, session, temporal, principal, now, account_id, "note", {"text": text}, act)
