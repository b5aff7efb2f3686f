"""The interpreter: (compiled strategy, account state, event, now) -> (new state, actions).

Pure: no I/O, no clock, no randomness. The Temporal debtor workflow and the offline simulator
call exactly these two functions, so a simulated timeline is what production does.

Semantics worth knowing (the README's "How time works" says the same for strategists):
- A contact the policy forbids *now* is moved to the next allowed moment, never skipped; one it
  forbids for good (opt-out, no address) falls back to the step's fallback channels or is
  logged as blocked and skipped. A policy with a spread moves it a stable per-account offset
  further into that allowed time (`domain.policy.spread_moved`), so a window's opening is not
  every waiting account's wake-up at once.
- Waits are recomputed from their anchor at every event, so a payment that moves the oldest
  unpaid due date, or a new promise date, moves the waits that depend on it.
- A late wake-up (a worker down for days) runs the steps that fell due *in order*: waits whose
  target has passed complete at once, waits anchored on `previous_step` count from the moment
  the previous action really ran, and every contact still passes the policy's gaps and caps, so
  catching up never bursts messages and never skips a step.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from domain import actions as act
from domain import conditions, dues, interest, refunds
from domain import events as ev
from domain import strategy as st
from domain.account import AccountSnapshot
from domain.copying import copied
from domain.errors import EventRejected, InterpreterError
from domain.fees import cap_total, percent_of, requested_fee
from domain.policy import ContactPolicy, ContactRecord, day_opening, is_business_day, next_allowed, spread_moved
from domain.state import (
    BLOCKED_KEPT,
    CONTACT_HISTORY_DAYS,
    AccountState,
    BlockedContact,
    Installment,
    Offer,
    Plan,
    Promise,
    Waiting,
)
from domain.terms import PlanLimits, PromiseLimits, TermsLimits, first_day_after
from domain.types import Channel, Outcome, Resolution, Stage

# A strategy that runs this many actions in one call without waiting for anything is looping.
MAX_ACTIONS_PER_CALL = 500
MAX_REASON = 500  # characters of an error kept as the hold reason
MAX_LOOKAHEAD_STEPS = 20  # steps `catch_up: latest` looks through for a later missed contact
NOT_A_CONVERSATION = {Outcome.NO_ANSWER, Outcome.WRONG_PARTY}
_CONTACT_HISTORY = timedelta(days=CONTACT_HISTORY_DAYS)


class Result(NamedTuple):
    state: AccountState
    actions: tuple[act.Action, ...]


def as_utc(now: datetime) -> datetime:
    """`now` as UTC, the only zone the interpreter counts in. A datetime aware of a `ZoneInfo`
    adds a timedelta in wall time (7 days after Monday 09:00 -03 is Monday 09:00 -04 across a DST
    end, 169 hours), so a caller handing in the debtor's local time (the simulator from a local
    start) would otherwise move every wait and retry by the DST shift, unlike the workflow, whose
    `workflow.now()` is UTC. Local-time rules convert explicitly (policy, `wait_target`)."""
    if now.tzinfo is UTC:
        return now  # the workflow's clock and the simulator's: already as counted
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")
    return now.astimezone(UTC)


def start(strategy: st.CompiledStrategy, account: AccountSnapshot, now: datetime) -> Result:
    """Place a new account in its segment and variant and run it until it first waits."""
    now = as_utc(now)
    probe = _unplaced(strategy, account, now, Stage.OUTREACH)
    variant = probe.variant
    segment = matching_segment(strategy, probe, now)
    if segment is None:
        raise EventRejected(f"account {account.account_id} matches no segment of {strategy.id}")
    first = segment.variant_starts.get(variant or "", segment.start)
    run = _Run(strategy, copied(probe, segment=segment.name), now)
    run.goto(first)
    run.accrue_interest()
    run.advance()
    return run.result()


def matching_segment(strategy: st.CompiledStrategy, state: AccountState, now: datetime) -> st.Segment | None:
    """The first segment whose condition holds on the account's facts at `now`: strategists order
    segments most severe first (Kill Bill's overdue states), so the first match is the level."""
    on = conditions.Conditions(state, now, strategy.edition)
    for segment in strategy.segments:
        if segment.when is None or on.holds(segment.when):
            return segment
    return None


def step(strategy: st.CompiledStrategy, state: AccountState, event: ev.Event, now: datetime) -> Result:
    """Apply one event at `now` and run the account until it waits again."""
    now = as_utc(now)
    run = _Run(strategy, copied(state), now)
    run.accrue_interest()  # on the principal as it stood since the last turn, before this event moves it
    if not isinstance(event, ev.Tick):
        # Whatever fell due before this event happens first (a timer the shell fired late must
        # not let a payment rescue a promise that was already broken).
        run.on_tick()
        run.advance()
    run.apply(event)
    run.advance()
    return run.result()


def switch_strategy(strategy: st.CompiledStrategy, state: AccountState, step_name: str | None, now: datetime) -> Result:
    """Move a waiting account to another strategy version (an audited, explicit operation).

    With no `step_name` the account stays at the step of the same name, at the same action if the
    new version's step is at least as long (so nothing already done is done again); otherwise it
    enters `step_name` from its start. Promises, plans, counters and the contact ledger carry over.
    """
    now = as_utc(now)
    if state.closed:
        raise EventRejected(f"account is closed ({state.resolution})")
    name = step_name or state.step
    if name not in strategy.steps:
        known = ", ".join(sorted(strategy.steps))
        raise EventRejected(f"strategy {strategy.id} has no step {name!r} (steps: {known}); name the step to move to")
    run = _Run(strategy, state.model_copy(), now)
    if run.s.hold == "error":  # the new version is the supervisor's answer to the failure
        run.s.hold = None
        run.s.hold_reason = None
        run.s.stage = strategy.steps[name].stage
    actions = strategy.steps[name].actions
    same_place = (step_name is None or step_name == state.step) and state.pc < len(actions)
    if same_place and state.waiting is not None and state.waiting.kind == "agent":
        same_place = isinstance(actions[state.pc], st.AgentTaskAction)  # the open task must still exist
    if not same_place:
        run.s.waiting = None
        run.goto(name)
    if run.s.hold is None:
        run.advance()
    return run.result()


def terms_limits(strategy: st.CompiledStrategy, state: AccountState) -> TermsLimits:
    """The promise and plan the account takes (what register_promise and register_plan check);
    empty for a closed account. Dates count from the debtor's today (domain/terms.py)."""
    if state.closed:
        return TermsLimits()
    return TermsLimits(
        promise=_promise_limits(strategy.promises, state) if strategy.promises is not None else None,
        plan=_plan_limits(strategy.plans, state) if strategy.plans is not None else None,
    )


def _promise_limits(rules: st.PromiseRules, state: AccountState) -> PromiseLimits:
    return PromiseLimits(max_days_ahead=rules.max_days_ahead, max_amount=state.balance)


def _plan_limits(rules: st.PlanRules, state: AccountState) -> PlanLimits:
    """The current plan offer's terms, else the strategy's."""
    offer = state.offer if state.offer is not None and state.offer.kind == "plan" else None
    min_pct = offer.terms["min_down_payment_pct"] if offer else rules.min_down_payment_pct
    frequencies = offer.terms["frequencies"].split(",") if offer else list(rules.frequencies)
    return PlanLimits(
        max_installments=int(offer.terms["max_installments"]) if offer else rules.max_installments,
        min_down_payment=percent_of(state.balance, min_pct),
        min_down_payment_pct=min_pct,
        balance=state.balance,
        frequencies=tuple(frequencies),
        offered=offer is not None,
    )


def hold_for_error(state: AccountState, reason: str) -> Result:
    """The account waits for a supervisor because the interpreter failed on it (a defect of the
    strategy or of this code): nothing runs until a supervisor resumes it, moves it to another
    strategy version or closes it. The state is otherwise the one before the failed event."""
    held = state.model_copy(update={"hold": "error", "hold_reason": reason[:MAX_REASON], "stage": Stage.HOLD})
    return Result(held, ())


def held_at_start(strategy: st.CompiledStrategy, account: AccountSnapshot, now: datetime, reason: str) -> Result:
    """`hold_for_error` for an account whose start itself failed (a segment condition, say)."""
    return hold_for_error(_unplaced(strategy, account, as_utc(now), Stage.HOLD), reason)


def _unplaced(strategy: st.CompiledStrategy, account: AccountSnapshot, now: datetime, stage: Stage) -> AccountState:
    """A new account's state before its segment and step are chosen."""
    return AccountState(
        account=account,
        segment="",
        variant=choose_variant(strategy, account.account_id),
        stage=stage,
        step="",
        step_started_at=now,
        last_action_at=now,
        balance=account.balance,
        opted_out=account.opted_out,
    )


def choose_variant(strategy: st.CompiledStrategy, account_id: str) -> str | None:
    """Stable champion/challenger split: the same account always lands in the same variant."""
    if not strategy.variants:
        return None
    total = sum(v.weight for v in strategy.variants)
    digest = hashlib.sha256(f"{strategy.id}:{account_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in strategy.variants:
        if point < variant.weight:
            return variant.name
        point -= variant.weight
    raise AssertionError("unreachable: weights cover the whole range")


@lru_cache(maxsize=4096)
def local_midnight(day: date, tz: str) -> datetime:
    """Start of `day` in the debtor's zone, as an aware UTC datetime. (Cached: every wait anchored
    on a date asks it again at each of the account's turns.)"""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def add_months(day: date, months: int) -> date | None:
    """`day` plus `months` calendar months, the 31st clamped to a shorter month's last day
    (Jan 31 + 1 = Feb 28 or 29); None outside the years the calendar holds. Negative months
    count back (a wait that ends before its anchor)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if not date.min.year <= year <= date.max.year:
        return None
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=256)
def _seconds(n: int) -> timedelta:
    """A wait's length (a strategy has a handful: each is made once, not at every turn)."""
    return timedelta(seconds=n)


def add_local_months(moment: datetime, months: int, tz: str) -> datetime:
    """`moment` plus `months` on the debtor's calendar: the same local wall time on the day
    `add_months` gives (a wall time a DST change skips resolves as zoneinfo does, the same way
    on every replay)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    day = add_months(local.date(), months)
    if day is None:
        raise InterpreterError(
            f"a wait of {months} months from {local.date().isoformat()} would end after the last date the "
            f"calendar holds ({date.max.isoformat()})"
        )
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)


def shift_business_days(policy: ContactPolicy, day: date, n: int) -> date:
    """The |n|th business day before `day` (n < 0) or after it (n > 0), `day` itself not counted."""
    step = timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    for _ in range(left * 400):  # a year without a business day is a broken calendar
        day += step
        if is_business_day(policy, day):
            left -= 1
            if left == 0:
                return day
    raise InterpreterError(f"no business day found near {day.isoformat()}: the holiday calendar is broken")


def add_period(day: date, frequency: st.Frequency, n: int) -> date:
    """`day` plus `n` periods; EventRejected, saying so, when that falls beyond the year 9999."""
    try:
        if frequency == "weekly":
            return day + timedelta(weeks=n)
        if frequency == "biweekly":
            return day + timedelta(weeks=2 * n)
    except OverflowError:
        pass
    else:
        later = add_months(day, n)
        if later is not None:
            return later
    raise EventRejected(
        f"installment {n + 1} of a {frequency} plan starting {day.isoformat()} would fall after the last "
        f"date the calendar holds ({date.max.isoformat()}); choose a first due date in the next few years"
    )


class _Run:
    """One interpreter call: a private copy of the state and the actions it emits."""

    def __init__(self, strategy: st.CompiledStrategy, state: AccountState, now: datetime) -> None:
        self.strategy = strategy
        self.s = state
        self.now = now
        self.tz = state.account.timezone
        self.out: list[act.Action] = []
        # Set when this call releases a hold under a catch_up other than `all`: when the hold
        # began, and whether the contacts about to run fell due while it lasted.
        self.catching_up: datetime | None = None
        self.missed = False

    def result(self) -> Result:
        return Result(self.s, tuple(self.out))

    # ---- helpers -------------------------------------------------------------------------------

    def next_seq(self) -> int:
        self.s.seq += 1
        return self.s.seq

    def current_step(self) -> st.Step:
        return self.strategy.steps[self.s.step]

    def current_action(self) -> st.Action | None:
        actions = self.strategy.steps[self.s.step].actions
        pc = self.s.pc
        return actions[pc] if pc < len(actions) else None

    def counters(self, **inc: int) -> None:
        # A copy with the named counters moved: integers plus integers need no re-validation, and
        # this runs on every contact (a tenth of a simulated account's time when it validated).
        current = self.s.counters
        values = current.__dict__
        self.s.counters = copied(current, **{name: values[name] + n for name, n in inc.items()})

    def goto(self, name: str) -> None:
        self.s.set_fields(
            step=name,
            pc=0,
            entered=False,
            approved_pc=None,
            task_attempt=0,
            waiting=None,
            step_started_at=self.now,
            stage=self.strategy.steps[name].stage,
        )

    def close(self, resolution: Resolution) -> None:
        if self.s.resolution is not None:
            return
        self.s.resolution = resolution
        self.s.stage = Stage.CLOSED
        self.s.waiting = None
        self.s.hold = None
        self.s.held_since = None
        self.out.append(act.AccountClosed(resolution=resolution))

    def route(self, target: str | None) -> bool:
        """Go to a handler's step if the strategy names one; tell whether it did."""
        if target is None or self.s.resolution is not None:
            return False
        if target == st.REEVALUATE and target not in self.strategy.steps:
            return self.reevaluate_in_place()
        self.goto(target)
        return True

    def reevaluate_in_place(self) -> bool:
        """A handler's `reevaluate`: the account moves only when its level changed (Kill Bill's
        overdue states: the same state is not entered again); tell whether it moved. The level is
        unchanged when the segment is the account's, or when the account is already in the step
        that segment starts at (a strategy that walks its levels step by step, from a first segment)."""
        segment = matching_segment(self.strategy, self.s, self.now)
        if segment is None:
            return False
        first = segment.variant_starts.get(self.s.variant or "", segment.start)
        same = segment.name == self.s.segment or first == self.s.step
        self.s.segment = segment.name
        if same:
            return False
        self.goto(first)
        return True

    def record_contact(self, channel: Channel, conversation: bool = False, **counted: int) -> None:
        """The contact in the ledger, counted with `counted`, the other counters it moves."""
        kept = self.s.contacts
        horizon = self.now - _CONTACT_HISTORY
        if kept and kept[0].at < horizon:  # the ledger is in time order: the oldest comes first
            kept = tuple(c for c in kept if c.at >= horizon)
        self.s.contacts = (*kept, ContactRecord(channel=channel, at=self.now, conversation=conversation))
        self.counters(contacts=1, **counted)

    def block(self, channel: Channel, rule: str, reason: str, moved_to: datetime | None) -> None:
        entry = BlockedContact(
            at=self.now, step=self.s.step, channel=channel, rule=rule, reason=reason, moved_to=moved_to
        )
        self.s.blocked = (*self.s.blocked, entry)[-BLOCKED_KEPT:]
        self.out.append(
            act.ContactBlocked(step=self.s.step, channel=channel, rule=rule, reason=reason, moved_to=moved_to)
        )

    def unusable(self, channel: Channel) -> tuple[str, str] | None:
        """(rule, reason) when `channel` cannot be used for this account at all."""
        if channel in self.s.opted_out:
            return "opt-out", f"the debtor opted out of {channel}"
        if channel in self.s.invalid:
            return "invalid-contact-point", f"the {channel} contact point failed permanently"
        if not self.s.account.has_contact_point(channel):
            return "no-contact-point", f"the account has no {channel} contact point"
        return None

    def policy_gate(self, channel: Channel) -> bool:
        """True when `channel` may be used now; otherwise park the account until it may."""
        moment, decisions = next_allowed(
            self.strategy.policy, channel, self.now, self.tz, self.s.contacts, self.s.opted_out
        )
        if moment is not None and moment <= self.now:
            return True
        if moment is not None:
            # Accounts that waited for the same window opening wake spread over its start.
            moment = spread_moved(
                self.strategy.policy,
                channel,
                moment,
                self.tz,
                self.s.contacts,
                self.s.account.account_id,
                self.s.opted_out,
            )
        first = decisions[0] if decisions else None
        rule = first.rule if first and first.rule else "policy"
        reason = first.reason if first else "not allowed"
        self.block(channel, rule, reason, moment)
        if moment is None:
            return False
        self.s.waiting = Waiting(kind="policy", until=moment)
        return False

    # ---- events --------------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        if self.s.resolution is not None and not isinstance(event, ev.PaymentReceived | ev.Tick | ev.RefundRecorded):
            raise EventRejected(f"account is closed ({self.s.resolution})")
        match event:
            case ev.Tick():
                self.on_tick()
            case ev.AgentOutcome():
                self.on_outcome(event)
            case ev.PaymentReceived():
                self.on_payment(event)
            case ev.PaymentsChecked():
                if self.s.waiting is None or self.s.waiting.kind != "payment_check":
                    raise EventRejected("no payment check is pending")
                self.s.waiting = None
                self.s.pc += 1
                for payment in event.payments:
                    self.on_payment(payment)
            case ev.PromiseMade():
                self.register_promise(event.terms)
                self.goto(self.promise_rules().step)
            case ev.PlanAgreed():
                self.register_plan(event.terms)
                self.goto(self.plan_rules().step)
            case ev.OptOut():
                self.on_opt_out(event.channel)
            case ev.OptIn():
                self.s.opted_out = tuple(c for c in self.s.opted_out if c != event.channel)
            case ev.MessageEvent():
                self.on_message_event(event)
            case ev.SendBlocked():
                self.on_send_blocked(event)
            case ev.DisputeOpened():
                self.route(self.strategy.handlers.dispute)
                self.s.hold = "dispute"
                self.s.held_since = self.s.held_since or self.now
                self.s.stage = Stage.HOLD
            case ev.DisputeResolved():
                if self.s.hold != "dispute":
                    raise EventRejected("the account has no open dispute")
                self.s.hold = None
                self.s.stage = self.current_step().stage
                self.release()
                if event.upheld:
                    self.close(Resolution.WRITTEN_OFF)
                else:
                    self.route(self.strategy.handlers.dispute_resolved)
            case ev.Pause():
                if self.s.hold == "dispute":
                    raise EventRejected("the account is on hold for a dispute; resolve the dispute instead")
                self.s.hold = "paused"
                self.s.held_since = self.s.held_since or self.now
                self.s.stage = Stage.HOLD
            case ev.Resume():
                if self.s.hold not in ("paused", "error"):
                    raise EventRejected("the account is not paused")
                if not self.s.step:
                    raise EventRejected("the account never started; move it to a strategy version and step")
                paused = self.s.hold == "paused"
                self.s.hold = None
                self.s.hold_reason = None
                self.s.stage = self.current_step().stage
                self.release()
                if paused:
                    self.route(self.strategy.handlers.resumed)
            case ev.Close():
                self.close(Resolution.CLOSED_BY_SUPERVISOR)
            case ev.ApprovalDecision():
                self.on_approval(event)
            case ev.RefundRecorded():
                self.on_refund(event)

    def release(self) -> None:
        """The hold ends: under a catch_up other than `all`, the contacts whose time fell while
        it lasted are marked as missed for this call (`contact` skips them, or all but the last)."""
        since, self.s.held_since = self.s.held_since, None
        if since is None or self.strategy.catch_up == "all":
            return
        self.catching_up = since
        w = self.s.waiting
        if w is not None and w.kind == "policy" and w.until is not None and since <= w.until <= self.now:
            # A contact the policy had moved to a time inside the hold: it fell due while held.
            self.s.waiting = None
            self.missed = True

    def on_tick(self) -> None:
        if self.s.resolution is not None or self.s.hold is not None:
            return
        self.check_deadlines()
        w = self.s.waiting
        if w is None or w.until is None or w.until > self.now or self.s.resolution is not None:
            return
        if w.kind == "policy":
            self.s.waiting = None
        elif w.kind == "agent":
            self.agent_task_expired()

    def check_deadlines(self) -> None:
        promise = self.s.promise
        if promise is not None and promise.deadline <= self.now:
            self.settle_promise()
        plan = self.s.plan
        if plan is not None:
            for index, inst in enumerate(plan.installments):
                if not (inst.settled or inst.missed) and inst.deadline <= self.now:
                    self.installment_missed(index)
                    if self.s.plan is None:
                        break
        offer = self.s.offer
        if offer is not None and offer.expires_at is not None and offer.expires_at <= self.now:
            self.s.offer = None
            self.out.append(act.OfferExpired(step=self.s.step, offer=offer.kind))

    def on_outcome(self, event: ev.AgentOutcome) -> None:
        w = self.s.waiting
        action = self.current_action()
        if w is None or w.kind != "agent" or not isinstance(action, st.AgentTaskAction):
            raise EventRejected(f"no agent task is open at step {self.s.step}")
        if event.task_seq is not None and event.task_seq != w.task_seq:
            raise EventRejected(f"task {event.task_seq} is not the open task ({w.task_seq})")
        if event.code not in action.outcomes:
            allowed = ", ".join(action.outcomes)
            raise EventRejected(f"outcome {event.code} is not allowed at step {self.s.step}; allowed: {allowed}")
        if event.code == Outcome.PROMISE_TO_PAY:
            if event.promise is None:
                raise EventRejected("outcome promise_to_pay needs the promise's amount and date")
            self.promise_rules()
            self.register_promise(event.promise)
        if event.code == Outcome.PAYMENT_PLAN:
            if event.plan is None:
                raise EventRejected("outcome payment_plan needs the plan's terms")
            self.plan_rules()
            self.register_plan(event.plan)
        conversation = self.strategy.is_conversation(event.code)
        self.record_contact(
            Channel.VOICE, conversation=conversation, agent_attempts=1, right_party_contacts=int(conversation)
        )
        self.s.last_action_at = self.now
        if event.code == Outcome.NO_ANSWER and self.s.task_attempt < action.attempts:
            self.retry_later(action)
            return
        self.goto(action.outcomes[event.code])
        if event.code == Outcome.DISPUTE:
            self.s.hold = "dispute"
            self.s.held_since = self.s.held_since or self.now
            self.s.stage = Stage.HOLD

    def on_payment(self, payment: ev.PaymentReceived) -> None:
        if payment.payment_id in self.s.payment_ids:
            return  # the same provider payment twice counts once
        if payment.currency != self.s.account.currency:
            raise EventRejected(f"payment in {payment.currency} on an account in {self.s.account.currency}")
        self.s.payment_ids = (*self.s.payment_ids, payment.payment_id)
        self.take_payment(payment)
        self.s.paid_total += payment.amount
        self.counters(payments=1)
        if self.s.resolution is not None:
            return
        offer = self.s.offer
        if (
            offer is not None
            and offer.amount_due is not None
            and self.s.paid_total - offer.paid_before >= offer.amount_due
        ):
            self.s.offer = None
            self.close(Resolution.SETTLED)
            return
        kept_promise = self.s.promise is not None and self.promise_kept()
        if kept_promise:
            self.settle_promise()
        if self.s.plan is not None:
            self.plan_progress()
        if self.s.resolution is not None:
            return
        if self.s.balance <= 0:
            self.s.promise = None
            self.s.plan = None
            if not self.route(self.strategy.handlers.payment_in_full):
                self.close(Resolution.PAID)
            self.s.hold = None
            self.s.held_since = None
            return
        if self.s.hold is None and not kept_promise:  # a kept promise already chose its route
            self.route(self.strategy.handlers.partial_payment)

    def take_payment(self, payment: ev.PaymentReceived) -> None:
        """Take the payment off what the account owes. What exceeds it is never a negative balance:
        it is the debtor's money (a refund or credit the creditor owes), kept apart and reported."""
        applied = min(payment.amount, self.owed())
        self.s.balance -= applied
        excess = payment.amount - applied
        if excess:
            self.s.overpaid += excess
            self.out.append(
                act.Overpaid(step=self.s.step, payment_id=payment.payment_id, amount=excess, total=self.s.overpaid)
            )

    def on_refund(self, refund: ev.RefundRecorded) -> None:
        """The creditor gave back some of what the debtor paid beyond what was owed. It comes off
        `overpaid` first, then off what a state from before overpayments were kept apart holds as
        a negative balance (raised toward 0, never above): `refund_due` goes down by the amount.
        Nothing else moves (no route, no contact): the debt itself is untouched."""
        if refund.reference in self.s.refund_refs:
            return  # the same bank or provider reference twice counts once
        problem = refunds.refusal(self.s.refund_due, refund.amount, refund.method)
        if problem is not None:
            raise EventRejected(problem)
        from_overpaid = min(refund.amount, self.s.overpaid)
        self.s.overpaid -= from_overpaid
        self.s.balance += refund.amount - from_overpaid  # a legacy negative balance, toward 0
        self.s.refunded += refund.amount
        self.s.refund_refs = (*self.s.refund_refs, refund.reference)
        self.out.append(
            act.RefundRecorded(
                step=self.s.step,
                amount=refund.amount,
                method=refund.method,
                reference=refund.reference,
                remaining=self.s.refund_due,
            )
        )

    def owed(self) -> int:
        """What a payment may still pay off (read before `paid_total` counts it): the balance, or,
        under a settlement offer, what is left of the settlement's amount; nothing once settled."""
        s = self.s
        if s.resolution == Resolution.SETTLED:
            return 0
        owed = max(s.balance, 0)
        offer = s.offer
        if s.resolution is None and offer is not None and offer.amount_due is not None:
            owed = min(owed, max(offer.amount_due - (s.paid_total - offer.paid_before), 0))
        return owed

    def on_opt_out(self, channel: Channel | None) -> None:
        target = self.strategy.handlers.opt_out_route(channel)
        if channel is None:
            self.s.opted_out = tuple(Channel)
            if not self.route(target):
                self.close(Resolution.OPTED_OUT)
            return
        if channel not in self.s.opted_out:
            self.s.opted_out = (*self.s.opted_out, channel)
        if self.s.hold is None:
            self.route(target)

    def on_message_event(self, event: ev.MessageEvent) -> None:
        handlers = self.strategy.handlers
        if event.event == "opened":
            self.counters(opened=1)
            target = handlers.message_opened
        elif event.event == "clicked":
            self.counters(clicked=1)
            target = handlers.message_clicked
        elif event.event in ("bounced", "failed"):
            if event.channel not in self.s.invalid:
                self.s.invalid = (*self.s.invalid, event.channel)
            target = handlers.message_failed
        else:
            return
        if self.s.hold is None:
            self.route(target)

    def on_send_blocked(self, event: ev.SendBlocked) -> None:
        # The contact was counted when planned; it never happened, so it must not weigh on caps.
        for index in range(len(self.s.contacts) - 1, -1, -1):
            if self.s.contacts[index].channel == event.channel:
                self.s.contacts = self.s.contacts[:index] + self.s.contacts[index + 1 :]
                self.counters(contacts=-1)
                break
        entry = BlockedContact(
            at=self.now, step=self.s.step, channel=event.channel, rule=event.rule, reason=event.reason
        )
        self.s.blocked = (*self.s.blocked, entry)[-BLOCKED_KEPT:]

    def on_approval(self, event: ev.ApprovalDecision) -> None:
        w = self.s.waiting
        if w is None or w.kind != "approval":
            raise EventRejected(f"nothing waits for approval at step {self.s.step}")
        self.s.waiting = None
        step = self.current_step()
        action = self.current_action()
        for_step = self.s.approved_pc is None and step.approval
        if event.approved:
            self.s.approved_pc = -1 if for_step else self.s.pc
            return
        rejected_to = step.on_rejected if for_step else getattr(action, "on_rejected", None)
        if rejected_to is not None:
            self.goto(rejected_to)
        elif for_step:
            raise InterpreterError(f"step {step.name} needs on_rejected")
        else:
            self.s.pc += 1

    # ---- promises and plans --------------------------------------------------------------------

    def promise_rules(self) -> st.PromiseRules:
        if self.strategy.promises is None:
            raise EventRejected(f"strategy {self.strategy.id} does not take promises to pay")
        return self.strategy.promises

    def plan_rules(self) -> st.PlanRules:
        if self.strategy.plans is None:
            raise EventRejected(f"strategy {self.strategy.id} does not offer payment plans")
        return self.strategy.plans

    def register_promise(self, terms: ev.PromiseTerms) -> None:
        rules = self.promise_rules()
        limits = _promise_limits(rules, self.s)
        today = local_today(self.now, self.tz)
        if terms.amount > limits.max_amount:
            raise EventRejected(f"promise of {terms.amount} exceeds the balance of {limits.max_amount}")
        if terms.due < first_day_after(today):
            raise EventRejected(f"promise date {terms.due} must be after today ({today}) in the debtor's zone")
        latest = limits.latest(today)
        if terms.due > latest:
            raise EventRejected(
                f"promise date {terms.due} is more than {limits.max_days_ahead} days ahead (latest {latest})"
            )
        deadline = local_midnight(terms.due + timedelta(days=rules.grace_days + 1), self.tz)
        self.s.promise = Promise(
            amount=terms.amount, due=terms.due, made_at=self.now, paid_before=self.s.paid_total, deadline=deadline
        )
        self.s.promise_date = terms.due
        self.counters(promises=1)

    def promise_kept(self) -> bool:
        p = self.s.promise
        assert p is not None
        threshold = self.strategy.promises.kept_threshold_pct if self.strategy.promises else 100
        return (self.s.paid_total - p.paid_before) * 100 >= threshold * p.amount

    def settle_promise(self) -> None:
        rules = self.promise_rules()
        kept = self.promise_kept()
        promise = self.s.promise
        assert promise is not None
        self.out.append(act.PromiseSettled(step=self.s.step, kept=kept, amount=promise.amount, due=promise.due))
        self.s.promise = None
        if kept:
            self.counters(promises_kept=1)
            if self.s.balance > 0 and self.s.hold is None:
                self.route(rules.on_kept)
        else:
            self.counters(promises_broken=1)
            if self.s.hold is None:
                self.route(rules.on_broken)

    def register_plan(self, terms: ev.PlanTerms) -> None:
        rules = self.plan_rules()
        limits = _plan_limits(rules, self.s)
        today = local_today(self.now, self.tz)
        if terms.installments > limits.max_installments:
            raise EventRejected(
                f"plan of {terms.installments} installments exceeds the maximum of {limits.max_installments}"
            )
        if terms.frequency not in limits.frequencies:
            offered = ", ".join(limits.frequencies)
            raise EventRejected(f"frequency {terms.frequency} is not offered; offered: {offered}")
        minimum = limits.min_down_payment
        if terms.down_payment < minimum:
            raise EventRejected(
                f"down payment {terms.down_payment} is below the minimum of {minimum} ({limits.min_down_payment_pct}%)"
            )
        if terms.down_payment >= limits.balance:
            raise EventRejected("down payment covers the whole balance; record a promise instead")
        if terms.first_due < first_day_after(today):
            raise EventRejected(f"first due date {terms.first_due} must be after today ({today})")
        rest = self.s.balance - terms.down_payment
        amounts = [rest // terms.installments] * terms.installments
        amounts[-1] += rest - sum(amounts)
        schedule: list[tuple[date, int]] = []
        if terms.down_payment:
            schedule.append((terms.first_due, terms.down_payment))
        offset = 1 if terms.down_payment else 0
        schedule += [
            (add_period(terms.first_due, terms.frequency, i + offset), amount) for i, amount in enumerate(amounts)
        ]
        grace = timedelta(days=rules.grace_days + 1)
        self.s.plan = Plan(
            installments=tuple(
                Installment(due=d, amount=a, deadline=local_midnight(d + grace, self.tz)) for d, a in schedule
            ),
            frequency=terms.frequency,
            paid_before=self.s.paid_total,
        )
        self.s.offer = None
        self.s.promise = None

    def plan_progress(self) -> None:
        plan = self.s.plan
        assert plan is not None
        paid = self.s.paid_total - plan.paid_before
        cumulative = 0
        updated = []
        for inst in plan.installments:
            cumulative += inst.amount
            updated.append(inst.model_copy(update={"settled": inst.settled or paid >= cumulative}))
        self.s.plan = plan.model_copy(update={"installments": tuple(updated)})
        if all(i.settled for i in updated):
            self.s.plan = None

    def installment_missed(self, index: int) -> None:
        rules = self.plan_rules()
        plan = self.s.plan
        assert plan is not None
        insts = list(plan.installments)
        insts[index] = insts[index].model_copy(update={"missed": True})
        missed = plan.missed + 1
        self.s.plan = plan.model_copy(update={"installments": tuple(insts), "missed": missed})
        if missed > rules.missed_tolerated:
            self.s.plan = None
            self.route(rules.on_broken)
        else:
            self.route(rules.on_missed)

    # ---- the step machine ----------------------------------------------------------------------

    def advance(self) -> None:
        self.refresh_wait()
        for _ in range(MAX_ACTIONS_PER_CALL):
            if self.s.resolution is not None or self.s.hold is not None or self.s.waiting is not None:
                return
            step = self.current_step()
            if not self.s.entered:
                self.s.entered = True
                self.apply_fees(step)
                if step.approval and self.s.approved_pc != -1:
                    self.request_approval("step")
                    continue
            action = self.current_action()
            if action is None:
                if step.next is None:
                    raise InterpreterError(f"step {step.name} ran out of actions with no next step")
                self.goto(step.next)
                continue
            self.run_action(step, action)
        raise InterpreterError(
            f"more than {MAX_ACTIONS_PER_CALL} actions without a wait, last at step {self.s.step}: the strategy loops"
        )

    def refresh_wait(self) -> None:
        """Recompute a running wait from its anchor: anchors move with payments and promises."""
        if self.s.resolution is not None or self.s.hold is not None:
            return
        w = self.s.waiting
        action = self.current_action()
        if w is None or w.kind != "timer" or not isinstance(action, st.WaitAction):
            return
        target = self.wait_target(action)
        if target <= self.now:
            self.finish_wait(target)
        elif target != w.until:
            self.s.waiting = Waiting(kind="timer", until=target)

    def finish_wait(self, target: datetime) -> None:
        s = self.s
        s.set_fields(waiting=None, pc=s.pc + 1, last_action_at=max(s.last_action_at, target))
        self.missed = self.catching_up is not None and self.catching_up <= target

    def run_action(self, step: st.Step, action: st.Action) -> None:
        match action:
            case st.SendAction():
                self.contact(action.channel, action.fallback, action.template, {}, action.attach)
            case st.OfferPlanAction():
                terms = {
                    "max_installments": str(action.max_installments),
                    "min_down_payment_pct": action.min_down_payment_pct,
                    "frequencies": ",".join(action.frequencies),
                }
                if self.contact(action.channel, action.fallback, action.template, terms):
                    self.s.offer = Offer(kind="plan", terms=terms, paid_before=self.s.paid_total)
            case st.OfferSettlementAction():
                discount = percent_of(self.s.balance, action.max_discount_pct)
                expires = self.now + timedelta(seconds=action.expires_after_s)
                terms = {
                    "discount_pct": action.max_discount_pct,
                    "amount_due": str(self.s.balance - discount),
                    "expires_at": expires.isoformat(),
                }
                if self.contact(action.channel, action.fallback, action.template, terms):
                    self.s.offer = Offer(
                        kind="settlement",
                        terms=terms,
                        amount_due=self.s.balance - discount,
                        expires_at=expires,
                        paid_before=self.s.paid_total,
                    )
            case st.AgentTaskAction():
                self.agent_task(action)
            case st.WaitAction():
                target = self.wait_target(action)
                if target <= self.now:
                    self.finish_wait(target)
                else:
                    self.s.waiting = Waiting(kind="timer", until=target)
            case st.CheckPaymentAction():
                self.out.append(act.CheckPayment(seq=self.next_seq(), step=step.name))
                self.s.waiting = Waiting(kind="payment_check")
            case st.EscalateLegalAction():
                if action.approval and self.s.approved_pc != self.s.pc:
                    self.request_approval("legal")
                    return
                self.out.append(act.ReferToLegal(seq=self.next_seq(), step=step.name, balance=self.s.balance))
                self.s.stage = Stage.LEGAL
                self.s.last_action_at = self.now
                self.s.pc += 1
            case st.NotifyAction():
                seq = self.next_seq()
                notify = act.NotifyCreditor(
                    seq=seq, step=step.name, event=action.event, data=action.data, balance=self.s.balance
                )
                self.out.append(notify)
                self.s.last_action_at = self.now
                self.s.pc += 1
            case st.BranchAction():
                on = conditions.Conditions(self.s, self.now, self.strategy.edition)
                for case in action.cases:
                    if on.holds(case.when):
                        self.goto(case.goto)
                        return
                if action.otherwise is not None:
                    self.goto(action.otherwise)
                else:
                    self.s.pc += 1
            case st.GotoAction():
                self.goto(action.step)
            case st.EndAction():
                self.close(action.resolution)
            case st.ReevaluateAction():
                segment = matching_segment(self.strategy, self.s, self.now)
                if segment is None:
                    self.s.pc += 1
                    return
                self.s.segment = segment.name
                self.goto(segment.variant_starts.get(self.s.variant or "", segment.start))

    def contact(
        self,
        channel: Channel,
        fallback: tuple[Channel, ...],
        template: str,
        offer: dict[str, str],
        attach: str | None = None,
    ) -> bool:
        """Send on the first usable channel if the policy allows it now. Returns True when sent;
        False when parked until the policy allows it, or skipped because no channel is usable or
        its time fell while the account was held (`catch_up`)."""
        if self.missed and self.skip_missed(channel):
            return False
        chosen = None
        for candidate in (channel, *fallback):
            problem = self.unusable(candidate)
            if problem is None:
                chosen = candidate
                break
            if candidate == channel:
                self.block(candidate, problem[0], problem[1], None)
        if chosen is None:
            self.s.pc += 1
            return False
        if not self.policy_gate(chosen):
            if self.s.waiting is None:  # blocked for good: skip this contact
                self.s.pc += 1
            return False
        self.out.append(
            act.SendMessage(
                seq=self.next_seq(),
                step=self.s.step,
                channel=chosen,
                template=template,
                locale=self.s.account.locale or self.strategy.locale,
                offer=offer,
                # A statement goes where a document can: by email or letter, not on a fallback SMS.
                attach=attach if chosen in (Channel.EMAIL, Channel.LETTER) else None,
            )
        )
        self.record_contact(chosen)
        self.s.last_action_at = self.now
        self.s.pc += 1
        return True

    def skip_missed(self, channel: Channel) -> bool:
        """Skip a contact whose time fell while the account was held, as `catch_up` says:
        `skip_missed` skips each; `latest` all but the last (when a later one fell due too)."""
        policy = self.strategy.catch_up
        if policy == "latest" and not self.later_contact_missed():
            return False
        assert self.catching_up is not None
        held = self.catching_up.isoformat(timespec="minutes")
        self.block(
            channel, "catch-up", f"its time fell while the account was held (since {held}); catch_up: {policy}", None
        )
        self.s.pc += 1
        return True

    def later_contact_missed(self) -> bool:
        """Whether the next wait after the current contact has passed too, so that a later contact
        fell due while held: looked for through the step's contacts, `goto` and `next`; anything
        else (a branch, a task, an approval) ends the look and the current contact counts as the latest."""
        name, index = self.s.step, self.s.pc + 1
        for _ in range(MAX_LOOKAHEAD_STEPS):
            step = self.strategy.steps[name]
            if index == 0 and step.approval:
                return False
            for action in step.actions[index:]:
                if isinstance(action, st.SendAction | st.OfferPlanAction | st.OfferSettlementAction):
                    continue
                if isinstance(action, st.WaitAction):
                    return self.wait_target(action) <= self.now
                if not isinstance(action, st.GotoAction):
                    return False
                name = action.step
                break
            else:
                if step.next is None:
                    return False
                name = step.next
            index = 0
        return False

    def agent_task(self, action: st.AgentTaskAction) -> None:
        problem = self.unusable(Channel.VOICE)
        if problem is not None:
            self.block(Channel.VOICE, problem[0], problem[1], None)
            self.goto(action.outcomes[Outcome.NO_ANSWER])
            return
        if not self.policy_gate(Channel.VOICE):
            if self.s.waiting is None:
                self.goto(action.outcomes[Outcome.NO_ANSWER])
            return
        self.s.task_attempt += 1
        seq = self.next_seq()
        due = self.now + timedelta(seconds=action.due_within_s)
        self.out.append(
            act.CreateAgentTask(
                seq=seq,
                step=self.s.step,
                queue=action.queue,
                due_at=due,
                attempt=self.s.task_attempt,
                outcomes=tuple(action.outcomes),
            )
        )
        self.s.waiting = Waiting(kind="agent", until=due, task_seq=seq, attempt=self.s.task_attempt)

    def agent_task_expired(self) -> None:
        action = self.current_action()
        assert isinstance(action, st.AgentTaskAction)
        w = self.s.waiting
        if w is not None and w.task_seq is not None:
            self.out.append(act.TaskExpired(step=self.s.step, task_seq=w.task_seq, attempt=w.attempt))
        self.s.waiting = None
        if self.s.task_attempt >= action.attempts:
            self.s.last_action_at = self.now
            self.goto(action.outcomes[Outcome.NO_ANSWER])
        else:
            self.retry_later(action)

    def retry_later(self, action: st.AgentTaskAction) -> None:
        """Another attempt after `retry_after`; the policy still decides when the call may happen."""
        self.s.waiting = Waiting(kind="policy", until=self.now + timedelta(seconds=action.retry_after_s))

    def request_approval(self, subject: str) -> None:
        self.out.append(
            act.RequestApproval(seq=self.next_seq(), step=self.s.step, subject="step" if subject == "step" else "legal")
        )
        self.s.waiting = Waiting(kind="approval")

    def apply_fees(self, step: st.Step) -> None:
        if not step.fees or step.name in self.s.fees_applied:
            return
        cap = self.strategy.fee_cap
        dpd = conditions.account_days_past_due(self.s, self.now, self.strategy.edition) if cap is not None else 0
        too_early = cap is not None and dpd < cap.min_days_past_due
        if not too_early:  # a fee the law does not allow yet is charged on a later entry instead
            self.s.fees_applied = (*self.s.fees_applied, step.name)
        for fee in step.fees:
            requested = requested_fee(fee, self.s.balance)
            amount, rule = requested, None
            if cap is not None:
                room = 0 if dpd < cap.min_days_past_due else cap_total(cap, self.s.account.original_amount)
                room = max(0, room - self.s.fees_total)
                if requested > room:
                    amount, rule = room, cap.rule
            if requested == 0:
                continue
            self.out.append(
                act.ApplyFee(seq=self.next_seq(), step=step.name, amount=amount, requested=requested, rule=rule)
            )
            self.s.balance += amount
            self.s.fees_total += amount

    def accrue_interest(self) -> None:
        """Count the strategy's interest up to today and charge its whole minor units (domain/interest.py)."""
        rule = self.strategy.interest
        if rule is None or self.s.resolution is not None:
            return
        s = self.s
        accrual = interest.accrue(
            rule,
            principal_minor=interest.principal(s.balance, s.fees_total, s.interest_total),
            accrued=s.interest_accrued,
            charged=s.interest_total,
            start=s.interest_start,
            counted=s.interest_counted,
            due_date=s.account.due_date,
            today=local_today(self.now, self.tz),
            suspended=s.hold == "dispute",
        )
        s.interest_accrued, s.interest_start, s.interest_counted = accrual.accrued, accrual.start, accrual.counted
        amount = accrual.charge
        if amount <= 0:
            return
        s.balance += amount
        s.interest_total += amount
        self.out.append(
            act.ChargeInterest(
                seq=self.next_seq(), step=s.step, amount=amount, through=accrual.counted, total=s.interest_total
            )
        )

    def wait_target(self, action: st.WaitAction) -> datetime:
        if action.anchor == "previous_step":
            base = self.s.last_action_at
        else:
            day = self.anchor_day(action.anchor)
            if action.business_days:
                day = shift_business_days(self.strategy.policy, day, action.business_days)
            timed = action.until_weekday is not None or action.until_minute is not None
            if self.strategy.edition >= 2 and not timed and action.seconds % 86400 == 0:
                return self.anchored_day_start(day, action)
            base = local_midnight(day, self.tz)
        if action.months:
            base = add_local_months(base, action.months, self.tz)
        target = base + _seconds(action.seconds)
        if action.until_weekday is None and action.until_minute is None:
            return target
        zone = ZoneInfo(self.tz)
        local = target.astimezone(zone)
        minute = action.until_minute if action.until_minute is not None else 0
        day = local.date()
        for _ in range(8):
            candidate = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            if candidate >= local and (action.until_weekday is None or day.weekday() == action.until_weekday.number):
                return candidate.astimezone(ZoneInfo("UTC"))
            day += timedelta(days=1)
        raise AssertionError("unreachable: a weekday recurs within 8 days")

    def anchored_day_start(self, anchor: date, action: st.WaitAction) -> datetime:
        """An anchored wait of whole days with no `until` (second edition): the day counted on
        the debtor's calendar (not in 24-hour steps, which a DST change would shift by an hour),
        at the opening of the policy's first window that day, not at midnight."""
        day = add_months(anchor, action.months) if action.months else anchor
        try:
            day = None if day is None else day + timedelta(days=action.seconds // 86400)
        except OverflowError:
            day = None
        if day is None:
            raise InterpreterError(f"a wait from {anchor.isoformat()} would end outside the calendar")
        minute = day_opening(self.strategy.policy, day)
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    def anchor_day(self, anchor: st.Anchor) -> date:
        """The local date a date anchor stands for."""
        if anchor == "due_date":
            return self.s.account.due_date
        if anchor == "promise_date":
            return self.s.promise_date or local_today(self.now, self.tz)
        if anchor == "end_of_month":
            # The month in which the wait began: the later of its step's start and the action
            # before it (a wait recomputed after the month turned keeps its target).
            began = local_today(max(self.s.step_started_at, self.s.last_action_at), self.tz)
            return began.replace(day=calendar.monthrange(began.year, began.month)[1])
        return self.oldest_unpaid_due()

    def oldest_unpaid_due(self) -> date:
        """The first due date not yet covered by what was paid, oldest dues paid first."""
        return dues.oldest_unpaid_due(self.s.account, self.s.paid_total)
