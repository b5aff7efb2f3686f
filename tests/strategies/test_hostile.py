"""Hostile strategies (tests/hostile_strategies.py) are refused quickly, at the line of the
attack, with a message naming it: by the compiler and by `collect strategy validate` alike."""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest
from hostile_strategies import CORPUS, Hostile
from typer.testing import CliRunner

from cli.main import app
from strategies.compiler import compile_text
from strategies.loader import StrategyInvalid

# A hang detector, not a benchmark: each case takes milliseconds; unbounded ones took minutes.
SECONDS = 10
# Peak memory may grow by this much at most (the 1.4 KB alias bomb once took 400 MB).
MAX_PEAK_GROWTH_KB = 100 * 1024


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _assert_refused_at(errors: list[str], case: Hostile) -> None:
    """One `file:line:col: message` names the attack, at its line when it has one."""
    found = [e for e in errors if case.what in e and (case.line is None or re.match(rf"^.+?:{case.line}:\d+: ", e))]
    assert found, f"{case.name}: expected line {case.line} and {case.what!r}; got {errors}"


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_the_compiler_refuses_it_quickly_at_its_line(case: Hostile) -> None:
    peak = _peak_kb()
    began = time.monotonic()
    with pytest.raises(StrategyInvalid) as caught:
        compile_text(case.text, "hostile.yaml")
    assert time.monotonic() - began < SECONDS
    assert _peak_kb() - peak < MAX_PEAK_GROWTH_KB
    _assert_refused_at([str(e) for e in caught.value.errors], case)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_collect_strategy_validate_refuses_it_quickly_at_its_line(case: Hostile, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}.yaml"
    path.write_text(case.text, encoding="utf-8")
    began = time.monotonic()
    result = CliRunner().invoke(app, ["strategy", "validate", str(path)])
    assert time.monotonic() - began < SECONDS
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), lines
    _assert_refused_at(lines, case)


def _chain(steps: int, *, loop: bool) -> str:
    lines = [
        "id: chain",
        "name: Chain",
        "locale: es-CL",
        "currency: CLP",
        "timezone: America/Santiago",
        "policy: {preset: NONE}",
        "segments:",
        "  - {name: all, start: s0}",
        "steps:",
    ]
    for n in range(steps):
        last = n + 1 == steps
        action = "end: written_off" if last and not loop else f"goto: s{0 if last else n + 1}"
        lines += [f"  s{n}:", "    stage: outreach", "    do:", f"      - {action}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loop", [False, True], ids=["chain", "loop"])
def test_a_long_chain_of_steps_is_judged_without_recursion(loop: bool) -> None:
    """The graph checks walk steps with explicit stacks: a 1,001-step chain once failed as
    'maximum recursion depth exceeded' at 1:1; a loop through it is named by its ends."""
    source = _chain(1_500, loop=loop)  # beyond the recursion limit, within the size limit
    if not loop:
        compile_text(source, "chain.yaml")
        return
    with pytest.raises(StrategyInvalid) as caught:
        compile_text(source, "chain.yaml")
    message = str(caught.value)
    assert "loop with no wait in it: s0 -> s1" in message
    assert "more ... -> s1497 -> s1498 -> s1499 -> s0" in message
    assert len(message) < 1_000


def test_a_redial_loop_warns_about_accounts_that_cannot_be_called() -> None:
    """`no_answer: call` on step `call` is fine while the debtor can be called; without a phone
    the agent task routes to no_answer at once, so validate says so (the account would be held)."""
    redial = (Path(__file__).parent.parent / "api" / "strategies" / "redial.yaml").read_text()
    warnings = compile_text(redial, "redial.yaml").warnings
    assert any("cannot be called" in w and "call -> call" in w for w in warnings), warnings
    waited = redial.replace("            no_answer: call\n", "            no_answer: pause\n").replace(
        "  done:\n", "  pause:\n    stage: contact\n    do:\n      - wait: 1d\n      - goto: call\n  done:\n"
    )
    assert not [w for w in compile_text(waited, "redial.yaml").warnings if "cannot be called" in w]
