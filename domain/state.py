"""An account's live state between two events. The interpreter never mutates a state it was
given: it works on a shallow copy and replaces (never edits) nested values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.account import AccountSnapshot
from domain.frozen import Frozen, added
from domain.policy import ContactRecord
from domain.strategy import Frequency
from domain.types import Channel, Resolution, Stage

# How much contact history the state keeps: the longest policy window is a rolling 7 days or a
# calendar week; 35 days leaves room for monthly rules without letting the state grow forever.
CONTACT_HISTORY_DAYS = 35
BLOCKED_KEPT = 20


class Promise(Frozen):
    amount: int
    due: date
    made_at: datetime
    paid_before: int  # paid_total when the promise was made
    deadline: datetime  # due + grace, end of that local day, in UTC


class Installment(Frozen):
    due: date
    amount: int
    deadline: datetime
    settled: bool = False
    missed: bool = False


class Plan(Frozen):
    installments: tuple[Installment, ...]
    frequency: Frequency
    paid_before: int
    missed: int = 0


class Offer(Frozen):
    kind: Literal["plan", "settlement"]
    terms: dict[str, str]
    amount_due: int | None = None  # settlement: paying this much closes the account
    expires_at: datetime | None = None
    paid_before: int = 0


class Waiting(Frozen):
    """What the account waits for. `until` is when the interpreter must be woken (a timer)."""

    kind: Literal["timer", "policy", "agent", "approval", "payment_check"]
    until: datetime | None = None
    task_seq: int | None = None
    attempt: int = 1


class BlockedContact(Frozen):
    at: datetime
    step: str
    channel: Channel
    rule: str
    reason: str
    moved_to: datetime | None = None


class Counters(Frozen):
    payments: int = 0
    promises: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    contacts: int = 0
    right_party_contacts: int = 0
    agent_attempts: int = 0
    opened: int = 0
    clicked: int = 0


class AccountState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: AccountSnapshot
    segment: str
    variant: str | None = None
    stage: Stage
    step: str
    pc: int = 0
    entered: bool = False  # fees and approval of the current step handled
    step_started_at: datetime
    last_action_at: datetime
    waiting: Waiting | None = None
    hold: Literal["dispute", "paused", "error"] | None = None
    hold_reason: str | None = None  # why a supervisor must look: set with hold="error"
    # When the current pause or dispute began: on release, the strategy's `catch_up` tells what the
    # contacts that fell due since then do. None when not held (and in states saved before it).
    held_since: datetime | None = None
    resolution: Resolution | None = None
    balance: int  # what the debtor owes; a payment never takes it below zero
    paid_total: int = 0  # every payment received, in full (an overpayment included)
    # Paid beyond what was owed (the balance, or a settlement's amount): the creditor owes it back
    # as a refund or a credit. Added after states were carried by running workflows (0 in theirs).
    overpaid: int = added(0)
    # Refunds and credits of overpayments the creditor recorded (RefundRecorded): their total and
    # references (a reference recorded again counts once). Added later, like `overpaid`.
    refunded: int = added(0)
    refund_refs: tuple[str, ...] = added(())
    fees_total: int = 0
    # Interest (domain/interest.py). The defaults are a state from before interest existed, or
    # under a strategy without it: nothing accrued, nothing charged, counting not begun.
    interest_total: int = 0  # charged to the balance, whole minor units
    interest_accrued: int = 0  # exact, in millionths of a minor unit (domain.interest.MICRO)
    interest_start: date | None = None  # local day counting began (monthly anniversaries count from it)
    interest_counted: date | None = None  # local day counted up to (exclusive)
    payment_ids: tuple[str, ...] = ()
    counters: Counters = Counters()
    promise: Promise | None = None
    promise_date: date | None = None
    plan: Plan | None = None
    offer: Offer | None = None
    opted_out: tuple[Channel, ...] = ()
    invalid: tuple[Channel, ...] = ()
    contacts: tuple[ContactRecord, ...] = ()
    blocked: tuple[BlockedContact, ...] = ()
    fees_applied: tuple[str, ...] = ()
    approved_pc: int | None = None  # action index a supervisor approved; -1 = the step itself
    task_attempt: int = 0
    seq: int = 0

    def __setattr__(self, name: str, value: Any) -> None:
        # The interpreter moves the state's fields at every step of a million simulated accounts:
        # a field is stored as pydantic's own assignment stores it for a model without
        # `validate_assignment` (asserted below), without its generic dispatch.
        if name in _STATE_FIELDS:
            self.__dict__[name] = value
            self.__pydantic_fields_set__.add(name)
        else:
            super().__setattr__(name, value)

    def set_fields(self, **values: Any) -> None:
        """Set several fields at once, stored as `__setattr__` stores each (the interpreter moves
        eight of them at every change of step)."""
        if not values.keys() <= _STATE_FIELDS:
            raise AttributeError(f"AccountState has no fields {sorted(values.keys() - _STATE_FIELDS)}")
        self.__dict__.update(values)
        self.__pydantic_fields_set__.update(values)

    @property
    def closed(self) -> bool:
        return self.resolution is not None

    @property
    def balance_due(self) -> int:
        """The balance as people read it: never below zero."""
        return max(self.balance, 0)

    @property
    def refund_due(self) -> int:
        """What the creditor owes back (a refund or credit): the overpayments, and what a state
        carried from before they were kept apart holds as a negative balance."""
        return self.overpaid + max(-self.balance, 0)

    def wake_at(self) -> datetime | None:
        """The next moment a timer must wake the interpreter, or None if only events can."""
        if self.resolution is not None or self.hold:
            return None
        waiting = self.waiting
        if self.promise is None and self.plan is None and self.offer is None:
            return waiting.until if waiting is not None else None  # the usual turn: only a wait
        times = [t for t in (waiting.until if waiting else None,) if t is not None]
        if self.promise is not None:
            times.append(self.promise.deadline)
        if self.plan is not None:
            times.extend(i.deadline for i in self.plan.installments if not (i.settled or i.missed))
        if self.offer is not None and self.offer.expires_at is not None:
            times.append(self.offer.expires_at)
        return min(times) if times else None


_STATE_FIELDS = frozenset(AccountState.model_fields)
assert not AccountState.model_config.get("validate_assignment"), "AccountState.__setattr__ stores without validating"
