"""Drives one account's real debtor workflow through a scripted journey on Temporal's
time-skipping test server, playing the same parts the simulator's Responder plays: agents answer
tasks with scripted outcomes, supervisors decide approvals, the debtor's scripted events arrive
at their times. So one scenario runs through both and their timelines can be compared.

Between two moves the driver waits until the workflow has nothing in flight (no workflow task,
no activity) and reads its state in the same breath (`workers.settle`), then skips virtual time
straight to the next timer or scripted event.
"""

from __future__ import annotations

import asyncio
import heapq
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clock import skip_to
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from workers import RPC_TIMEOUT, TASK_QUEUE, settle

from db.models import AgentTask, Communication, LegalReferral
from db.repositories import strategies as strategies_repo
from domain import actions as act
from domain import events as ev
from domain import strategy as st
from domain.account import AccountSnapshot
from domain.interpreter import choose_variant
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from simulator.engine import Entry
from simulator.scenario import ScriptedResponder
from workflows.contracts import CampaignInfo, DebtorInput, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

UPDATES = {
    "agent_outcome": DebtorWorkflow.record_outcome,
    "promise": DebtorWorkflow.record_promise,
    "plan": DebtorWorkflow.agree_plan,
    "dispute_opened": DebtorWorkflow.open_dispute,
    "dispute_resolved": DebtorWorkflow.resolve_dispute,
    "approval": DebtorWorkflow.decide_approval,
}
SIGNALS = {
    "payment": "payment_received",
    "opt_out": "opt_out",
    "opt_in": "opt_in",
    "message_event": "message_event",
    "pause": "pause",
    "resume": "resume",
    "close": "close",
}

# A result long poll answers in well under a second here; one that has not answered in this
# long lost its stream and is asked again.
STALLED_CALL = timedelta(seconds=60)


def account_in_variant(strategy: CompiledStrategy, variant: str | None, prefix: str = "ACC") -> str:
    """An account id the champion/challenger split puts in `variant`."""
    for n in range(1000):
        candidate = f"{prefix}-{n}"
        if choose_variant(strategy, candidate) == variant:
            return candidate
    raise AssertionError(f"no account id lands in {variant}")


@dataclass
class JourneyRun:
    handle: WorkflowHandle[Any, Any]
    state: AccountState
    rejected: list[tuple[datetime, str]] = field(default_factory=list)
    status: WorkflowExecutionStatus | None = None
    first_run_id: str | None = None


async def result_of(handle: WorkflowHandle[Any, Any]) -> Any:
    """The workflow's result. The time-skipping server's long poll sometimes returns before the
    completion event is written ("No completion event found"), or loses its stream and never
    answers (hence the deadline); asking again is safe."""
    for _ in range(50):
        try:
            return await handle.result(rpc_timeout=STALLED_CALL)
        except RPCError as exc:
            if exc.status != RPCStatusCode.DEADLINE_EXCEEDED:
                raise
        except RuntimeError as exc:
            if "No completion event found" not in str(exc):
                raise
            await asyncio.sleep(0.05)
    return await handle.result()


async def deliver(handle: WorkflowHandle[Any, Any], event: ev.Event) -> str | None:
    """Send one event as the API would (update or signal); return a rejection's message.
    An update not answered in time is asked again under the same id, which the server
    deduplicates, so it is applied once."""
    if event.kind in UPDATES:
        update_id = str(uuid.uuid4())
        for _ in range(5):
            try:
                await handle.execute_update(
                    UPDATES[event.kind],  # type: ignore[arg-type]
                    event,
                    id=update_id,
                    rpc_timeout=RPC_TIMEOUT,
                )
            except WorkflowUpdateFailedError as exc:
                return str(exc.cause)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                continue
            return None
        raise AssertionError(f"update {event.kind} was never answered")
    await handle.signal(SIGNALS[event.kind], event, rpc_timeout=RPC_TIMEOUT)
    return None


def publish(sessions: sessionmaker[Session], strategy: CompiledStrategy) -> None:
    """Store `strategy` as a published version (once per hash), as the API's publish does."""
    with sessions() as session:
        strategies_repo.publish(session, strategy, source_yaml=strategy.model_dump_json(), published_by="tests")
        session.commit()


async def run_journey(
    env: WorkflowEnvironment,
    strategy: CompiledStrategy,
    account: AccountSnapshot,
    start: datetime,
    days: int,
    scripted: list[tuple[datetime, ev.Event]],
    responder: ScriptedResponder,
    *,
    campaign: str = "camp-1",
    turns_per_run: int | None = None,
    resume: bool = False,
    published_in: sessionmaker[Session] | None = None,
) -> JourneyRun:
    """Start the account's workflow at `start` (or, with `resume`, keep driving the running one)
    and play the journey until `days` after `start` or until the account closes. With
    `published_in`, the strategy is published there first and the account starts as a launch
    starts it (its sends name the published version instead of carrying template and policy)."""
    client: Client = env.client
    start = start.astimezone(UTC)  # count days as the simulator does: in UTC, not across a DST shift
    end = start + timedelta(days=days)
    queue: list[tuple[datetime, int, ev.Event]] = []
    order = 0

    def push(at: datetime, event: ev.Event) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (at, order, event))

    for at, event in scripted:
        push(at, event)
    await skip_to(env, start)
    extra: dict[str, Any] = {"turns_per_run": turns_per_run} if turns_per_run else {}
    if published_in is not None:
        publish(published_in, strategy)
        extra["strategy_published"] = True
    workflow_id = debtor_workflow_id(campaign, account.account_id)
    first_run_id = None
    if not resume:
        first = await client.start_workflow(
            DebtorWorkflow.run,
            DebtorInput(
                campaign=CampaignInfo(id=campaign, creditor_name="Acme"), account=account, strategy=strategy, **extra
            ),
            id=workflow_id,
            task_queue=TASK_QUEUE,
        )
        first_run_id = first.result_run_id
    handle = client.get_workflow_handle_for(DebtorWorkflow.run, workflow_id)  # follows continue-as-new
    run = JourneyRun(handle=handle, state=None, first_run_id=first_run_id)  # type: ignore[arg-type]
    answered: set[int] = set()
    asked: set[tuple[str, int, int]] = set()
    while True:
        settled = await settle(handle)
        run.status = settled.status
        if run.status != WorkflowExecutionStatus.RUNNING:
            break
        state = settled.state  # idle and state from one query, with no task in flight around it
        run.state = state
        if state.closed:
            await result_of(handle)
            run.status = WorkflowExecutionStatus.COMPLETED
            break
        now = await env.get_current_time()
        w = state.waiting
        if w is not None and w.kind == "agent" and w.task_seq is not None and w.task_seq not in answered:
            answered.add(w.task_seq)
            action = strategy.steps[state.step].actions[state.pc]
            assert isinstance(action, st.AgentTaskAction)
            task = act.CreateAgentTask(
                seq=w.task_seq,
                step=state.step,
                queue=action.queue,
                due_at=w.until or now,
                attempt=w.attempt,
                outcomes=tuple(action.outcomes),
            )
            outcome, later = responder.on_task(state, task, now)
            if outcome is not None:
                push(now, outcome.model_copy(update={"task_seq": w.task_seq}))
            for delay, reaction in later:
                push(now + delay, reaction)
        if w is not None and w.kind == "approval" and (state.step, state.pc, state.seq) not in asked:
            asked.add((state.step, state.pc, state.seq))
            request = act.RequestApproval(seq=state.seq, step=state.step, subject="step")
            delay, approved = responder.on_approval(state, request, now)
            push(now + delay, ev.ApprovalDecision(approved=approved, by="simulator"))
        wake = state.wake_at()
        if queue and (wake is None or queue[0][0] <= wake):
            at = queue[0][0]
            if at > end:
                break
            await skip_to(env, at)
            _, _, event = heapq.heappop(queue)
            problem = await deliver(handle, event)
            if problem is not None:
                run.rejected.append((at, problem))
            continue
        if wake is None or wake > end:
            break
        if wake > now:
            await skip_to(env, wake)
        else:
            await asyncio.sleep(0.02)  # the timer is due; its workflow task is on its way
    if run.status != WorkflowExecutionStatus.RUNNING:
        try:
            result = await result_of(handle)
        except Exception as exc:  # say why, not just that it failed
            chain, cause = [], exc
            while cause is not None:
                chain.append(f"{type(cause).__name__}: {cause}")
                cause = cause.__cause__
            raise AssertionError(" <- ".join(chain)) from exc
        run.state = run.state.model_copy(update={"resolution": result.resolution}) if run.state else run.state
    return run


# ---- what the workflow did, read back from the database -----------------------------------------


def communications(sessions: sessionmaker[Session], workflow_id: str) -> list[Communication]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Communication)
                .where(Communication.workflow_id == workflow_id)
                .order_by(Communication.planned_at, Communication.id)
            )
        )


def sent(sessions: sessionmaker[Session], workflow_id: str) -> list[tuple[datetime, str, str | None]]:
    """(planned_at, channel, template) of every message that went out (calls excluded)."""
    return [
        (c.planned_at, c.channel, c.template)
        for c in communications(sessions, workflow_id)
        if c.status == "sent" and c.provider != "agent"
    ]


def tasks(sessions: sessionmaker[Session], workflow_id: str) -> list[AgentTask]:
    with sessions() as session:
        return list(
            session.scalars(select(AgentTask).where(AgentTask.workflow_id == workflow_id).order_by(AgentTask.seq))
        )


def referrals(sessions: sessionmaker[Session], workflow_id: str) -> list[LegalReferral]:
    with sessions() as session:
        return list(
            session.scalars(
                select(LegalReferral).where(LegalReferral.key.like(f"{workflow_id}:%")).order_by(LegalReferral.id)
            )
        )


def workflow_timeline(sessions: sessionmaker[Session], workflow_id: str) -> list[tuple[datetime, str, str]]:
    """The workflow's journey as (time, kind, detail) in the simulator's vocabulary."""
    out: list[tuple[datetime, str, str]] = []
    for c in communications(sessions, workflow_id):
        if c.provider == "agent":
            continue
        if c.status == "blocked":
            out.append((c.planned_at, "blocked", f"{c.channel} {c.blocked_rule}"))
        else:
            out.append((c.planned_at, "send", f"{c.channel} {c.template}"))
    for t in tasks(sessions, workflow_id):
        out.append((t.created_at, "task", f"{t.queue} attempt {t.attempt}"))
    for r in referrals(sessions, workflow_id):
        out.append((r.created_at, "legal", str(r.balance)))
    rank = {"blocked": 0, "send": 1, "task": 2, "legal": 3}  # action order within one turn
    return sorted(out, key=lambda x: (x[0], rank[x[1]]))


def simulator_timeline(entries: list[Entry]) -> list[tuple[datetime, str, str]]:
    out: list[tuple[datetime, str, str]] = []
    for e in entries:
        if e.kind == "send":
            out.append((e.at, "send", e.detail))
        elif e.kind == "blocked":
            rule = e.detail.split(" blocked by ")[1].split(":")[0]
            out.append((e.at, "blocked", f"{e.channel} {rule}"))
        elif e.kind == "task":
            queue = e.detail.split(" in ")[1].split(" ")[0]
            attempt = e.detail.rsplit(" ", 1)[1].rstrip(")")
            out.append((e.at, "task", f"{queue} attempt {attempt}"))
        elif e.kind == "legal":
            out.append((e.at, "legal", e.detail.rsplit(" ", 1)[1]))
    return out  # already in the order things happened
