"""Updates answer as soon as the workflow has applied their event (EARLY_UPDATE_ANSWER), and the
turn's side effects follow; what the answer says is already what the agents' and supervisors'
screens read, and turns still never interleave.

The worker here runs the real activities, but holds the turn's side effects (sends, new tasks,
legal referrals, the turn record) behind a gate the test opens, and logs every activity as it
finishes. With the gate shut, an update that waited for its turn's side effects could not answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clock import server_clock
from journey import publish
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_journeys import account, next_monday_9
from workers import TASK_QUEUE, secret_box, settle

from activities import build_activities
from activities.agent_tasks import AgentTaskActivities
from activities.legal import LegalActivities
from activities.messaging import MessagingActivities
from activities.turns import TurnActivities
from db.models import AccountState as AccountRow
from db.models import AgentTask, Approval, Communication, LegalReferral, OutcomeRecord, Promise
from domain import actions as act
from domain import events as ev
from domain import interpreter
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_file, compile_text
from worker import WORKFLOWS
from workflows.contracts import (
    AccountView,
    AgentTaskInput,
    CampaignInfo,
    ChangeStrategy,
    DebtorInput,
    LegalInput,
    SendInput,
    SendResult,
    TurnRecord,
    debtor_workflow_id,
)
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

CALLS = Path(__file__).resolve().parents[1] / "api" / "strategies" / "calls.yaml"
ANSWER_WITHIN_S = 60  # an answer that waited for the held side effects would never come


class Gate:
    """Holds the turns' side effects until opened; logs (activity, key) as each finishes."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self.log: list[tuple[str, str]] = []

    def shut(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def held(self, name: str, key: str, call: Callable[[], Any]) -> Any:
        self._open.wait(timeout=120)
        return self.passed(name, key, call)

    def passed(self, name: str, key: str, call: Callable[[], Any]) -> Any:
        result = call()
        with self._lock:
            self.log.append((name, key))
        return result

    def index(self, name: str, key: str) -> int:
        return self.log.index((name, key))


def gated_activities(sessions: sessionmaker[Session], gate: Gate, clock: Callable[[], Any]) -> list[Callable[..., Any]]:
    messaging = MessagingActivities(sessions, {}, clock)
    tasks, legal, turns = AgentTaskActivities(sessions), LegalActivities(sessions), TurnActivities(sessions)

    @activity.defn(name="send_message")
    def send_message(input: SendInput) -> SendResult:
        result: SendResult = gate.held("send_message", input.key, lambda: messaging.send_message(input))
        return result

    @activity.defn(name="create_agent_task")
    def create_agent_task(input: AgentTaskInput) -> int:
        found: int = gate.held("create_agent_task", input.key, lambda: tasks.create_agent_task(input))
        return found

    @activity.defn(name="refer_to_legal")
    def refer_to_legal(input: LegalInput) -> int:
        found: int = gate.held("refer_to_legal", input.key, lambda: legal.refer_to_legal(input))
        return found

    @activity.defn(name="record_turn")
    def record_turn(record: TurnRecord) -> None:
        gate.held("record_turn", record.key, lambda: turns.record_turn(record))

    @activity.defn(name="record_update")
    def record_update(record: TurnRecord) -> None:
        gate.passed("record_update", record.key, lambda: turns.record_update(record))

    replaced = {"send_message", "create_agent_task", "refer_to_legal", "record_turn", "record_update"}
    rest = [a for a in build_activities(sessions, {}, clock=clock, secrets=secret_box()) if a.__name__ not in replaced]
    return [*rest, send_message, create_agent_task, refer_to_legal, record_turn, record_update]


@pytest.fixture
async def gate(env: WorkflowEnvironment, sessions: sessionmaker[Session]) -> AsyncIterator[Gate]:
    held = Gate()
    with ThreadPoolExecutor(max_workers=8) as executor:
        running = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            activities=gated_activities(sessions, held, server_clock(env)),
            activity_executor=executor,
        )
        try:
            async with running:
                yield held
        finally:
            held.open()  # never leave an activity thread waiting


@pytest.fixture(scope="module")
def calls() -> CompiledStrategy:
    return compile_file(str(CALLS)).strategy


async def start(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], strategy: CompiledStrategy, **overrides: Any
) -> WorkflowHandle[Any, Any]:
    publish(sessions, strategy)
    acct = account(strategy, next_monday_9(), **overrides)
    return await env.client.start_workflow(
        DebtorWorkflow.run,
        DebtorInput(campaign=CampaignInfo(id="updates"), account=acct, strategy=strategy, strategy_published=True),
        id=debtor_workflow_id("updates", acct.account_id),
        task_queue=TASK_QUEUE,
    )


def read_model(sessions: sessionmaker[Session], workflow_id: str) -> AccountRow:
    with sessions() as session:
        row = session.scalars(select(AccountRow).where(AccountRow.workflow_id == workflow_id)).one()
        session.expunge(row)
        return row


def assert_screen_matches(sessions: sessionmaker[Session], view: AccountView) -> None:
    """The supervisors' list row says what the answer said, at the answer's turn."""
    row = read_model(sessions, view.workflow_id)
    assert (row.version, row.stage, row.step, row.hold, row.resolution) == (
        view.turn,
        view.stage,
        view.step,
        view.hold,
        view.resolution,
    )
    assert (row.balance, row.promise_amount, row.promise_due) == (view.balance, view.promise_amount, view.promise_due)
    assert (row.next_action, row.next_action_at) == (view.next_action, view.next_action_at)


async def test_an_outcome_answers_before_its_side_effects_and_the_screens_already_agree(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], gate: Gate, calls: CompiledStrategy
) -> None:
    handle = await start(env, sessions, calls, account_id="EARLY-1")
    waiting = (await settle(handle)).state.waiting
    assert waiting is not None
    assert waiting.task_seq is not None
    with sessions() as session:
        task = session.scalars(select(AgentTask).where(AgentTask.workflow_id == handle.id)).one()
        assert task.status == "open"
        task_id = task.id
    due = (await env.get_current_time()).date() + timedelta(days=5)

    gate.shut()
    outcome = ev.AgentOutcome(
        code="promise_to_pay",
        task_seq=waiting.task_seq,
        agent="ana",
        note="paga el viernes",
        promise=ev.PromiseTerms(amount=50_000, due=due),
    )
    view = await asyncio.wait_for(handle.execute_update(DebtorWorkflow.record_outcome, outcome), ANSWER_WITHIN_S)

    # Answered while the turn's send is held: the answer did not wait for it.
    assert (view.step, view.stage, view.promise_amount, view.promise_due) == ("promesa", "commitment", 50_000, due)
    assert not await handle.query(DebtorWorkflow.idle)
    turn_key = f"{handle.id}:turn:{view.turn}"
    assert [name for name, _ in gate.log].count("send_message") == 0
    assert gate.log[-1] == ("record_update", turn_key)
    # ...and what the agent's and supervisor's screens read already says what the answer said.
    assert_screen_matches(sessions, view)
    with sessions() as session:
        answered = session.get_one(AgentTask, task_id)
        assert (answered.status, answered.assigned_agent) == ("done", "ana")
        recorded = session.scalars(select(OutcomeRecord)).one()
        assert (recorded.task_id, recorded.code, recorded.agent) == (task_id, "promise_to_pay", "ana")
        promise = session.scalars(select(Promise)).one()
        assert (promise.amount, promise.due_date, promise.status) == (50_000, due, "open")
        assert session.scalars(select(Communication).where(Communication.template == "promesa")).all() == []

    # A second update meanwhile is decided only after the first turn's side effects ran.
    second = await handle.start_update(
        DebtorWorkflow.open_dispute,
        ev.DisputeOpened(reason="no reconoce la deuda"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    gate.open()
    disputed = await second.result()
    assert disputed.turn == view.turn + 1
    settled = await settle(handle)
    assert settled.state.hold == "dispute"

    next_key = f"{handle.id}:turn:{disputed.turn}"
    sends = [i for i, (name, _) in enumerate(gate.log) if name == "send_message"]
    assert len(sends) == 1
    assert gate.index("record_update", turn_key) < sends[0] < gate.index("record_update", next_key)
    # Recorded before its actions, with nothing left that needs them: no second record.
    assert ("record_turn", turn_key) not in gate.log
    assert_screen_matches(sessions, disputed)
    with sessions() as session:
        sent = session.scalars(select(Communication).where(Communication.template == "promesa")).one()
        assert sent.status == "sent"
        assert len(session.scalars(select(OutcomeRecord)).all()) == 1  # written once, by record_update
        call = session.scalars(select(Communication).where(Communication.provider == "agent")).one()
        assert (call.template, call.seq) == ("promise_to_pay", waiting.task_seq)


async def test_an_approval_answers_before_the_referral_and_the_approval_list_agrees(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], gate: Gate, calls: CompiledStrategy
) -> None:
    handle = await start(env, sessions, calls, account_id="EARLY-2", balance=6_000_000, original_amount=6_000_000)
    settled = await settle(handle)
    assert settled.state.waiting is not None
    assert settled.state.waiting.kind == "approval"

    gate.shut()
    decision = ev.ApprovalDecision(approved=True, by="marta")
    view = await asyncio.wait_for(handle.execute_update(DebtorWorkflow.decide_approval, decision), ANSWER_WITHIN_S)

    assert (view.stage, view.resolution) == ("closed", "legal")
    assert_screen_matches(sessions, view)
    with sessions() as session:
        approval = session.scalars(select(Approval)).one()
        assert (approval.status, approval.decided_by) == ("approved", "marta")
        assert session.scalars(select(LegalReferral)).all() == []  # the referral is still held
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    gate.open()
    result = await handle.result()
    assert result.resolution == "legal"
    with sessions() as session:
        referral = session.scalars(select(LegalReferral)).one()
        assert referral.balance == 6_000_000
    (referred,) = [i for i, (name, _) in enumerate(gate.log) if name == "refer_to_legal"]
    assert gate.index("record_update", f"{handle.id}:turn:{view.turn}") < referred


def record(event: dict[str, Any], actions: tuple[Any, ...], waiting_task: int | None) -> TurnRecord:
    state = interpreter_state(waiting_task)
    return TurnRecord(
        key="wf:turn:1",
        workflow_id="wf",
        campaign_id="c",
        strategy_hash="h",
        turn=1,
        at=state.last_action_at,
        event=event,
        actions=actions,
        state=state,
        previous_counters=state.counters,
    )


def interpreter_state(waiting_task: int | None) -> AccountState:
    strategy = compile_file(str(CALLS)).strategy
    started = interpreter.start(strategy, account(strategy, next_monday_9(), account_id="U-1"), next_monday_9()).state
    if waiting_task is None:
        return started.model_copy(update={"waiting": None})
    assert started.waiting is not None
    return started.model_copy(update={"waiting": started.waiting.model_copy(update={"task_seq": waiting_task})})


def task(seq: int) -> act.CreateAgentTask:
    return act.CreateAgentTask(seq=seq, step="llamada", queue="calls", due_at=next_monday_9(), attempt=1, outcomes=())


def test_an_update_turn_is_recorded_again_after_its_actions_only_when_they_matter() -> None:
    """`record_update` writes an update's turn before its actions; the record after them is left
    out unless it has work only they make possible (see TurnRecord.needs_record_after_actions)."""
    named = {"kind": "agent_outcome", "code": "promise_to_pay", "task_seq": 1}
    unnamed = {"kind": "agent_outcome", "code": "promise_to_pay"}
    assert not record(named, (), None).needs_record_after_actions()
    assert not record(named, (task(2),), 2).needs_record_after_actions()  # the account waits for it
    assert record(named, (task(2),), None).needs_record_after_actions()  # created, not waited for: expire it
    assert record(unnamed, (), None).needs_record_after_actions()  # which task it answered: after
    assert not record({"kind": "approval", "approved": True}, (), None).needs_record_after_actions()


async def test_a_move_sent_before_the_first_turn_waits_for_it_instead_of_being_refused(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], calls: CompiledStrategy
) -> None:
    """A campaign moved while it launches reaches accounts started but not yet run: their first
    workflow task carries the start and the update together. Refusing there left such accounts on
    the old version for good (seen in CI: one of three accounts never moved)."""
    handle = await start(env, sessions, calls, account_id="MOVE-EARLY-1")  # no worker polls yet
    text = CALLS.read_text().replace("      - wait: 20d", "      - wait: 21d", 1)
    tuned = compile_text(text, str(CALLS)).strategy
    assert tuned.hash != calls.hash
    publish(sessions, tuned)
    move = asyncio.create_task(
        handle.execute_update(
            DebtorWorkflow.change_strategy, ChangeStrategy(strategy=tuned, by="sergio", published=True)
        )
    )
    await asyncio.sleep(1)  # the update waits with the start for the first poll (ordering, not timing)
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=build_activities(sessions, {}, clock=server_clock(env), secrets=secret_box()),
        activity_executor=ThreadPoolExecutor(max_workers=4),
    ):
        view = await asyncio.wait_for(move, ANSWER_WITHIN_S)
        assert view.strategy_hash == tuned.hash
