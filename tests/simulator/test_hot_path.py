"""The simulator's speed-ups change no result (issue 13): a condition sees only the variables it
names, which must give what the whole context gives, for every condition the shipped strategies
write, on accounts of every shape the Monte Carlo draws."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain import conditions, interpreter
from domain.types import Channel
from simulator.portfolio import PortfolioDoc, balance_bounds, draw_account
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
SHIPPED = sorted([*ROOT.glob("strategies/*.yaml"), *ROOT.glob("strategies/examples/*.yaml")])


def conditions_of(compiled: object) -> list[str]:
    """Every CEL condition in a compiled strategy's JSON (segment and branch `when`s)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "when" and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(compiled)
    return found


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_condition_on_the_variables_it_names_equals_it_on_the_whole_context(path: Path) -> None:
    strategy = compile_file(str(path)).strategy
    written = conditions_of(strategy.model_dump(mode="json"))
    if not written:
        pytest.skip(f"{path.name} writes no condition")
    doc = PortfolioDoc.model_validate({"channels": {"email": 0.5, "sms": 0.5}})
    bounds = balance_bounds(doc, strategy)
    for index in range(40):
        account = draw_account(doc, strategy, bounds, index, 3, START)
        state = interpreter.start(strategy, account, START).state
        for days in (0, 45):
            now = START + timedelta(days=days)
            ctx = conditions.context(state, now, strategy.edition)
            on = conditions.Conditions(state, now, strategy.edition)  # reads each named variable alone
            for expression in written:
                whole = conditions.compiled(expression).execute(ctx)
                assert conditions.evaluate(expression, ctx) == whole, expression
                assert on.holds(expression) == whole, expression


def test_each_variable_read_alone_is_the_whole_contexts() -> None:
    """`Conditions` reads a variable through the same reader `context` uses: on a state with every
    kind of fact set (dues, opt-outs, failures, counters), each variable alone equals the whole."""
    strategy = compile_file(str(ROOT / "strategies/b2b-invoice-reminders.yaml")).strategy
    doc = PortfolioDoc.model_validate({"channels": {"email": 0.5, "sms": 0.5}})
    account = draw_account(doc, strategy, balance_bounds(doc, strategy), 1, 3, START)
    state = interpreter.start(strategy, account, START).state
    state = state.model_copy(update={"opted_out": (Channel.SMS,), "invalid": (Channel.EMAIL,), "paid_total": 5})
    for edition in (1, 2):
        now = START + timedelta(days=40)
        whole = conditions.context(state, now, edition)
        on = conditions.Conditions(state, now, edition)
        for name in conditions.VARIABLES:
            on.holds(f"{name} == {name}")
        assert on._read == whole


def test_a_name_inside_a_string_or_a_longer_name_only_adds_variables() -> None:
    ctx = {"balance": 5, "balance_due": 7, "segment": "balance"}
    assert conditions.evaluate("segment == 'balance' && balance_due > balance", ctx)
