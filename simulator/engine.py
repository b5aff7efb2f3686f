"""Runs one account through a compiled strategy on a virtual clock.

The engine is the simulator's stand-in for Temporal: it keeps the account's state, wakes the
interpreter when its timer is due, feeds it scripted events at their times, and answers the
actions an outside system would answer (payment checks, agent tasks, approvals) through a
`Responder`. It records a timeline of everything that happened, in UTC; `simulator.report`
shows it in the debtor's local time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from domain import actions as act
from domain import events as ev
from domain import interpreter
from domain.account import AccountSnapshot
from domain.copying import copied
from domain.errors import DomainError, EventRejected
from domain.policy import blocking_rule
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from strategies.preview import render_preview, simulated_context


@dataclass(frozen=True)
class Entry:
    """One line of a timeline."""

    at: datetime
    # send | call | task | blocked | fee | interest | approval | legal | notify | closed | event | rejected | error
    # | promise | expired (a task nobody worked, an offer nobody took) | overpaid (refund or credit due)
    # | refund (a refund or credit of an overpayment recorded)
    kind: str
    step: str
    stage: str  # the stage of the step that acted (a send before a goto to legal is not "legal")
    detail: str
    channel: str | None = None
    moved_to: datetime | None = None  # for blocked contacts the policy moved to a later time
    # The amounts `detail` names (in minor units), and `detail` with `{}` where each one stands,
    # so that a report shows them as money for its reader while `detail` keeps plain numbers.
    amounts: tuple[int, ...] = ()
    wording: str | None = None
    preview: str | None = None  # a message's subject and first line, rendered for the simulated account
    fallback_for: str | None = None  # a message sent on a fallback: the channel it could not use

    def shown(self, money: Callable[[int], str]) -> str:
        """`detail` with each amount formatted by `money`."""
        return self.wording.format(*map(money, self.amounts)) if self.wording is not None else self.detail


def _priced(at: datetime, kind: str, step: str, stage: str, wording: str, *amounts: int) -> Entry:
    """An entry whose detail names amounts: `wording` holds `{}` where each stands."""
    return Entry(at, kind, step, stage, wording.format(*amounts), amounts=amounts, wording=wording)


def _verbatim(text: str) -> str:
    """`text` inside a wording: braces stand for themselves."""
    return text.replace("{", "{{").replace("}", "}}")


class Responder(Protocol):
    """Plays the debtor, the agents and the supervisors."""

    def on_task(
        self, state: AccountState, task: act.CreateAgentTask, now: datetime
    ) -> tuple[ev.AgentOutcome | None, list[tuple[timedelta, ev.Event]]]:
        """The outcome an agent records when working `task` at `now` (None: nobody works it), and
        what the debtor does afterwards, each after a delay."""

    def on_send(self, state: AccountState, send: act.SendMessage, now: datetime) -> list[tuple[timedelta, ev.Event]]:
        """The debtor's reactions to a message, each after a delay."""

    def on_approval(self, state: AccountState, request: act.RequestApproval, now: datetime) -> tuple[timedelta, bool]:
        """A supervisor's decision and how long it took."""


@dataclass
class Run:
    state: AccountState
    # The strategy's currency exponent and locale: how a report shows this run's amounts.
    digits: int | None = None
    locale: str = "en-US"
    timeline: list[Entry] = field(default_factory=list)
    contacts: list[tuple[datetime, str]] = field(default_factory=list)  # (when, channel) of real contacts
    closed_at: datetime | None = None
    legal_at: datetime | None = None
    error: str | None = None  # the interpreter failed: the account is held, as the workflow holds it
    stopped: str | None = None  # the run hit MAX_TURNS before its end (a strategy that wakes every minute)
    # (when, paid total by then) at each turn that booked a payment: the Monte Carlo's recovery curve.
    payments: list[tuple[datetime, int]] = field(default_factory=list)


# Turns (events and wake-ups) one simulated account may take. A real strategy takes a few hundred
# in a year; a retry every minute for ten years would take millions, holding a request or a
# Monte Carlo run for minutes, so the run stops and says so.
MAX_TURNS = 5_000

_TICK = ev.Tick()  # a wake-up carries nothing: one (frozen) event for all of them


def simulate(
    strategy: CompiledStrategy,
    account: AccountSnapshot,
    start: datetime,
    days: int,
    scripted: list[tuple[datetime, ev.Event]],
    responder: Responder,
    *,
    record: bool = True,
) -> Run:
    """Run the account from `start` for `days`, or until it closes. Times may be given in any
    zone; the run counts in UTC, as the workflow does (a local start plus 60 days is not 60 x 24
    hours later when a DST change falls in between)."""
    start = interpreter.as_utc(start)
    end = start + timedelta(days=days)
    queue: list[tuple[datetime, int, ev.Event]] = []
    order = 0

    def push(at: datetime, event: ev.Event) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (at, order, event))

    for at, event in scripted:
        push(interpreter.as_utc(at), event)
    try:
        result = interpreter.start(strategy, account, start)
    except EventRejected:
        raise
    except Exception as exc:
        reason = _failure("start", exc)
        held = interpreter.held_at_start(strategy, account, start, reason).state
        run = Run(held, digits=strategy.digits, locale=strategy.locale, error=reason)
        run.timeline.append(Entry(start, "error", "", "hold", reason))
        return run
    run = Run(result.state, digits=strategy.digits, locale=strategy.locale)
    clock = start
    _absorb(run, result, start, responder, push, record, strategy)
    turns = 0
    while run.state.resolution is None:
        turns += 1
        if turns > MAX_TURNS:
            run.stopped = f"stopped after {MAX_TURNS:,} turns: the strategy wakes more often than a simulation follows"
            run.timeline.append(Entry(clock, "stopped", run.state.step, run.state.stage, run.stopped))
            break
        wake = run.state.wake_at()
        if queue and (wake is None or queue[0][0] <= wake):
            at, _, event = heapq.heappop(queue)
        elif wake is not None:
            at, event = wake, _TICK
        else:
            break
        if at > end:
            break
        now = max(at, clock)  # a wake-up already due fires at once: the clock never runs backwards
        clock = now
        if record and not isinstance(event, ev.Tick | ev.PaymentsChecked):
            kind = "call" if isinstance(event, ev.AgentOutcome) else "event"
            wording, amounts = _describe_event(event, run.state.account.currency)
            run.timeline.append(_priced(now, kind, run.state.step, run.state.stage, wording, *amounts))
        try:
            result = interpreter.step(strategy, run.state, event, now)
        except EventRejected as exc:
            if record:
                run.timeline.append(Entry(now, "rejected", run.state.step, run.state.stage, str(exc)))
            continue
        except Exception as exc:  # what the workflow does: hold the account, say why, stop
            run.error = _failure(event.kind, exc)
            run.timeline.append(Entry(now, "error", run.state.step, "hold", run.error))
            run.state = interpreter.hold_for_error(run.state, run.error).state
            break
        _absorb(run, result, now, responder, push, record, strategy)
    return run


def _failure(what: str, exc: Exception) -> str:
    """The hold reason, worded as the workflow words it."""
    return f"{what}: {exc}" if isinstance(exc, DomainError) else f"{what}: {type(exc).__name__}: {exc}"


def _absorb(
    run: Run,
    result: interpreter.Result,
    now: datetime,
    responder: Responder,
    push: object,
    record: bool,
    strategy: CompiledStrategy,
) -> None:
    """Log what the interpreter asked for and schedule the outside world's answers. The timeline
    rows are built only when the run records them (a what-if analysis does not)."""
    assert callable(push)
    state = result.state
    if state.paid_total != run.state.paid_total:
        run.payments.append((now, state.paid_total))
    run.state = state
    skipped: dict[str, str] = {}  # step -> the channel it could not use for good, this call
    for action in result.actions:
        match action:
            case act.SendMessage():
                run.contacts.append((now, action.channel))
                for delay, reaction in responder.on_send(state, action, now):
                    push(now + delay, reaction)
            case act.CreateAgentTask():
                # A task the same call then closed (a payment arrived) is never worked.
                # Only the task still open at the end of the call is worked (a payment in the same
                # call may have moved the account on).
                w = state.waiting
                is_open = w is not None and w.kind == "agent" and w.task_seq == action.seq
                outcome, later = responder.on_task(state, action, now) if is_open else (None, [])
                if outcome is not None:
                    run.contacts.append((now, "voice"))
                    push(now, copied(outcome, task_seq=action.seq))
                for delay, reaction in later:
                    push(now + delay, reaction)
            case act.CheckPayment():
                push(now, ev.PaymentsChecked())
            case act.RequestApproval():
                delay, approved = responder.on_approval(state, action, now)
                push(now + delay, ev.ApprovalDecision(approved=approved, by="simulator"))
            case act.ReferToLegal():
                run.legal_at = now
            case act.AccountClosed():
                run.closed_at = now
        if record:
            entry = _entry(strategy, state, action, now, skipped)
            if entry is not None:
                run.timeline.append(entry)


def _entry(
    strategy: CompiledStrategy, state: AccountState, action: act.Action, now: datetime, skipped: dict[str, str]
) -> Entry | None:
    """The timeline row of one action, if it has one. `skipped` carries, within one call, the
    channel a step could not use for good to the send that fell back from it."""
    # The stage of the step that acted: the state's is the one at the end of the call.
    acted = strategy.steps.get(getattr(action, "step", ""))
    stage = str(acted.stage) if acted is not None else str(state.stage)
    match action:
        case act.SendMessage():
            entry = Entry(now, "send", action.step, stage, f"{action.channel} {action.template}", action.channel)
            if action.step in skipped:
                entry = replace(entry, fallback_for=skipped.pop(action.step))
            return replace(entry, preview=_preview(strategy, state, action, now))
        case act.CreateAgentTask():
            return Entry(now, "task", action.step, stage, f"agent task in {action.queue} (attempt {action.attempt})")
        case act.ContactBlocked():
            if action.moved_to is None:
                skipped[action.step] = str(action.channel)
            by = blocking_rule(strategy.policy, action.rule)
            detail = f"{action.channel} blocked by {by}: {action.reason}"
            return Entry(now, "blocked", action.step, stage, detail, action.channel, action.moved_to)
        case act.ApplyFee():
            if action.rule:
                wording = "fee {} (capped by " + _verbatim(action.rule) + " from {})"
                return _priced(now, "fee", action.step, stage, wording, action.amount, action.requested)
            return _priced(now, "fee", action.step, stage, "fee {}", action.amount)
        case act.ChargeInterest():
            wording = "interest charged {} ({} so far)"
            return _priced(now, "interest", action.step, stage, wording, action.amount, action.total)
        case act.PromiseSettled():
            wording = "promise of {} by " + action.due.isoformat() + (" kept" if action.kept else " broken")
            return _priced(now, "promise", action.step, stage, wording, action.amount)
        case act.TaskExpired():
            return Entry(now, "expired", action.step, stage, f"agent task expired unworked (attempt {action.attempt})")
        case act.OfferExpired():
            return Entry(now, "expired", action.step, stage, f"{action.offer} offer expired")
        case act.Overpaid():
            wording = "overpayment of {}: refund or credit due"
            return _priced(now, "overpaid", action.step, stage, wording, action.amount)
        case act.RefundRecorded():
            wording = f"{action.method} of {{}} recorded (ref {_verbatim(action.reference)}), {{}} still owed back"
            return _priced(now, "refund", action.step, stage, wording, action.amount, action.remaining)
        case act.RequestApproval():
            return Entry(now, "approval", action.step, stage, f"waits for a supervisor's approval ({action.subject})")
        case act.ReferToLegal():
            wording = "referred to legal with balance {}"
            return _priced(now, "legal", action.step, "legal", wording, action.balance)
        case act.NotifyCreditor():
            # The creditor's systems are not simulated: the row says what they would be told.
            wording = "notify " + _verbatim(action.event) + " with balance {}"
            return _priced(now, "notify", action.step, stage, wording, action.balance)
        case act.AccountClosed():
            return Entry(now, "closed", state.step, state.stage, f"closed: {action.resolution}")
    return None


def _preview(strategy: CompiledStrategy, state: AccountState, send: act.SendMessage, now: datetime) -> str:
    """The message as the debtor would read it, from the state the workflow's send reads."""
    context = simulated_context(state, strategy.edition, strategy.currency, send.offer, now)
    return render_preview(strategy, send.template, send.locale, str(send.channel), context)


def _describe_event(event: ev.Event, currency: str) -> tuple[str, tuple[int, ...]]:
    """The event's wording and the amounts in it (see `Entry`)."""
    match event:
        case ev.AgentOutcome():
            if event.promise:
                return f"call outcome {event.code} ({{}} by {event.promise.due})", (event.promise.amount,)
            if event.plan:
                return f"call outcome {event.code} ({event.plan.installments} x {event.plan.frequency})", ()
            return f"call outcome {event.code}", ()
        case ev.PaymentReceived() if event.currency == currency:
            return f"payment {{}} {event.currency}", (event.amount,)
        case ev.PaymentReceived():  # in another currency: the account's formatting does not apply
            return _verbatim(f"payment {event.amount} {event.currency}"), ()
        case ev.OptOut():
            return _verbatim(f"opt-out {event.channel or 'all channels'}"), ()
        case ev.MessageEvent():
            return _verbatim(f"{event.channel} {event.event}"), ()
        case ev.ApprovalDecision():
            return "approved" if event.approved else "rejected", ()
        case _:
            return _verbatim(event.kind.replace("_", " ")), ()
