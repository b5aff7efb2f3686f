"""What agents do, for every door (API, console): claim a task, answer it with an outcome (with
the promise or plan terms it needs), record a promise or agree a plan outside a call, and leave a
note. The checks that refuse a request before the workflow sees it (a task someone else holds,
terms in the wrong currency, a date that is not after the debtor's today or is years away) live
here, once; the strategy's own limits are the workflow's (domain/interpreter.terms_limits), which
refuses what exceeds them with its reason (409 through the Temporal gateway).

Callers check visibility first (services/access.py): these functions take the task or account the
caller may see. Field pointers name the API's request bodies (`/body/promise/due`); the console's
forms use the same field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from api.schemas.dates import years_from
from api.temporal import TemporalGateway, update_account
from db.models import Account, AgentNote
from db.repositories import accounts, tasks
from domain import events as ev
from domain.terms import first_day_after
from domain.types import Outcome, OutcomeCode
from services.access import Caller
from services.errors import Conflict, Field, Invalid
from workflows.contracts import AccountView

BUILT_IN = frozenset(o.value for o in Outcome)
# How far ahead a promise or a plan's first installment may be: beyond it, a date is a typo.
MAX_YEARS_AHEAD = 10
T = TypeVar("T", ev.PromiseTerms, ev.PlanTerms)


@dataclass(frozen=True)
class Priced(Generic[T]):
    """Terms as a person gives them: a promise or plan, in the currency they name."""

    terms: T
    currency: str


@dataclass(frozen=True)
class Answered:
    """The task after the outcome, and the account's live state."""

    task: tasks.TaskRow
    account: AccountView


def debtor_zone(name: object) -> ZoneInfo:
    """The zone an account's snapshot names (its `timezone`); UTC when it names none we know."""
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ValueError, ZoneInfoNotFoundError):  # imports validate zones; an old row may not have
        return ZoneInfo("UTC")


def debtor_today(account: Account, now: datetime) -> date:
    """Today in the debtor's zone (the account's snapshot), where promise dates and days past due
    are counted."""
    return now.astimezone(debtor_zone(account.snapshot_json.get("timezone"))).date()


def claim(session: Session, caller: Caller, row: tasks.TaskRow, now: datetime) -> tasks.TaskRow:
    """Take an open task for the caller. Claiming one's own claimed task again changes nothing;
    a task someone else holds, or that is finished, is a Conflict."""
    task = row.task
    task_id = task.id
    if task.status == "claimed" and task.assigned_agent == caller.subject:
        return row
    if task.status not in tasks.ACTIVE:
        raise Conflict(f"Task {task_id} is {task.status}; only open tasks can be claimed.")
    if task.assigned_agent not in (None, caller.subject):
        held = "claimed by" if task.status == "claimed" else "reserved for"
        raise Conflict(f"Task {task_id} is {held} {task.assigned_agent}.")
    if not tasks.claim(session, task_id, caller.subject, now):
        raise Conflict(f"Task {task_id} was just taken by someone else.")
    session.refresh(task)
    return row


def record_outcome(
    session: Session,
    temporal: TemporalGateway,
    caller: Caller,
    row: tasks.TaskRow,
    *,
    code: OutcomeCode,
    note: str,
    promise: Priced[ev.PromiseTerms] | None,
    plan: Priced[ev.PlanTerms] | None,
    now: datetime,
) -> Answered:
    """Answer the task with `code` and the promise or plan it needs; the workflow moves on and
    closes the task (or refuses, saying why)."""
    task = row.task
    task_id, workflow_id = task.id, task.workflow_id
    if task.status not in tasks.ACTIVE:
        raise Conflict(f"Task {task_id} is {task.status}; the account no longer waits for it.")
    if caller.is_agent and task.assigned_agent not in (None, caller.subject):
        raise Conflict(f"Task {task_id} is held by {task.assigned_agent}.")
    account = accounts.get(session, task.account_id)
    assert account is not None, "agent_tasks.account_id is a foreign key"
    errors = _code_errors(code, task.allowed_outcomes)
    errors += _outcome_terms_errors(code, promise is not None, plan is not None)
    if promise is not None:
        errors += _currency_errors(promise.currency, account.currency, "/body/promise/currency")
    if plan is not None:
        errors += _currency_errors(plan.currency, account.currency, "/body/plan/currency")
    if promise is not None:
        errors += _date_errors(promise.terms.due, account, "/body/promise/due", now)
    if plan is not None:
        errors += _date_errors(plan.terms.first_due, account, "/body/plan/first_due", now)
    _refuse(errors)
    outcome = ev.AgentOutcome(
        code=code,
        task_seq=task.seq,
        agent=caller.subject,
        note=note,
        promise=promise.terms if promise is not None else None,
        plan=plan.terms if plan is not None else None,
    )
    view = update_account(session, temporal, workflow_id, "record_outcome", outcome)
    after = tasks.get(session, task_id)
    assert after is not None, "tasks are never deleted"
    return Answered(task=after, account=view)


def record_promise(
    session: Session, temporal: TemporalGateway, account: Account, terms: ev.PromiseTerms, currency: str, now: datetime
) -> AccountView:
    """A promise made outside a call's outcome (e.g. by email), within the strategy's limits."""
    _refuse(
        _currency_errors(currency, account.currency, "/body/currency")
        + _date_errors(terms.due, account, "/body/due", now)
    )
    return update_account(session, temporal, account.workflow_id, "record_promise", ev.PromiseMade(terms=terms))


def agree_plan(
    session: Session, temporal: TemporalGateway, account: Account, terms: ev.PlanTerms, currency: str, now: datetime
) -> AccountView:
    """A plan within the strategy's (or the current offer's) limits."""
    _refuse(
        _currency_errors(currency, account.currency, "/body/currency")
        + _date_errors(terms.first_due, account, "/body/first_due", now)
    )
    return update_account(session, temporal, account.workflow_id, "agree_plan", ev.PlanAgreed(terms=terms))


def add_note(session: Session, account: Account, author: str, text: str) -> AgentNote:
    """Free text for the next person who works the account; the workflow is not told."""
    if not text.strip():
        raise Invalid("The note is blank.", fields=[Field("/body/text", "write something")])
    return accounts.add_note(session, account.id, author, text)


def _code_errors(code: OutcomeCode, allowed: list[str]) -> list[Field]:
    """A code that is neither built in nor one the task offers is a typo, not a routing question
    for the workflow (which answers a built-in code the step does not allow with its reason)."""
    if code in BUILT_IN or code in allowed:
        return []
    return [Field("/body/code", f"unknown outcome {code}; this task allows: {', '.join(allowed)}")]


def _outcome_terms_errors(code: OutcomeCode, promise: bool, plan: bool) -> list[Field]:
    errors = []
    if code == Outcome.PROMISE_TO_PAY and not promise:
        errors.append(Field("/body/promise", "promise_to_pay needs the promise's terms"))
    if code != Outcome.PROMISE_TO_PAY and promise:
        errors.append(Field("/body/promise", "a promise goes only with code promise_to_pay"))
    if code == Outcome.PAYMENT_PLAN and not plan:
        errors.append(Field("/body/plan", "payment_plan needs the plan's terms"))
    if code != Outcome.PAYMENT_PLAN and plan:
        errors.append(Field("/body/plan", "a plan goes only with code payment_plan"))
    return errors


def _currency_errors(given: str, expected: str, pointer: str) -> list[Field]:
    return [] if given == expected else [Field(pointer, f"the account is in {expected}, not {given}")]


def _date_errors(day: date, account: Account, pointer: str, now: datetime) -> list[Field]:
    """A date that is not after the debtor's today, or years away, is refused here; the workflow
    checks the strategy's own limits (how far ahead) with its own clock."""
    today = debtor_today(account, now)
    if day < first_day_after(today):
        return [Field(pointer, f"{day.isoformat()} is not after today ({today.isoformat()})")]
    latest = years_from(today, MAX_YEARS_AHEAD)
    if day > latest:
        detail = (
            f"{day.isoformat()} is more than {MAX_YEARS_AHEAD} years after today ({today.isoformat()}): "
            f"promise and plan dates must be on or before {latest.isoformat()}"
        )
        return [Field(pointer, detail)]
    return []


def _refuse(errors: list[Field]) -> None:
    if errors:
        raise Invalid("; ".join(e.detail for e in errors), fields=errors)
