"""Request and response bodies of the supervisors' endpoints: account lists and details, steering
(pause, resume, close), task reassignment, approval decisions, strategy moves and refunds of
overpayments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.pagination import Page
from api.schemas.agents import NOTE_MAX, Request, TaskPublic, Text, TimelineEntry
from domain.events import REFERENCE_MAX
from workflows.contracts import AccountView

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
DpdBucket = Literal["current", "1-29", "30-59", "60-89", "90+"]


class AccountSummary(BaseModel):
    """One row of the supervisors' list: the account and its read-model projection (null fields
    until the account's workflow has taken its first turn)."""

    id: int
    campaign_id: str
    external_id: str
    workflow_id: str
    currency: str
    balance: int
    original_amount: int
    due_date: date
    days_past_due: int = Field(
        description="Days from the due date the account's strategy counts from (the oldest unpaid due "
        "for a second-edition strategy, else `due_date`; `due_date` until the account's first turn) "
        "to today in the debtor's time zone."
    )
    dpd_bucket: DpdBucket
    launched_at: datetime | None
    stage: str | None = None
    step: str | None = None
    segment: str | None = None
    variant: str | None = None
    strategy_hash: str | None = None
    paid_total: int | None = None
    overpaid: int | None = Field(
        default=None,
        description="Minor units of `currency` paid beyond what the account owed: a refund or credit the creditor "
        "owes the debtor (`balance` is then 0).",
    )
    fees_total: int | None = Field(
        default=None, description="Minor units of `currency`: the fees the campaign charged so far (in `balance`)."
    )
    interest_total: int | None = Field(
        default=None,
        description="Minor units of `currency`: the interest the campaign charged so far (in `balance`).",
    )
    hold: str | None = None
    resolution: str | None = None
    next_action: str | None = None
    next_action_at: datetime | None = None
    promise_amount: int | None = None
    promise_due: date | None = None
    plan_summary: str | None = None
    assigned_agent: str | None = None
    contacts: int | None = None
    updated_at: datetime | None = None


class ContactPointPublic(BaseModel):
    channel: str
    address: str
    valid: bool
    invalid_reason: str | None
    consent: bool
    opted_out_at: datetime | None


class DebtorPublic(BaseModel):
    id: int
    external_id: str
    name: str
    country: str
    timezone: str
    locale: str
    contact_points: list[ContactPointPublic]


class AccountDetail(BaseModel):
    """One account in full: database facts, the live state from its workflow, open tasks and the
    timeline. `live` is null when the workflow is not running (`live_status` says why); a closed
    account's workflow still answers with its final state."""

    account: AccountSummary
    debtor: DebtorPublic
    live: AccountView | None
    live_status: Literal["running", "closed", "not_launched", "not_running", "unavailable"]
    tasks: list[TaskPublic]
    timeline: list[TimelineEntry]


class SteeringIn(Request):
    reason: Annotated[Text, Field(max_length=NOTE_MAX)] = ""


class CloseIn(Request):
    reason: Annotated[Text, Field(min_length=1, max_length=NOTE_MAX)]


class SteeringAccepted(BaseModel):
    """The signal was delivered; the workflow applies it in order with everything else it receives."""

    account_id: int
    workflow_id: str
    action: Literal["pause", "resume", "close"]
    note_id: int = Field(description="The note recording who did it and why, shown in the timeline.")


class RefundIn(Request):
    """A refund (money back) or credit (to another debt) of what the debtor paid beyond what was
    owed. Recording the same `reference` again with the same facts is harmless."""

    amount: Annotated[int, Field(gt=0, le=10**15, description="Minor units of `currency`; at most `overpaid`.")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="Must be the account's currency.")]
    kind: Literal["refund", "credit"] = "refund"
    reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=REFERENCE_MAX,
            pattern=r"^[^\x00-\x1f]+$",
            description="The bank's or provider's reference of the refund or credit; it identifies it.",
        ),
    ]


class RefundRecorded(BaseModel):
    """The refund or credit as recorded and what the creditor still owes back after it."""

    account_id: int
    amount: int
    currency: str
    kind: Literal["refund", "credit"]
    reference: str
    overpaid: int = Field(description="Minor units still owed back to the debtor after this refund.")
    created: bool = Field(description="False when the reference was already recorded: nothing changed.")


class ReassignIn(Request):
    """Give the task to `agent` (null: to nobody) and/or move it to `queue`; at least one of them."""

    agent: Name | None = None
    queue: Name | None = None


class ApprovalDecisionIn(Request):
    approved: bool


class ApprovalPublic(BaseModel):
    """A step or legal referral that waits for (or got) a supervisor's decision."""

    id: int
    account_id: int
    campaign_id: str
    external_id: str
    subject: Literal["step", "legal"] = Field(description="A step of the strategy, or a legal referral.")
    step: str
    status: Literal["pending", "approved", "rejected", "withdrawn"] = Field(
        description="withdrawn: the account stopped waiting for it undecided (closed, paid, disputed, moved on)."
    )
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    balance: int = Field(description="Minor units of `currency`, as of the account's last turn.")
    currency: str


class StrategyMoveIn(Request):
    strategy_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="A published version's hash.")
    step: Name | None = Field(default=None, description="Where to continue; by default the step of the same name.")


class AccountPage(Page[AccountSummary]):
    """A page of accounts."""


class ApprovalPage(Page[ApprovalPublic]):
    """A page of approvals."""
