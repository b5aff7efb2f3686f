"""What the interpreter asks the outside world to do. Each side effect carries `seq`, the
account's action sequence number, from which the idempotency key is built.

Some actions only report what the interpreter decided (a promise kept or broken, a task that
expired unworked, an offer that expired): they ask for nothing, carry no `seq`, and the workflow
shell runs nothing for them; they reach the timelines through the turn record and the simulator."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen
from domain.types import Channel, OutcomeCode, Resolution


class SendMessage(Frozen):
    kind: Literal["send"] = "send"
    seq: int
    step: str
    channel: Channel
    template: str
    locale: str
    offer: dict[str, str] = Field(default_factory=dict)  # offer terms the template may show
    attach: str | None = None  # a template rendered as a PDF statement, on email and letters


class CreateAgentTask(Frozen):
    kind: Literal["agent_task"] = "agent_task"
    seq: int
    step: str
    queue: str
    due_at: datetime
    attempt: int
    outcomes: tuple[OutcomeCode, ...]


class CheckPayment(Frozen):
    kind: Literal["check_payment"] = "check_payment"
    seq: int
    step: str


class ApplyFee(Frozen):
    kind: Literal["fee"] = "fee"
    seq: int
    step: str
    amount: int
    requested: int  # before the legal cap
    rule: str | None = None  # cap rule that reduced it


class ChargeInterest(Frozen):
    """Interest that accrued since the last turn, charged to the balance (domain/interest.py):
    `amount` whole minor units, counted up to the local day `through` (exclusive)."""

    kind: Literal["interest"] = "interest"
    seq: int
    step: str
    amount: int
    through: date
    total: int  # interest charged to the account so far, this charge included


class RequestApproval(Frozen):
    kind: Literal["approval"] = "approval"
    seq: int
    step: str
    subject: Literal["step", "legal"]


class ReferToLegal(Frozen):
    kind: Literal["legal"] = "legal"
    seq: int
    step: str
    balance: int


class NotifyCreditor(Frozen):
    """A webhook to the creditor's systems (the campaign's notify URL), with the balance then."""

    kind: Literal["notify"] = "notify"
    seq: int
    step: str
    event: str
    data: dict[str, str | int | bool] = Field(default_factory=dict)
    balance: int


class ContactBlocked(Frozen):
    """A planned contact the policy moved to a later time (`moved_to`) or blocked for good."""

    kind: Literal["blocked"] = "blocked"
    step: str
    channel: Channel
    rule: str
    reason: str
    moved_to: datetime | None = None


class PromiseSettled(Frozen):
    """A promise ended: kept (paid as promised) or broken (its deadline passed unpaid)."""

    kind: Literal["promise_settled"] = "promise_settled"
    step: str  # the step the account was at when it ended
    kept: bool
    amount: int
    due: date


class TaskExpired(Frozen):
    """An agent task reached its due time with no outcome recorded."""

    kind: Literal["task_expired"] = "task_expired"
    step: str
    task_seq: int
    attempt: int


class OfferExpired(Frozen):
    """A plan or settlement offer's time ran out before it was taken."""

    kind: Literal["offer_expired"] = "offer_expired"
    step: str
    offer: Literal["plan", "settlement"]


class Overpaid(Frozen):
    """A payment exceeded what the account owed: `amount` of it is the debtor's, a refund or credit
    the creditor owes (`total`: all the account's overpayments so far, this one included)."""

    kind: Literal["overpaid"] = "overpaid"
    step: str
    payment_id: str
    amount: int
    total: int


class RefundRecorded(Frozen):
    """A refund or credit of an overpayment was recorded: `amount` given back by `method`,
    `remaining` still owed back after it (domain.state.AccountState.refund_due)."""

    kind: Literal["refund"] = "refund"
    step: str
    amount: int
    method: Literal["refund", "credit"]
    reference: str
    remaining: int


class AccountClosed(Frozen):
    kind: Literal["closed"] = "closed"
    resolution: Resolution


Action = Annotated[
    SendMessage
    | CreateAgentTask
    | CheckPayment
    | ApplyFee
    | ChargeInterest
    | RequestApproval
    | ReferToLegal
    | NotifyCreditor
    | ContactBlocked
    | PromiseSettled
    | TaskExpired
    | OfferExpired
    | Overpaid
    | RefundRecorded
    | AccountClosed,
    Field(discriminator="kind"),
]
