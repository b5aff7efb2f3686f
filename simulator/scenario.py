"""Scripted scenarios: one account and what happens to it on given days.

A scenario file (YAML) looks like:

    account: {balance: 150000, email: ana@example.com, phone: "+56912345678"}
    start: "2026-11-02 09:00"        # debtor's local time
    days: 120
    calls: [no_answer, {code: promise_to_pay, amount: 150000, in_days: 5}]
    approvals: approve               # or reject
    events:
      - {day: 3, at: "10:00", payment: 50000}
      - {day: 4, opt_out: sms}
      - {day: 5, message: bounced, channel: email}
      - {day: 6, dispute: open}
      - {day: 9, dispute: resolved}

`calls` are the outcomes agents record, one per agent task in order; once they run out, tasks
are left unworked. Days count from the start date; times are the debtor's local time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Channel, Outcome, OutcomeCode


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallDoc(_Doc):
    code: OutcomeCode  # built-in, or one the strategy declares
    amount: int | None = Field(default=None, gt=0, le=10**15)  # promise amount; default: the whole balance
    in_days: int = Field(default=7, ge=0, le=3650)  # promise date, or the plan's first due, this many days on
    installments: int = Field(default=3, ge=1, le=120)
    down_payment: int = Field(default=0, ge=0, le=10**15)
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"


class EventDoc(_Doc):
    day: int = Field(ge=0, le=3650)
    at: str = "12:00"
    payment: int | None = Field(default=None, gt=0)
    payment_id: str | None = None
    opt_out: Channel | Literal["all"] | None = None
    opt_in: Channel | None = None
    message: Literal["delivered", "opened", "clicked", "bounced", "failed", "replied"] | None = None
    channel: Channel | None = None
    dispute: Literal["open", "resolved", "upheld"] | None = None
    promise: CallDoc | None = None
    plan: CallDoc | None = None
    pause: bool | None = None
    resume: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EventDoc:
        kinds = [
            k
            for k in ("payment", "opt_out", "opt_in", "message", "dispute", "promise", "plan", "pause", "resume")
            if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "an event has exactly one of payment, opt_out, opt_in, message, dispute, promise, plan, "
                f"pause, resume; found {kinds or 'none'}"
            )
        if self.message is not None and self.channel is None:
            raise ValueError("a message event needs its channel")
        return self


# A scenario is typed by a person: these bounds are far above any real script and keep one
# request from holding a worker thread for minutes (100,000 scripted calls once did).
MAX_CALLS = 500
MAX_EVENTS = 1_000
MAX_DAYS = 3650
# The start must be a moment the simulation can run `MAX_DAYS` from and still name dates.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class ScenarioDoc(_Doc):
    account: dict[str, Any] = Field(default_factory=dict, max_length=50)
    start: str | None = Field(default=None, max_length=40)
    days: int = Field(default=120, ge=1, le=MAX_DAYS)
    calls: list[OutcomeCode | CallDoc] = Field(default_factory=list, max_length=MAX_CALLS)
    approvals: Literal["approve", "reject"] = "approve"
    events: list[EventDoc] = Field(default_factory=list, max_length=MAX_EVENTS)


def default_account(strategy: CompiledStrategy, start: date, overrides: dict[str, Any]) -> AccountSnapshot:
    """A plausible account for the strategy's market, 15 days past due; `overrides` win."""
    country = strategy.locale.split("-")[-1].upper() if "-" in strategy.locale else "US"
    base: dict[str, Any] = {
        "account_id": "SIM-1",
        "debtor_name": "Ana Pérez" if strategy.locale.startswith("es") else "Ann Smith",
        "country": country,
        "timezone": strategy.timezone,
        "currency": strategy.currency,
        "balance": 150000,
        "original_amount": 150000,
        "due_date": start - timedelta(days=15),
        "email": "debtor@example.com",
        "phone": "+10000000000",
        "postal_address": "1 Example Street",
    }
    base.update(overrides)
    if "original_amount" not in overrides:
        base["original_amount"] = base["balance"]
    return AccountSnapshot.model_validate(base)


def local(day: date, clock: str, tz: str) -> datetime:
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def parse_start(text: str | None, tz: str, fallback: datetime) -> datetime:
    if text is None:
        return fallback
    parsed = datetime.fromisoformat(text.replace(" ", "T"))
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ValueError(f"the start must fall between {FIRST_YEAR} and {LAST_YEAR}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(ZoneInfo("UTC"))


def to_events(doc: ScenarioDoc, account: AccountSnapshot, start: datetime) -> list[tuple[datetime, ev.Event]]:
    first_day = start.astimezone(ZoneInfo(account.timezone)).date()
    out: list[tuple[datetime, ev.Event]] = []
    for index, e in enumerate(doc.events):
        day = first_day + timedelta(days=e.day)
        at = local(day, e.at, account.timezone)
        event: ev.Event
        if e.payment is not None:
            event = ev.PaymentReceived(
                payment_id=e.payment_id or f"sim-pay-{index}", amount=e.payment, currency=account.currency
            )
        elif e.opt_out is not None:
            event = ev.OptOut(channel=None if e.opt_out == "all" else Channel(e.opt_out))
        elif e.opt_in is not None:
            event = ev.OptIn(channel=e.opt_in)
        elif e.message is not None:
            assert e.channel is not None
            event = ev.MessageEvent(channel=e.channel, event=e.message)
        elif e.dispute is not None:
            event = ev.DisputeOpened() if e.dispute == "open" else ev.DisputeResolved(upheld=e.dispute == "upheld")
        elif e.promise is not None:
            event = ev.PromiseMade(
                terms=ev.PromiseTerms(
                    amount=e.promise.amount or account.balance, due=day + timedelta(days=e.promise.in_days)
                )
            )
        elif e.plan is not None:
            event = ev.PlanAgreed(terms=_plan_terms(e.plan, day))
        elif e.pause:
            event = ev.Pause()
        else:
            event = ev.Resume()
        out.append((at, event))
    return out


def _plan_terms(call: CallDoc, day: date) -> ev.PlanTerms:
    return ev.PlanTerms(
        installments=call.installments,
        down_payment=call.down_payment,
        frequency=call.frequency,
        first_due=day + timedelta(days=call.in_days),
    )


class ScriptedResponder:
    """Agents record the scripted outcomes in order; the debtor does not react to messages."""

    def __init__(self, calls: list[OutcomeCode | CallDoc], approvals: Literal["approve", "reject"] = "approve") -> None:
        self.calls = [c if isinstance(c, CallDoc) else CallDoc(code=c) for c in calls]
        self.approve = approvals == "approve"

    def on_task(
        self, state: AccountState, task: act.CreateAgentTask, now: datetime
    ) -> tuple[ev.AgentOutcome | None, list[tuple[timedelta, ev.Event]]]:
        if not self.calls:
            return None, []
        call = self.calls.pop(0)
        today = now.astimezone(ZoneInfo(state.account.timezone)).date()
        promise = plan = None
        if call.code == Outcome.PROMISE_TO_PAY:
            promise = ev.PromiseTerms(amount=call.amount or state.balance, due=today + timedelta(days=call.in_days))
        if call.code == Outcome.PAYMENT_PLAN:
            plan = _plan_terms(call, today)
        return ev.AgentOutcome(code=call.code, promise=promise, plan=plan, agent="sim-agent"), []

    def on_send(self, state: AccountState, send: act.SendMessage, now: datetime) -> list[tuple[timedelta, ev.Event]]:
        return []

    def on_approval(self, state: AccountState, request: act.RequestApproval, now: datetime) -> tuple[timedelta, bool]:
        return timedelta(hours=1), self.approve
