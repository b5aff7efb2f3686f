"""The debtor workflow: one durable run per account and campaign, a thin shell around the pure
interpreter (`domain.interpreter`).

The shell owns time and side effects, nothing else: it sleeps until the state's next wake-up,
turns updates and signals into domain events, asks the interpreter what to do, runs each action
as an activity (sends, agent tasks, payment checks, legal referral) and feeds results back as
events. Every turn, side effects included, is serialized by one lock, so an update, a signal and
a timer never interleave; an update answers once its event is applied and leaves its turn's side
effects to the next holder of the lock (see `_handle`). Webhooks to the creditor are the one side
effect that runs outside the lock, one after another in the order turns asked for them (see
`_notify`). Activities are called by name, so this module imports nothing that does I/O and stays
cheap to load in the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

T = TypeVar("T")

with workflow.unsafe.imports_passed_through():
    from domain import actions as act
    from domain import events as ev
    from domain import interpreter
    from domain.errors import DomainError, EventRejected
    from domain.policy import HolidayCalendar
    from domain.state import AccountState, Counters
    from domain.strategy import CompiledStrategy
    from workflows import options
    from workflows import search_attributes as sa
    from workflows.contracts import (
        AccountView,
        AgentTaskInput,
        AssignAgent,
        ChangeStrategy,
        DebtorInput,
        DebtorResult,
        FreezeCalendarInput,
        LegalInput,
        NotifyInput,
        NotifyResult,
        PaymentCheckInput,
        PaymentCheckResult,
        RegisterAccountInput,
        SendInput,
        SendResult,
        Snapshot,
        TurnRecord,
    )

REJECTED = "EventRejected"
# Runs from this patch on never read the installed `holidays` package: a strategy compiled
# before strategies carried holiday dates gets them once from a local activity (see
# `_freeze_calendar`). Runs recorded before it keep the old reading when they replay.
CALENDAR_PATCH = "holiday-calendar-frozen"

# Patch id: an interpreter failure holds the account for a supervisor instead of failing the
# workflow task forever (or, at the start, failing the workflow).
HOLD_ON_FAILURE = "hold-on-interpreter-failure"

# Patch id: an update (outcome, promise, plan, dispute, approval) answers as soon as its event is
# applied to the state, and the turn's side effects follow from the main loop (see `_handle`).
# Like every patch, decided once per run at its first use: a run that handled an update before
# this patch keeps answering after the whole turn until it continues as new.
EARLY_UPDATE_ANSWER = "update-answers-when-applied"

# Patch id: sends name the published strategy version (hash) instead of carrying the template
# and the contact policy (see `_send_input`).
SEND_BY_VERSION = "send-names-strategy-version"

# Patch id: a `notify` webhook is delivered outside the turn lock, in the background, one after
# another in the order the turns asked for them; the run waits for them before it ends or
# continues as new. Before it, the turn waited for the webhook's whole retry budget (about an hour
# and a half with the receiver down), and every later event of the account waited with it.
NOTIFY_APART = "notify-outside-the-turn"


@dataclass(frozen=True)
class _Accepted:
    """A turn the state has taken whose side effects have not run yet."""

    result: interpreter.Result
    now: datetime
    record: TurnRecord  # what the turn decided, as it left the state
    recorded: bool = False  # written before the actions (`record_update`)


def _interpret(call: Callable[..., T], *args: Any) -> T:
    """Run a pure interpreter function. The sandbox's restrictions are lifted for the call
    because the holidays package, when it first builds a country's calendar, looks up gettext
    translations through `locale.normalize`, which the sandbox forbids; only runs recorded before
    CALENDAR_PATCH (strategies without frozen holiday dates) still read that package. Purity of
    `domain/` is enforced by tests/test_layering.py instead."""
    with workflow.unsafe.sandbox_unrestricted():
        return call(*args)


@workflow.defn(name="DebtorWorkflow")
class DebtorWorkflow:
    @workflow.init
    def __init__(self, input: DebtorInput) -> None:
        self._input = input
        # Shared with every workflow of this worker that runs the same version (the input's
        # validator swapped the decoded copy for it: workflows/shared_strategies.py).
        self._strategy: CompiledStrategy = input.strategy
        # The strategy is, as it stands, a published version: sends may name it by hash.
        self._published = input.strategy_published
        self._state: AccountState | None = input.state
        self._turn = input.turn
        self._turns_this_run = 0
        # One turn at a time, side effects included: whoever takes the lock first runs what
        # `_deferred` holds (see `_turn_lock`).
        self._lock = asyncio.Lock()
        self._deferred: list[_Accepted] = []
        self._changed = False
        self._agent: str | None = input.assigned_agent
        self._attributes: dict[str, str] = {}
        self._closed_at: datetime | None = None
        # The last webhook to the creditor still being delivered (NOTIFY_APART); each one waits for
        # the one before it, so this is the tail of the chain and done means all are done.
        self._notifying: asyncio.Task[None] | None = None

    # ---- the run -------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: DebtorInput) -> DebtorResult:
        await self._freeze_calendar()
        if self._state is None:
            await workflow.execute_activity(
                "register_account",
                RegisterAccountInput(
                    workflow_id=self._wf_id,
                    campaign=input.campaign,
                    account=input.account,
                    strategy_id=self._strategy.id,
                    strategy_hash=self._strategy.hash,
                ),
                **options.DATABASE,
            )
            async with self._lock:
                now = workflow.now()
                try:
                    result = _interpret(interpreter.start, self._strategy, input.account, now)
                except EventRejected as exc:
                    raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from exc
                except Exception as exc:
                    if not workflow.patched(HOLD_ON_FAILURE):
                        if isinstance(exc, DomainError):
                            raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from exc
                        raise
                    reason = self._failure("start", exc)
                    result = interpreter.held_at_start(self._strategy, input.account, now, reason)
                await self._commit(result, {"kind": "start"}, now)
        while True:
            if self._deferred:  # an update answered; its turn's side effects run now
                async with self._turn_lock():
                    pass
                continue
            state = self._live
            if state.closed:
                break
            # A run with a webhook still on its way goes on (timers, events) until it is delivered:
            # a new run would not know of it. (Only runs from NOTIFY_APART on have one here.)
            if self._continue_due() and not self._notifies_in_flight():
                await self._quiesce()
                workflow.continue_as_new(
                    DebtorInput(
                        campaign=input.campaign,
                        account=input.account,
                        strategy=self._strategy,
                        state=self._live,
                        turn=self._turn,
                        turns_per_run=input.turns_per_run,
                        assigned_agent=self._agent,
                        send_timeout_s=input.send_timeout_s,
                        strategy_published=self._published,
                    )
                )
            wake = state.wake_at()
            self._changed = False
            if wake is not None and wake <= workflow.now():
                await self._tick()
                continue
            try:
                timeout = None if wake is None else wake - workflow.now()
                await workflow.wait_condition(
                    lambda: self._changed or bool(self._deferred) or self._may_continue(), timeout=timeout
                )
            except TimeoutError:
                await self._tick()
        await self._quiesce()
        final = self._live
        return DebtorResult(
            account_id=final.account.account_id,
            resolution=final.resolution,
            balance=final.balance,
            paid_total=final.paid_total,
            closed_at=self._closed_at,
        )

    async def _freeze_calendar(self) -> None:
        """Give a strategy that names a holiday country but carries no dates (compiled before
        calendars were frozen) its dates, through a local activity whose result history records:
        this run then decides, and replays, the same under any later `holidays` release. A run
        recorded without the patch marker keeps reading the package, as it did when recorded."""
        policy = self._strategy.policy
        if policy.holidays is None or policy.calendar is not None or not workflow.patched(CALENDAR_PATCH):
            return
        async with self._turn_lock():  # no turn may run on the undated policy meanwhile
            calendar = await workflow.execute_local_activity(
                "freeze_holiday_calendar",
                FreezeCalendarInput(country=policy.holidays, on=workflow.now().date()),
                result_type=HolidayCalendar,
                **options.LOCAL,
            )
            self._strategy = self._strategy.model_copy(
                update={"policy": policy.model_copy(update={"calendar": calendar})}
            )
            self._published = False  # its policy is no longer the published version's

    @asynccontextmanager
    async def _turn_lock(self) -> AsyncIterator[None]:
        """The turn lock. Whoever takes it first runs the side effects of a turn an update has
        already answered, so turns never interleave and side effects keep the order of turns.
        (With nothing deferred it is the bare lock: taking a free lock does not yield, so runs
        recorded before EARLY_UPDATE_ANSWER replay unchanged.)"""
        async with self._lock:
            while self._deferred:
                await self._effects(self._deferred.pop(0))
            yield

    def _continue_due(self) -> bool:
        return self._turns_this_run >= self._input.turns_per_run or workflow.info().is_continue_as_new_suggested()

    async def _quiesce(self) -> None:
        """Wait until no handler runs, no answered turn waits for its side effects and no webhook
        is on its way: the run is about to end or continue as new, and neither may drop one."""
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._deferred:
                async with self._turn_lock():
                    pass
            elif self._notifies_in_flight():
                # Not taken when none is (runs recorded before NOTIFY_APART replay unchanged).
                await workflow.wait_condition(lambda: not self._notifies_in_flight())
            else:
                return

    async def _tick(self) -> None:
        async with self._turn_lock():
            wake = self._live.wake_at()
            if wake is not None and wake <= workflow.now():  # a handler may have moved it
                await self._apply(ev.Tick())

    # ---- updates: the caller gets the new state or a clear rejection --------------------------

    @workflow.update(name="record_outcome")
    async def record_outcome(self, outcome: ev.AgentOutcome) -> AccountView:
        if outcome.agent:
            self._agent = outcome.agent
        return await self._handle(outcome)

    @record_outcome.validator
    def _check_outcome(self, outcome: ev.AgentOutcome) -> None:
        self._dry_run(outcome)

    @workflow.update(name="record_promise")
    async def record_promise(self, promise: ev.PromiseMade) -> AccountView:
        return await self._handle(promise)

    @record_promise.validator
    def _check_promise(self, promise: ev.PromiseMade) -> None:
        self._dry_run(promise)

    @workflow.update(name="agree_plan")
    async def agree_plan(self, plan: ev.PlanAgreed) -> AccountView:
        return await self._handle(plan)

    @agree_plan.validator
    def _check_plan(self, plan: ev.PlanAgreed) -> None:
        self._dry_run(plan)

    @workflow.update(name="open_dispute")
    async def open_dispute(self, dispute: ev.DisputeOpened) -> AccountView:
        return await self._handle(dispute)

    @open_dispute.validator
    def _check_dispute(self, dispute: ev.DisputeOpened) -> None:
        self._dry_run(dispute)

    @workflow.update(name="resolve_dispute")
    async def resolve_dispute(self, resolution: ev.DisputeResolved) -> AccountView:
        return await self._handle(resolution)

    @resolve_dispute.validator
    def _check_resolution(self, resolution: ev.DisputeResolved) -> None:
        self._dry_run(resolution)

    @workflow.update(name="decide_approval")
    async def decide_approval(self, decision: ev.ApprovalDecision) -> AccountView:
        return await self._handle(decision)

    @decide_approval.validator
    def _check_decision(self, decision: ev.ApprovalDecision) -> None:
        self._dry_run(decision)

    @workflow.update(name="record_refund")
    async def record_refund(self, refund: ev.RefundRecorded) -> AccountView:
        """A supervisor recorded a refund or credit of an overpayment. (A new handler: histories
        recorded before it never carry it, so they replay unchanged and need no patch.)"""
        return await self._handle(refund)

    @record_refund.validator
    def _check_refund(self, refund: ev.RefundRecorded) -> None:
        self._dry_run(refund)

    @workflow.update(name="change_strategy")
    async def change_strategy(self, change: ChangeStrategy) -> AccountView:
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._turn_lock():
            now = workflow.now()
            try:
                result = _interpret(interpreter.switch_strategy, change.strategy, self._live, change.step, now)
            except DomainError as exc:
                raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from exc
            self._strategy = change.strategy
            self._published = change.published
            event = {"kind": "change_strategy", "strategy_hash": change.strategy.hash, "by": change.by}
            await self._commit(result, event, now)
        return self._view()

    @change_strategy.validator
    def _check_change(self, change: ChangeStrategy) -> None:
        if self._state is None:
            # Started but before its first turn (a campaign moved while it launches): the handler
            # waits for the start and the interpreter then decides, as for every other update.
            return
        try:
            _interpret(interpreter.switch_strategy, change.strategy, self._state, change.step, workflow.now())
        except DomainError as exc:
            raise ApplicationError(str(exc), type=REJECTED) from exc

    # ---- signals: facts from outside; one the account cannot take is logged, not raised ---------

    @workflow.signal(name="payment_received")
    async def payment_received(self, payment: ev.PaymentReceived) -> None:
        await self._signal(payment)

    @workflow.signal(name="opt_out")
    async def opt_out(self, request: ev.OptOut) -> None:
        await self._signal(request)

    @workflow.signal(name="opt_in")
    async def opt_in(self, request: ev.OptIn) -> None:
        await self._signal(request)

    @workflow.signal(name="message_event")
    async def message_event(self, event: ev.MessageEvent) -> None:
        await self._signal(event)

    @workflow.signal(name="pause")
    async def pause(self, request: ev.Pause) -> None:
        await self._signal(request)

    @workflow.signal(name="resume")
    async def resume(self, request: ev.Resume) -> None:
        await self._signal(request)

    @workflow.signal(name="close")
    async def close(self, request: ev.Close) -> None:
        await self._signal(request)

    @workflow.signal(name="assign_agent")
    def assign_agent(self, assignment: AssignAgent) -> None:
        """Not a domain event: who works the account is the API's business, but the workflow
        writes it into the read model and search attributes each turn, so it must know. (A new
        handler: old histories never carry this signal, so replay is unaffected.)"""
        self._agent = assignment.agent
        if self._state is not None:
            self._upsert_attributes()

    # ---- query ---------------------------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> AccountView:
        if self._state is None:
            raise ApplicationError("the account has not started yet")
        return self._view()

    @workflow.query(name="idle")
    def idle(self) -> bool:
        """True when the account waits for time or for the outside world: no turn is running and
        no activity is in flight. Tests and tools use it to know the workflow has settled."""
        return (
            self._state is not None
            and not self._lock.locked()
            and not self._deferred
            and not self._notifies_in_flight()
        )

    @workflow.query(name="snapshot")
    def snapshot(self) -> Snapshot:
        """`idle` and the interpreter's state in one answer, so they describe the same moment.
        Tests' drivers read this between moves (with the server's history length unchanged around
        it) instead of asking `idle` and then `account_state`. Read-only: no history change."""
        return Snapshot(
            idle=self.idle() and workflow.all_handlers_finished(),
            state=self._state,
            turn=self._turn,
        )

    @workflow.query(name="account_state")
    def account_state(self) -> AccountState:
        """The interpreter's whole state: for support and for the simulator parity tests."""
        return self._live

    # ---- the shell -----------------------------------------------------------------------------

    @property
    def _wf_id(self) -> str:
        return workflow.info().workflow_id

    @property
    def _live(self) -> AccountState:
        assert self._state is not None, "state is set before the main loop and every handler runs"
        return self._state

    def _dry_run(self, event: ev.Event) -> None:
        """Validators: try the event on the current state without keeping anything."""
        if self._state is None:
            return  # the handler waits for the start; the interpreter then decides
        try:
            _interpret(interpreter.step, self._strategy, self._state, event, workflow.now())
        except EventRejected as exc:
            raise ApplicationError(str(exc), type=REJECTED) from exc
        except Exception:
            return  # accepted: the handler meets the same failure and holds the account

    async def _handle(self, event: ev.Event) -> AccountView:
        """Apply an update's event and answer with the account's new view.

        From EARLY_UPDATE_ANSWER on, the answer does not wait for the turn's actions (sends, new
        tasks, a legal referral): they are deferred to whoever takes the turn lock next (the main
        loop at once, or a handler already queued for it), before any other turn is decided. What
        the answer says is on the agents' and supervisors' screens before it is given: a local
        activity (`record_update`, no round trip through the server) writes the turn's record
        first (the answered task done, the outcome and the call, a promise, plan or approval
        decision, the read model's row at this turn's version); `record_turn` follows the actions
        only when the record needs them (`TurnRecord.needs_record_after_actions`)."""
        await workflow.wait_condition(lambda: self._state is not None)
        if not workflow.patched(EARLY_UPDATE_ANSWER):
            async with self._turn_lock():
                try:
                    await self._apply(event)
                except DomainError as exc:  # the state moved between validation and the lock
                    raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from exc
            return self._view()
        async with self._turn_lock():
            now = workflow.now()
            try:
                result = self._decide(event, now)
            except DomainError as exc:  # the state moved between validation and the lock
                raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from exc
            accepted = replace(self._accept(result, event.model_dump(mode="json"), now), recorded=True)
            self._deferred.append(accepted)
            await workflow.execute_local_activity("record_update", accepted.record, **options.LOCAL_DATABASE)
            return self._view()

    async def _signal(self, event: ev.Event) -> None:
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._turn_lock():
            try:
                await self._apply(event)
            except DomainError as exc:
                workflow.logger.warning("signal %s rejected: %s", event.kind, exc)

    async def _apply(self, event: ev.Event) -> None:
        now = workflow.now()
        result = self._decide(event, now)
        await self._commit(result, event.model_dump(mode="json"), now)

    def _decide(self, event: ev.Event, now: datetime) -> interpreter.Result:
        """The interpreter's turn for `event`; a rejection is raised, a defect holds the account."""
        try:
            return _interpret(interpreter.step, self._strategy, self._live, event, now)
        except EventRejected:
            raise
        except Exception as exc:
            # Anything else is a defect, not the event's fault: retrying the task would fail the
            # same way forever, so the account is held, visibly, for a supervisor.
            if not workflow.patched(HOLD_ON_FAILURE):
                raise
            return interpreter.hold_for_error(self._live, self._failure(event.kind, exc))

    def _failure(self, what: str, exc: Exception) -> str:
        reason = f"{what}: {exc}" if isinstance(exc, DomainError) else f"{what}: {type(exc).__name__}: {exc}"
        workflow.logger.error("account held for a supervisor after an interpreter failure at %s", reason)
        return reason

    async def _commit(self, result: interpreter.Result, event: Mapping[str, Any], now: datetime) -> None:
        """Keep the new state, run its side effects, record the turn, feed results back."""
        await self._effects(self._accept(result, event, now))

    def _accept(self, result: interpreter.Result, event: Mapping[str, Any], now: datetime) -> _Accepted:
        """Keep the new state; return the turn whose side effects are still to run."""
        previous: Counters = self._state.counters if self._state is not None else result.state.counters
        self._state = result.state
        self._turn += 1
        self._turns_this_run += 1
        self._changed = True
        next_action, next_at = self._next_action()
        record = TurnRecord(
            key=f"{self._wf_id}:turn:{self._turn}",
            workflow_id=self._wf_id,
            campaign_id=self._input.campaign.id,
            strategy_hash=self._strategy.hash,
            turn=self._turn,
            at=now,
            event=dict(event),
            actions=tuple(a for a in result.actions if not isinstance(a, act.SendMessage)),
            state=self._live,
            previous_counters=previous,
            next_action=next_action,
            next_action_at=next_at,
            assigned_agent=self._agent,
        )
        return _Accepted(result=result, now=now, record=record)

    async def _effects(self, turn: _Accepted) -> None:
        """Run a turn's actions in order, record it, then feed their results back as events.
        The state is still the turn's own here: every other turn waits for the turn lock."""
        result, now = turn.result, turn.now
        follow_ups: list[ev.Event] = []
        for action in result.actions:
            follow_ups.extend(await self._perform(action, now))
        if any(isinstance(a, act.AccountClosed) for a in result.actions):
            self._closed_at = now
        if not turn.recorded or turn.record.needs_record_after_actions():
            await workflow.execute_activity("record_turn", turn.record, **options.DATABASE)
        self._upsert_attributes()
        for follow_up in follow_ups:
            try:
                await self._apply(follow_up)
            except DomainError as exc:
                workflow.logger.warning("follow-up %s rejected: %s", follow_up.kind, exc)

    async def _perform(self, action: act.Action, now: datetime) -> list[ev.Event]:
        """Run one side effect; return the events its result means for the account."""
        state = self._live
        key = f"{self._wf_id}:{getattr(action, 'seq', '')}"
        match action:
            case act.SendMessage():
                sent = await workflow.execute_activity(
                    "send_message",
                    self._send_input(action, key, now),
                    result_type=SendResult,
                    **options.send(self._input.send_timeout_s),
                )
                if sent.status == "blocked":
                    return [
                        ev.SendBlocked(
                            seq=action.seq, channel=action.channel, rule=sent.rule or "", reason=sent.reason or ""
                        )
                    ]
                if sent.status == "failed":
                    return [ev.MessageEvent(channel=action.channel, event="failed", seq=action.seq)]
                return []
            case act.CreateAgentTask():
                await workflow.execute_activity(
                    "create_agent_task",
                    AgentTaskInput(
                        key=key,
                        workflow_id=self._wf_id,
                        account_id=state.account.account_id,
                        campaign_id=self._input.campaign.id,
                        task=action,
                        at=now,
                        priority=_priority(state),
                    ),
                    **options.DATABASE,
                )
                return []
            case act.CheckPayment():
                found = await workflow.execute_activity(
                    "check_payments",
                    PaymentCheckInput(
                        workflow_id=self._wf_id,
                        campaign_id=self._input.campaign.id,
                        account_id=state.account.account_id,
                    ),
                    result_type=PaymentCheckResult,
                    **options.DATABASE,
                )
                return [ev.PaymentsChecked(payments=found.payments)]
            case act.ReferToLegal():
                await workflow.execute_activity(
                    "refer_to_legal",
                    LegalInput(
                        key=key, workflow_id=self._wf_id, campaign_id=self._input.campaign.id, state=state, at=now
                    ),
                    **options.DATABASE,
                )
                return []
            case act.NotifyCreditor():
                await self._notify(action, key, now)
                return []
            case _:
                return []  # blocked contacts, fees, approvals, closure: written by record_turn

    async def _notify(self, action: act.NotifyCreditor, key: str, now: datetime) -> None:
        """Tell the creditor's systems. Whatever the receiver answers, the account goes on: the
        answer is on its timeline.

        From NOTIFY_APART on, the webhook is only started here: the turn (and the turn lock) does
        not wait for it, so a receiver that is down and retried for an hour and a half does not
        hold up the account's payments, outcomes and timers meanwhile. The body is what the turn
        decided (its balance, its time), whenever it goes out. Webhooks go one after another, in
        the order turns asked for them, so a receiver never sees `restore_service` before the
        `suspend_service` it undoes; the run waits for the last before it ends or continues as new
        (`_quiesce`)."""
        state = self._live
        notify = NotifyInput(
            key=key,
            workflow_id=self._wf_id,
            campaign_id=self._input.campaign.id,
            account_id=state.account.account_id,
            strategy_id=self._strategy.id,
            strategy_hash=self._strategy.hash,
            step=action.step,
            event=action.event,
            data=action.data,
            balance=action.balance,
            currency=state.account.currency,
            at=now,
            max_attempts=options.NOTIFY_ATTEMPTS,
        )
        if not workflow.patched(NOTIFY_APART):
            await self._deliver(notify, None)  # as recorded before: inside the turn
            return
        self._notifying = asyncio.create_task(self._deliver(notify, self._notifying))

    async def _deliver(self, notify: NotifyInput, previous: asyncio.Task[None] | None) -> None:
        """One webhook, after the one asked for before it (`previous`, which never raises for a
        receiver's answer or a lost worker: see below)."""
        if previous is not None:
            await previous
        try:
            await workflow.execute_activity("notify_creditor", notify, result_type=NotifyResult, **options.NOTIFY)
        except ActivityError as exc:  # the last attempt timed out (a worker lost mid-call): nothing to wait for
            workflow.logger.warning("notify %s gave up: %s", notify.event, exc)

    def _notifies_in_flight(self) -> bool:
        return self._notifying is not None and not self._notifying.done()

    def _may_continue(self) -> bool:
        """A run that put off continuing as new for a webhook may now. (Never true in runs without
        a background webhook, so runs recorded before NOTIFY_APART wake exactly as they did.)"""
        return self._notifying is not None and self._notifying.done() and self._continue_due()

    def _send_input(self, action: act.SendMessage, key: str, now: datetime) -> SendInput:
        """The send's facts. A published version is named by its hash (the activity reads the
        template and the policy from it, once per process); otherwise they travel inline, as all
        sends did before SEND_BY_VERSION."""
        state = self._live
        by_version = self._published and workflow.patched(SEND_BY_VERSION)
        strategy = self._strategy
        promise = (
            ev.PromiseTerms(amount=state.promise.amount, due=state.promise.due) if state.promise is not None else None
        )
        return SendInput(
            key=key,
            workflow_id=self._wf_id,
            seq=action.seq,
            step=action.step,
            campaign=self._input.campaign,
            account=state.account,
            channel=action.channel,
            template_name=action.template,
            strategy_hash=strategy.hash if by_version else None,
            template=None if by_version else strategy.template_for(action.template, action.locale),
            locale=action.locale,
            currency=strategy.currency,
            policy=None if by_version else strategy.policy,
            planned_at=now,
            balance=state.balance,
            fees_total=state.fees_total,
            interest_total=state.interest_total,
            promise=promise,
            offer=action.offer,
            opted_out=state.opted_out,
            paid_total=state.paid_total,
            edition=strategy.edition,
            attach=action.attach,
            attach_template=(
                strategy.template_for(action.attach, action.locale) if action.attach and not by_version else None
            ),
        )

    def _next_action(self) -> tuple[str | None, datetime | None]:
        state = self._live
        if state.closed:
            return None, None
        if state.hold == "error":
            return f"on hold for a supervisor: {state.hold_reason}", None
        if state.hold is not None:
            return f"on hold ({state.hold})", None
        w = state.waiting
        wake = state.wake_at()
        if w is None:
            return (f"deadline at step {state.step}", wake) if wake else (None, None)
        labels = {
            "timer": f"continue step {state.step}",
            "policy": f"contact at step {state.step} when the contact policy allows",
            "agent": f"agent task {w.task_seq} (attempt {w.attempt}) at step {state.step}",
            "approval": f"supervisor approval at step {state.step}",
            "payment_check": f"payment check at step {state.step}",
        }
        return labels[w.kind], wake

    def _upsert_attributes(self) -> None:
        state = self._live
        wanted = {
            sa.CAMPAIGN.name: self._input.campaign.id,
            sa.STAGE.name: str(state.stage),
            sa.SEGMENT.name: state.segment,
            sa.VARIANT.name: state.variant or "",
            sa.STRATEGY_HASH.name: self._strategy.hash,
            sa.AGENT.name: self._agent or "",
        }
        changes = []
        for key in sa.ALL:
            value = wanted[key.name]
            if self._attributes.get(key.name) != value:
                changes.append(key.value_set(value) if value else key.value_unset())
                self._attributes[key.name] = value
        if changes:
            workflow.upsert_search_attributes(changes)

    def _view(self) -> AccountView:
        state = self._live
        next_action, next_at = self._next_action()
        return AccountView(
            workflow_id=self._wf_id,
            campaign_id=self._input.campaign.id,
            account_id=state.account.account_id,
            strategy_id=self._strategy.id,
            strategy_hash=self._strategy.hash,
            stage=str(state.stage),
            step=state.step,
            segment=state.segment,
            variant=state.variant,
            waiting=state.waiting.kind if state.waiting else None,
            open_task_seq=state.waiting.task_seq if state.waiting and state.waiting.kind == "agent" else None,
            next_action=next_action,
            next_action_at=next_at,
            balance=state.balance_due,
            overpaid=state.refund_due,
            paid_total=state.paid_total,
            fees_total=state.fees_total,
            interest_total=state.interest_total,
            currency=state.account.currency,
            hold=state.hold,
            hold_reason=state.hold_reason,
            resolution=state.resolution,
            promise_amount=state.promise.amount if state.promise else None,
            promise_due=state.promise.due if state.promise else None,
            plan_installments=len(state.plan.installments) if state.plan else None,
            plan_missed=state.plan.missed if state.plan else None,
            opted_out=state.opted_out,
            invalid=state.invalid,
            counters=state.counters,
            blocked=state.blocked[-10:],
            assigned_agent=self._agent,
            turn=self._turn,
            limits=_interpret(interpreter.terms_limits, self._strategy, state),
        )


def _priority(state: AccountState) -> int:
    """Agents' queue order: larger balances first (expected recovery); the API refines it."""
    return min(state.balance // 100, 2**31 - 1)
