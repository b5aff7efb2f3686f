"""The interpreter's fast copies (domain/copying.py) and the account state's own `__setattr__`
and `set_fields` change no result: every shipped strategy's what-if analysis, its recorded
timelines and every action the interpreter asked for are the same with pydantic's own
`model_copy` and `setattr`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import domain.interpreter
import simulator.engine
from domain.state import AccountState
from simulator.engine import simulate
from simulator.montecarlo import Job, RandomResponder, analyse
from simulator.portfolio import PortfolioDoc, balance_bounds, draw_account, stream
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
SHIPPED = sorted([*ROOT.glob("strategies/*.yaml"), *ROOT.glob("strategies/examples/*.yaml")])
ACCOUNTS = 120


def pydantics_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def copied(model: Any, **changes: Any) -> Any:
        return model.model_copy(update=changes)

    for module in (domain.interpreter, simulator.engine):
        monkeypatch.setattr(module, "copied", copied)
    monkeypatch.setattr(AccountState, "__setattr__", BaseModel.__setattr__)

    def set_fields(self: AccountState, **values: Any) -> None:
        for name, value in values.items():
            BaseModel.__setattr__(self, name, value)

    monkeypatch.setattr(AccountState, "set_fields", set_fields)


def outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str], list[str]]:
    """The analysis, the timelines and, in order, every action asked for (its values and JSON)."""
    strategy = compile_file(path).strategy
    asked: list[str] = []
    for name in ("start", "step"):
        original = getattr(domain.interpreter, name)

        def recorded(*args: Any, _original: Any = original) -> Any:
            result = _original(*args)
            asked.extend(f"{action!r} {action.model_dump_json()}" for action in result.actions)
            return result

        monkeypatch.setattr(domain.interpreter, name, recorded)
    job = Job(strategy=strategy, portfolio=PortfolioDoc(), accounts=ACCOUNTS, days=120, start=START, seed=3)
    analysis = analyse(job)
    bounds = balance_bounds(job.portfolio, strategy)
    timelines = []
    for index in range(12):
        account = draw_account(job.portfolio, strategy, bounds, index, job.seed, START)
        responder = RandomResponder(
            stream(job.seed, index, "calls"),
            job.portfolio.behaviour,
            message_rng=stream(job.seed, index, "messages"),
            responses=job.responses,
        )
        run = simulate(strategy, account, START, 120, [], responder)
        timelines.append(repr(run.timeline) + run.state.model_dump_json())
    monkeypatch.undo()
    return repr((analysis.strategy, analysis.baseline)), timelines, asked


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_fast_paths_give_pydantics_results(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = outcome(path, monkeypatch)
    assert fast[2], "the interpreter was asked for actions"
    slow = pytest.MonkeyPatch()
    try:
        pydantics_own(slow)
        assert outcome(path, monkeypatch) == fast
    finally:
        slow.undo()
