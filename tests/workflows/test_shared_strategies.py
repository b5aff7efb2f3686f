"""One compiled strategy per content per worker process (workflows/shared_strategies.py): what makes
sharing it across workflows deterministic (it is immutable, nothing writes into it, and only equal
values are shared), and that a worker really holds one copy however many accounts it caches."""

from __future__ import annotations

import gc
import typing
import weakref
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_journeys import account, next_monday_9
from workers import TASK_QUEUE, settle

from domain.strategy import CompiledStrategy
from simulator.montecarlo import Behaviour, run_many
from strategies.compiler import compile_file
from workflows import shared_strategies
from workflows.contracts import CampaignInfo, ChangeStrategy, DebtorInput, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "strategies").glob("*.yaml"))


def compiled(path: Path) -> CompiledStrategy:
    return compile_file(str(path)).strategy


def models_reachable(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every pydantic model class a value of `model` can contain, through any field type."""
    seen: set[type[BaseModel]] = set()
    todo: list[object] = [model]
    while todo:
        hint = todo.pop()
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            if hint in seen:
                continue
            seen.add(hint)
            todo.extend(field.annotation for field in hint.model_fields.values())
        else:
            todo.extend(typing.get_args(hint))
    return seen


def test_every_model_inside_a_compiled_strategy_is_frozen() -> None:
    """A new nested model that is not frozen would let one workflow change what all share."""
    models = models_reachable(CompiledStrategy)
    assert len(models) > 10  # the walk reached the steps, actions, policy, templates...
    thawed = sorted(m.__name__ for m in models if not m.model_config.get("frozen"))
    assert thawed == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_running_accounts_never_writes_into_the_strategy(path: Path) -> None:
    """Frozen models still hold dicts (steps, templates, outcomes): a year of synthetic accounts
    through the interpreter, every route the random responder takes, leaves them as they were."""
    strategy = compiled(path)
    before = strategy.model_dump(mode="json")
    run_many(strategy, 150, 365, datetime(2026, 11, 2, 12, tzinfo=UTC), Behaviour(answer=0.6, dispute=0.1))
    assert strategy.model_dump(mode="json") == before


def test_equal_strategies_are_held_once_and_a_same_hash_variant_is_kept_apart() -> None:
    first = compiled(SHIPPED[0])
    again = compiled(SHIPPED[0])
    assert first is not again
    kept = shared_strategies.shared(first)
    assert shared_strategies.shared(again) is kept
    # A strategy whose calendar a workflow froze keeps its published hash but is another value.
    variant = kept.model_copy(update={"policy": kept.policy.model_copy(update={"calendar": None})})
    assert variant.hash == kept.hash
    assert shared_strategies.shared(variant) is variant
    assert shared_strategies.shared(compiled(SHIPPED[0])) is kept
    unhashed = kept.model_copy(update={"hash": ""})
    assert shared_strategies.shared(unhashed) is unhashed


def test_decoded_inputs_share_the_process_instance() -> None:
    """The contracts swap the decoded copy at decode time: the SDK keeps the decoded input for
    the workflow's whole life, so swapping later would keep both copies."""
    strategy = shared_strategies.shared(compiled(SHIPPED[1]))
    acct = account(strategy, next_monday_9())
    raw = DebtorInput(campaign=CampaignInfo(id="c"), account=acct, strategy=strategy).model_dump_json()
    one, two = DebtorInput.model_validate_json(raw), DebtorInput.model_validate_json(raw)
    assert one.strategy is strategy
    assert two.strategy is strategy
    change = ChangeStrategy.model_validate_json(ChangeStrategy(strategy=strategy).model_dump_json())
    assert change.strategy is strategy


def test_a_version_no_one_holds_is_let_go() -> None:
    strategy = compiled(SHIPPED[2]).model_copy(update={"hash": "f" * 64})
    assert shared_strategies.shared(strategy) is strategy
    gone = weakref.ref(strategy)
    del strategy
    gc.collect()
    assert gone() is None  # the registry did not keep it alive


def live_copies(hash_: str) -> list[CompiledStrategy]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, CompiledStrategy) and o.hash == hash_]


async def test_a_worker_holds_one_copy_for_all_its_accounts(
    env: WorkflowEnvironment, worker: Worker, sessions: sessionmaker[Session]
) -> None:
    """Five accounts of one strategy started and cached in the worker (this test's process) add
    no CompiledStrategy of that hash to the live objects: each decoded input took the shared one."""
    strategy = shared_strategies.shared(compiled(ROOT / "strategies" / "cl-consumer.yaml"))
    before = [id(c) for c in live_copies(strategy.hash)]
    assert id(strategy) in before
    start = next_monday_9()
    handles = []
    for n in range(5):
        acct = account(strategy, start, account_id=f"SHARED-{n}")
        handles.append(
            await env.client.start_workflow(
                DebtorWorkflow.run,
                DebtorInput(campaign=CampaignInfo(id="shared"), account=acct, strategy=strategy),
                id=debtor_workflow_id("shared", acct.account_id),
                task_queue=TASK_QUEUE,
            )
        )
    for handle in handles:
        settled = await settle(handle)
        assert settled.state.step  # started, waiting, cached in the worker
    assert [id(c) for c in live_copies(strategy.hash)] == before
