"""Events that move an account: timers, agent outcomes, money, consent, message events, steering.

Each is a frozen model with a `kind` discriminator so it travels as JSON (Temporal signals and
updates, scripted simulator events, API payloads).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen
from domain.strategy import Frequency
from domain.types import Channel, OutcomeCode


class Tick(Frozen):
    """A timer fired: the interpreter looks at what is due at `now`."""

    kind: Literal["tick"] = "tick"


class PromiseTerms(Frozen):
    amount: int = Field(gt=0)
    due: date


class PlanTerms(Frozen):
    installments: int = Field(ge=1)
    down_payment: int = Field(ge=0)
    frequency: Frequency = "monthly"
    first_due: date


class AgentOutcome(Frozen):
    kind: Literal["agent_outcome"] = "agent_outcome"
    code: OutcomeCode
    task_seq: int | None = None
    promise: PromiseTerms | None = None
    plan: PlanTerms | None = None
    agent: str = ""
    note: str = ""


class PaymentReceived(Frozen):
    kind: Literal["payment"] = "payment"
    payment_id: str = Field(min_length=1)
    amount: int = Field(gt=0)
    currency: str


class PaymentsChecked(Frozen):
    """Result of a `check_payment` action: payments found in the ledger (already-counted ones are
    ignored by id)."""

    kind: Literal["payments_checked"] = "payments_checked"
    payments: tuple[PaymentReceived, ...] = ()


class PromiseMade(Frozen):
    kind: Literal["promise"] = "promise"
    terms: PromiseTerms


class PlanAgreed(Frozen):
    kind: Literal["plan"] = "plan"
    terms: PlanTerms


class OptOut(Frozen):
    """`channel=None` means every channel (a cease-communication request)."""

    kind: Literal["opt_out"] = "opt_out"
    channel: Channel | None = None


class OptIn(Frozen):
    kind: Literal["opt_in"] = "opt_in"
    channel: Channel


MessageEventKind = Literal["delivered", "opened", "clicked", "bounced", "failed", "replied"]


class MessageEvent(Frozen):
    kind: Literal["message_event"] = "message_event"
    channel: Channel
    event: MessageEventKind
    seq: int | None = None


class SendBlocked(Frozen):
    """The send activity's second policy check (against the communications log, right before
    sending) refused a message the interpreter had planned: it was never sent. The interpreter
    forgets the contact it had counted and logs the block."""

    kind: Literal["send_blocked"] = "send_blocked"
    seq: int
    channel: Channel
    rule: str
    reason: str


class DisputeOpened(Frozen):
    kind: Literal["dispute_opened"] = "dispute_opened"
    reason: str = ""


class DisputeResolved(Frozen):
    """`upheld=True`: the debtor was right and the debt is written off."""

    kind: Literal["dispute_resolved"] = "dispute_resolved"
    upheld: bool = False


class Pause(Frozen):
    kind: Literal["pause"] = "pause"


class Resume(Frozen):
    kind: Literal["resume"] = "resume"


class Close(Frozen):
    kind: Literal["close"] = "close"
    reason: str = ""


class ApprovalDecision(Frozen):
    kind: Literal["approval"] = "approval"
    approved: bool
    by: str = ""


REFERENCE_MAX = 120  # characters of a refund's bank or provider reference


class RefundRecorded(Frozen):
    """The creditor gave back `amount` of what the debtor paid beyond what was owed, as money
    (`refund`) or as credit on another debt (`credit`). `reference` (the bank's or provider's)
    identifies it: recording the same reference twice counts it once. Taken on closed accounts
    too: an account that was paid in full is exactly the one that is owed money back."""

    kind: Literal["refund"] = "refund"
    amount: int = Field(gt=0)
    method: Literal["refund", "credit"] = "refund"
    reference: str = Field(min_length=1, max_length=REFERENCE_MAX)
    by: str = ""


Event = Annotated[
    Tick
    | AgentOutcome
    | PaymentReceived
    | PaymentsChecked
    | PromiseMade
    | PlanAgreed
    | OptOut
    | OptIn
    | MessageEvent
    | SendBlocked
    | DisputeOpened
    | DisputeResolved
    | Pause
    | Resume
    | Close
    | ApprovalDecision
    | RefundRecorded,
    Field(discriminator="kind"),
]
