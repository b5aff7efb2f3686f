"""Request and response bodies of the agents' endpoints: tasks and their priority, outcomes,
promises, plans, notes, disputes and an account's timeline.

Request bodies are strict (`false` is not 0, `"5"` is not 5) and refuse unknown fields; dates and
enums are read from their JSON strings. Money is an integer of minor units plus an ISO 4217 code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page
from api.schemas.dates import Day
from domain.types import CUSTOM_OUTCOME_PATTERN, MAX_OUTCOME_CHARS, Outcome
from workflows.contracts import AccountView

# Text that goes into the database: PostgreSQL refuses NUL characters in text, so they are
# refused here with a clear message instead.
_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=_NO_NUL)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. CLP", examples=["CLP"])]
MinorUnits = Annotated[int, Field(gt=0, le=10**15, description="Amount in minor units of the currency.")]
NOTE_MAX = 2000


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PromiseIn(Request):
    """A promise to pay `amount` by `due` (a date after today in the debtor's zone, and no later
    than the strategy allows)."""

    amount: MinorUnits
    currency: Currency
    due: Day


class PlanIn(Request):
    """A payment plan: an optional down payment on `first_due`, then `installments` equal
    installments every `frequency` (the last one absorbs the rounding)."""

    installments: int = Field(ge=1, le=120)
    down_payment: int = Field(default=0, ge=0, le=10**15, description="Minor units; 0 for none.")
    currency: Currency
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"
    first_due: Day


# domain.types.OutcomeCode, with the enum read from its JSON string (the body is strict).
CodeIn = Annotated[
    Annotated[Outcome, Field(strict=False)]
    | Annotated[str, Field(pattern=CUSTOM_OUTCOME_PATTERN, max_length=MAX_OUTCOME_CHARS)],
    Field(union_mode="left_to_right", description="A built-in outcome code, or one the strategy declares."),
]


class OutcomeIn(Request):
    """What came of the call: one of the task's `allowed_outcomes`, built-in or declared by the
    strategy. `promise` goes with `promise_to_pay` and `plan` with `payment_plan`, and only with
    them."""

    code: CodeIn
    note: Annotated[Text, Field(max_length=NOTE_MAX)] = ""
    promise: PromiseIn | None = None
    plan: PlanIn | None = None


class NoteIn(Request):
    text: Annotated[Text, Field(min_length=1, max_length=NOTE_MAX)]


class DisputeIn(Request):
    reason: Annotated[Text, Field(max_length=NOTE_MAX)] = ""


class DisputeResolveIn(Request):
    upheld: bool = Field(description="True: the debtor was right and the debt is written off.")


class ScoreParts(BaseModel):
    """Why a task comes where it does (the formula is in GET /agent/tasks/next's description)."""

    score: int = Field(description="expected_recovery x contact_likelihood_bp / 10000, in minor units")
    expected_recovery: int = Field(description="balance x recovery_propensity_bp / 10000, in minor units")
    balance: int
    currency: str
    recovery_propensity_bp: int = Field(description="(promises kept + 1) / (kept + broken + 2), basis points")
    contact_likelihood_bp: int = Field(description="(contacts + 1) / (call outcomes + 2), basis points")
    due_soon: bool = Field(description="Due within the urgency window (or overdue): served before any score.")


class CustomOutcomePublic(BaseModel):
    """An outcome code the account's strategy declares itself (not one of the built-in codes)."""

    code: str
    labels: dict[str, str] = Field(description="locale -> what the agent's screen shows")
    right_party_contact: bool = Field(description="Whether recording it counts as a conversation with the debtor.")


class TaskPublic(BaseModel):
    id: int
    account_id: int
    campaign_id: str
    external_id: str
    workflow_id: str
    seq: int
    step: str
    queue: str
    attempt: int
    allowed_outcomes: list[str]
    custom_outcomes: list[CustomOutcomePublic] = Field(
        description="Those of allowed_outcomes the strategy declares itself, with their labels."
    )
    status: str
    assigned_agent: str | None
    due_at: datetime
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    balance: int
    currency: str


class NextTask(TaskPublic):
    score: ScoreParts


class NotePublic(BaseModel):
    id: int
    account_id: int
    author: str
    text: str
    created_at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(
        description="communication, message_event, task, outcome, promise, promise_settled, plan, payment, fee, "
        "interest, note, approval_requested, approval_decided, legal_referral or notification (a webhook to the "
        "creditor's systems, with the receiver's answer)"
    )
    who: str | None = Field(description="The agent, supervisor or provider behind it; `system` for the strategy.")
    summary: str
    details: dict[str, Any]


class Timeline(BaseModel):
    account_id: int
    entries: list[TimelineEntry]


class OutcomeResult(BaseModel):
    """The task as it stands after the outcome, and the account's live state."""

    task: TaskPublic
    account: AccountView


class TaskPage(Page[TaskPublic]):
    """A page of tasks."""
