"""An interpreter failure inside the debtor workflow holds the account for a supervisor, visibly
(stage `hold`, the reason in the query, the read model and the log), and never leaves a workflow
task failing forever; the simulator reports the same failure for the account instead of crashing.

The checker refuses such strategies (tests/strategies/test_cel_check.py), so these tests build the
compiled strategy past it: they compile a valid condition and swap in one that fails at run time.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from clock import skip_to
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_journeys import account
from workers import TASK_QUEUE, settle

from db.models.read_model import AccountState as AccountRow
from domain.strategy import CompiledStrategy
from simulator.engine import simulate
from simulator.scenario import ScriptedResponder
from strategies.compiler import compile_text, content_hash
from workflows.contracts import CampaignInfo, DebtorInput, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

SAFE = 'risk_score < 0.3 && balance < money("500,000")'
SAFE_COMPILED = "risk_score < 0.3 && balance < 500000"  # as the interpreter runs it
FAILING = 'risk_score < 0.3 && balance < "500000"'  # the condition: int < string on low risk
STRATEGY = """
id: failing-condition
name: A condition that fails at run time
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
segments:
  - name: all
    when: {segment}
    start: reminders
  - name: rest
    start: reminders
steps:
  reminders:
    stage: outreach
    do:
      - send: {{channel: email, template: reminder}}
      - wait: 2d
      - branch:
          - {{if: {branch}, goto: done}}
          - else: done
  done:
    stage: closed
    do:
      - end: written_off
templates:
  reminder:
    es-CL:
      subject: Recordatorio
      body: Hola {{{{ debtor.first_name }}}}, su saldo es {{{{ account.balance | money }}}}.
"""


def failing_strategy(where: str) -> CompiledStrategy:
    """A compiled strategy whose condition at `where` (segment or branch) fails on a low-risk
    account, built past the compiler's checks."""
    text = STRATEGY.format(
        segment=f"'{SAFE}'" if where == "segment" else "'has_email'",
        branch=f"'{SAFE}'" if where == "branch" else "'has_email'",
    )
    compiled = compile_text(text).strategy
    body = json.loads(compiled.model_dump_json())
    swapped = json.dumps(body).replace(json.dumps(SAFE_COMPILED)[1:-1], json.dumps(FAILING)[1:-1])
    assert swapped != json.dumps(body)
    strategy = CompiledStrategy.model_validate_json(swapped)
    return strategy.model_copy(update={"hash": content_hash(strategy)})


@pytest.mark.parametrize("where", ["segment", "branch"])
async def test_a_failing_condition_holds_the_account_with_its_reason(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session], where: str
) -> None:
    strategy = failing_strategy(where)
    start = (await env.get_current_time()) + timedelta(hours=1)
    acct = account(strategy, start, account_id=f"FAIL-{where}", risk_score=0.1)
    workflow_id = debtor_workflow_id("camp-fail", acct.account_id)
    await skip_to(env, start)
    handle = await env.client.start_workflow(
        DebtorWorkflow.run,
        DebtorInput(campaign=CampaignInfo(id="camp-fail", creditor_name="Acme"), account=acct, strategy=strategy),
        id=workflow_id,
        task_queue=TASK_QUEUE,
    )
    if where == "branch":  # the condition runs after the first wait, on a timer's turn
        assert (await asyncio.wait_for(settle(handle), 120)).status == WorkflowExecutionStatus.RUNNING
        await skip_to(env, start + timedelta(days=3))

    assert (await asyncio.wait_for(settle(handle), 120)).status == WorkflowExecutionStatus.RUNNING
    view = await handle.query(DebtorWorkflow.state)
    assert (view.stage, view.hold) == ("hold", "error")
    assert view.hold_reason is not None
    assert FAILING in view.hold_reason
    assert view.next_action is not None
    assert view.next_action.startswith("on hold for a supervisor")

    with sessions() as session:
        row = session.scalars(select(AccountRow).where(AccountRow.workflow_id == workflow_id)).one()
        assert (row.stage, row.hold) == ("hold", "error")
        assert row.next_action is not None
        assert FAILING in row.next_action

    history = await handle.fetch_history()
    failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failed == [], "an interpreter failure must not fail workflow tasks"

    # Nothing more happens on its own: three weeks later the account still waits, held.
    await skip_to(env, start + timedelta(days=21))
    assert (await asyncio.wait_for(settle(handle), 120)).status == WorkflowExecutionStatus.RUNNING
    assert (await handle.query(DebtorWorkflow.state)).hold == "error"


@pytest.mark.parametrize("where", ["segment", "branch"])
def test_the_simulator_reports_the_failure_for_the_account(where: str) -> None:
    strategy = failing_strategy(where)
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    acct = account(strategy, start, account_id=f"SIM-{where}", risk_score=0.1)
    run = simulate(strategy, acct, start, 30, [], ScriptedResponder([]))
    assert run.error is not None
    assert FAILING in run.error
    assert (run.state.hold, str(run.state.stage)) == ("error", "hold")
    assert run.timeline[-1].kind == "error"
