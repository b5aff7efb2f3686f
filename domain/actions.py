"""What the interpreter asks the outside world to do. Each side effect carries `seq`, the
account's action sequence number, from which the idempotency key is built."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen
from domain.types import Channel, Outcome, Resolution


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
    outcomes: tuple[Outcome, ...]


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


class ContactBlocked(Frozen):
    """A planned contact the policy moved to a later time (`moved_to`) or blocked for good."""

    kind: Literal["blocked"] = "blocked"
    step: str
    channel: Channel
    rule: str
    reason: str
    moved_to: datetime | None = None


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
    | ContactBlocked
    | AccountClosed,
    Field(discriminator="kind"),
]
