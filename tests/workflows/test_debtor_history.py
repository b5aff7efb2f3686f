"""Long life and determinism of the debtor workflow: continue-as-new on a long journey, and
replay of recorded histories (committed under tests/workflows/histories/), so a change to the
workflow or the interpreter that would break running accounts fails the suite.

To record fresh histories after an intentional, patched change:
    COLLECT_RECORD_HISTORIES=1 bin/test tests/workflows/test_debtor_history.py
Give the fresh journey's file a new name (FRESH_HISTORY) when the change is patched, so the
histories older code recorded stay committed and keep replaying.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from journey import communications, result_of, workflow_timeline
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from test_debtor_journeys import BALANCE, account, assert_same_timeline, cl, journey, next_monday_9  # noqa: F401
from workers import product_converter

from domain.strategy import CompiledStrategy
from domain.types import Resolution
from strategies.compiler import content_hash
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

HISTORIES = Path(__file__).parent / "histories"
# Recorded with updates answering as soon as their event is applied (EARLY_UPDATE_ANSWER) and
# sends naming the published version (SEND_BY_VERSION); journey-promise-dispute-optout.json is
# the same journey as recorded before those patches.
FRESH_HISTORY = "journey-early-answers-sends-by-version.json"


def replayer() -> Replayer:
    return Replayer(workflows=[DebtorWorkflow], workflow_runner=workflow_runner(), data_converter=product_converter())


@pytest.mark.isolated
@pytest.mark.timeout(900)  # spawns its own servers or runs a months-long journey; slow under load
async def test_long_journey_continues_as_new_and_loses_nothing(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    cl: CompiledStrategy,  # noqa: F811
    database_url: str,
) -> None:
    start = next_monday_9()
    acct = account(cl, start)
    real, simulated = await journey(env, cl, acct, start, {"days": 150}, turns_per_run=4, published_in=sessions)

    first_run = env.client.get_workflow_handle(real.handle.id, run_id=real.first_run_id)
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    last_run = await real.handle.fetch_history()
    await replayer().replay_workflow(last_run)  # a run that started from carried state
    if os.environ.get("COLLECT_RECORD_HISTORIES") and database_url.startswith("sqlite"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / "nobody-answers-first-run.json").write_text((await first_run.fetch_history()).to_json())
        (HISTORIES / "nobody-answers-last-run.json").write_text(last_run.to_json())
    result = await result_of(real.handle)
    assert result.resolution == Resolution.LEGAL
    keys = [c.key for c in communications(sessions, real.handle.id)]
    assert len(keys) == len(set(keys))
    assert len(keys) > 4, "fewer contacts than one run's turns: the journey never continued as new"
    assert_same_timeline(sessions, real, simulated)  # the sequence numbers went on across runs
    assert workflow_timeline(sessions, real.handle.id)[-1][1] == "legal"


async def test_a_fresh_history_replays_and_is_recorded_on_request(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    cl: CompiledStrategy,  # noqa: F811
    database_url: str,
) -> None:
    """Every kind of input in one history: timers, activities, updates (outcome, dispute),
    signals (payment, opt-out), the policy moving a contact, a promise kept, the account closed."""
    start = next_monday_9()
    acct = account(cl, start)
    doc = {
        "days": 60,
        "calls": ["no_answer", {"code": "promise_to_pay", "amount": 100_000, "in_days": 5}],
        "events": [
            {"day": 2, "opt_out": "sms"},
            {"day": 9, "dispute": "open"},
            {"day": 11, "dispute": "resolved"},
            {"day": 3, "payment": 50_000, "payment_id": "early"},
        ],
    }
    real, _ = await journey(env, cl, acct, start, doc, published_in=sessions)
    history = await real.handle.fetch_history()
    await replayer().replay_workflow(history)
    if os.environ.get("COLLECT_RECORD_HISTORIES") and database_url.startswith("sqlite"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / FRESH_HISTORY).write_text(history.to_json())


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer().replay_workflow(history)


def test_recorded_histories_exist() -> None:
    assert len(list(HISTORIES.glob("*.json"))) >= 2, "record them: see this module's docstring"


def _plain(path: Path) -> bool:
    """Whether the history's payloads are plain JSON (not encrypted by the codec)."""
    started = json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]
    return bool(base64.b64decode(started["input"]["payloads"][0]["metadata"]["encoding"]) == b"json/plain")


@pytest.mark.parametrize("path", [p for p in sorted(HISTORIES.glob("*.json")) if _plain(p)], ids=lambda p: p.stem)
def test_a_recorded_strategy_reads_back_with_the_hash_it_was_published_with(path: Path) -> None:
    """The strategy in a recorded workflow input validates under today's models and recomputes to
    its own hash: every field added since (`domain.frozen.added`) reads as its old default and is
    left out of the hash, so today's code sees the very version that account started with."""
    started = json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]
    strategy = CompiledStrategy.model_validate(json.loads(base64.b64decode(payload["data"]))["strategy"])
    assert strategy.edition == 1
    assert content_hash(strategy) == strategy.hash
