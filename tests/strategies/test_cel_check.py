"""The condition checker's promise, as a class: nothing it accepts fails at run time.

A Hypothesis generator writes random conditions over the declared account variables (mostly
well-typed, some deliberately not, with arithmetic near the variables' bounds, divisions, macros,
ternaries and both sides of `&&` and `||`), and random accounts within the declared types and
bounds. Every condition the checker accepts must evaluate to a bool on every account, through the
very function the interpreter calls.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import conditions
from domain.account import AccountSnapshot
from domain.errors import InterpreterError
from domain.state import AccountState
from domain.types import Stage
from strategies.cel_check import check
from strategies.compiler import compile_text
from strategies.loader import StrategyInvalid

KINDS = ("int", "double", "string", "bool", "list_string", "list_int")
VARS = {
    kind: [n for n, v in conditions.VARIABLES.items() if v.type == {"list_string": "list(string)"}.get(kind, kind)]
    for kind in KINDS
}
WORDS = st.sampled_from(["vip", "CL", "CLP", "", "a", "default", "champion", "x y"])
BASE = (Path(__file__).parent / "valid" / "base.yaml").read_text(encoding="utf-8")


def with_condition(condition: str) -> str:
    """base.yaml with its one segment behind `condition` (quoted for YAML)."""
    text = BASE.replace("  - name: all\n", f"  - name: all\n    when: '{condition}'\n", 1)
    assert text != BASE, "base.yaml no longer starts its segments the way this test expects"
    return text


def literal(draw: st.DrawFn, kind: str) -> str:
    match kind:
        case "int":
            big = st.sampled_from([0, 1, -1, 2, 7, 100, 10**6, 10**9, 2**62, -(2**63), 2**63 - 1])
            return str(draw(st.one_of(st.integers(-1000, 1000), big)))
        case "double":
            value = draw(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0.0, 0.5, 1e200, -1e300])))
            return repr(value) if "e" in repr(value) or "." in repr(value) else f"{value}.0"
        case "string":
            return f'"{draw(WORDS)}"'
        case "bool":
            return draw(st.sampled_from(["true", "false"]))
        case "list_string":
            return "[" + ", ".join(f'"{w}"' for w in draw(st.lists(WORDS, min_size=1, max_size=3))) + "]"
    return "[" + ", ".join(str(i) for i in draw(st.lists(st.integers(-5, 5), min_size=1, max_size=3))) + "]"


@st.composite
def expr(draw: st.DrawFn, kind: str, depth: int = 4, scope: tuple[tuple[str, str], ...] = ()) -> str:
    """A condition source of type `kind`; one time in ten an operand of a random type instead."""

    def sub(k: str) -> str:
        if draw(st.integers(0, 9)) == 0:
            k = draw(st.sampled_from(KINDS))
        return draw(expr(k, depth - 1, scope))

    names = [n for n, k in scope if k == kind] + VARS.get(kind, [])
    if depth <= 0 or draw(st.integers(0, 5)) == 0:
        if names and draw(st.booleans()):
            return draw(st.sampled_from(names))
        if kind == "int" and draw(st.integers(0, 4)) == 0:
            return "size(tags)"
        return literal(draw, kind)
    var = f"v{depth}"
    match kind:
        case "bool":
            # Comparisons of numbers come up most: they are where arithmetic can fail.
            k = draw(st.sampled_from(["int", "int", "double", *KINDS]))
            compare = (  # noqa: E731 - one shape, drawn several times below to weight it
                lambda: f"({sub(k)} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))} {sub(k)})"
            )
            shapes = [
                lambda: f"({sub('bool')} && {sub('bool')})",
                lambda: f"({sub('bool')} || {sub('bool')})",
                lambda: f"!{sub('bool')}",
                compare,
                compare,
                compare,
                lambda: f"({sub('string')} in {sub('list_string')})",
                lambda: f"({sub('int')} in {sub('list_int')})",
                lambda: f"({sub('bool')} ? {sub('bool')} : {sub('bool')})",
                lambda: (
                    f"{sub('string')}.{draw(st.sampled_from(['startsWith', 'endsWith', 'contains']))}({sub('string')})"
                ),
                lambda: f"{sub('string')}.matches({draw(st.sampled_from(['^C', '[a-z]+', '(', 'v.p']))!r})",
                lambda: (
                    f"{sub('list_string')}.{draw(st.sampled_from(['exists', 'all', 'exists_one']))}"
                    f"({var}, {draw(expr('bool', depth - 1, (*scope, (var, 'string'))))})"
                ),
            ]
        case "int" | "double":
            shapes = [
                lambda: f"({sub(kind)} {draw(st.sampled_from(['+', '-', '*', '/', '%']))} {sub(kind)})",
                lambda: f"-{sub(kind)}",
                lambda: f"({sub('bool')} ? {sub(kind)} : {sub(kind)})",
                lambda: f"{kind}({sub(draw(st.sampled_from(['int', 'double'])))})",
                lambda: f"size({sub(draw(st.sampled_from(['string', 'list_string'])))})",
            ]
        case "string":
            shapes = [lambda: f"({sub('string')} + {sub('string')})", lambda: f"string({sub('int')})"]
        case "list_string":
            shapes = [
                lambda: f"({sub('list_string')} + {sub('list_string')})",
                lambda: (
                    f"{sub('list_string')}.filter({var}, {draw(expr('bool', depth - 1, (*scope, (var, 'string'))))})"
                ),
            ]
        case _:
            shapes = [
                lambda: f"{sub('list_string')}.map({var}, {draw(expr('int', depth - 1, (*scope, (var, 'string'))))})"
            ]
    return draw(st.sampled_from(shapes))()


def account() -> st.SearchStrategy[dict[str, object]]:
    """A context within the declared types and bounds, with the bounds themselves likely."""
    fields: dict[str, st.SearchStrategy[object]] = {}
    for name, v in conditions.VARIABLES.items():
        if v.type == "int":
            assert v.low is not None
            assert v.high is not None
            fields[name] = st.one_of(st.integers(v.low, v.high), st.sampled_from([v.low, v.high, 0, 1]))
        elif v.type == "double":
            assert v.low is not None
            assert v.high is not None
            fields[name] = st.floats(v.low, v.high, allow_nan=False)
        elif v.type == "string":
            fields[name] = WORDS
        elif v.type == "bool":
            fields[name] = st.booleans()
        else:
            fields[name] = st.lists(WORDS, max_size=3)
    return st.fixed_dictionaries(fields)


def test_nothing_the_checker_accepts_fails_at_run_time() -> None:
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(expression=expr("bool"), accounts=st.lists(account(), min_size=1, max_size=4))
    def accepted_means_it_runs(expression: str, accounts: list[dict[str, object]]) -> None:
        try:
            conditions.compiled(expression)
        except ValueError:  # the generator may write literals CEL refuses to parse (2**63)
            return
        if check(expression, conditions.VARIABLES):
            seen["refused"] += 1
            return
        seen["accepted"] += 1
        for ctx in accounts:
            try:
                assert isinstance(conditions.evaluate(expression, ctx), bool)
            except InterpreterError as exc:
                pytest.fail(f"the checker accepted {expression!r}, which fails on {ctx}: {exc}")

    accepted_means_it_runs()
    # The property is only worth something if both sides are well populated.
    assert seen["accepted"] >= 100, seen
    assert seen["refused"] >= 50, seen


def test_the_declared_types_are_what_the_interpreter_passes() -> None:
    """The checker reasons over VARIABLES; the context the interpreter builds must match them."""
    snapshot = AccountSnapshot(
        account_id="A-1",
        country="CL",
        timezone="America/Santiago",
        currency="CLP",
        balance=150000,
        original_amount=200000,
        due_date=date(2026, 1, 5),
        tags=("vip",),
        risk_score=0.25,
        email="a@example.com",
    )
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    state = AccountState(
        account=snapshot,
        segment="s",
        stage=Stage.OUTREACH,
        step="x",
        step_started_at=now,
        last_action_at=now,
        balance=1,
    )
    ctx = conditions.context(state, now)
    assert set(ctx) == set(conditions.VARIABLES)
    python = {"int": int, "double": float, "string": str, "bool": bool, "list(string)": list}
    for name, value in ctx.items():
        declared = conditions.VARIABLES[name].type
        assert type(value) is python[declared], (name, value, declared)


@pytest.mark.parametrize(
    "condition",
    [
        'tags.exists(t, t == "vip")',
        'tags.all(t, t.startsWith("v")) && tags.exists_one(t, t == "vip")',
        'tags.filter(t, t != "vip").map(t, size(t)).all(n, n < 20)',
        'risk_score < 1 && balance >= money("100,000") / 2',
        'has_email ? country == "CL" : size(tags) > 0',
        'double(balance) * 0.09 > double(money("1,000"))',
        "paid_total * 2 >= original_amount && balance > 0",
        'balance in [money("5,000"), money("10,000 CLP")]',
    ],
)
def test_well_typed_conditions_and_macros_compile(condition: str) -> None:
    """Macros bind their variable: `t` is no unknown variable (issue 9, item 8)."""
    compile_text(with_condition(condition))


@pytest.mark.parametrize(
    "condition",
    [
        'risk_score < 0.3 && balance < "500000"',
        'balance < "500000" || risk_score < 0.3',
        'has_email ? true : tags == "vip"',
        "tags.exists(t, t == 1)",
        "has_email || balance > 5000",
        "paid_total + 5 > original_amount",
        "balance * original_amount > 1",
        'money("5,000 USD") < balance',
    ],
)
def test_an_ill_typed_half_is_refused_wherever_it_sits(condition: str) -> None:
    with pytest.raises(StrategyInvalid):
        compile_text(with_condition(condition))
