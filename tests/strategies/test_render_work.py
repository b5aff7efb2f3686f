"""Whether a strategy's templates are valid is decided by the work they ask for, counted, never by
the clock: many big plain templates pass however long they take on this machine, and hostile
ones are refused with the same messages on a machine 100 times slower."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hostile_strategies import BASE, CORPUS, Hostile

from strategies import sandbox
from strategies.compiler import compile_text
from strategies.loader import StrategyInvalid

_LINE = (
    "Hola {{ debtor.first_name }}, le escribimos de {{ creditor.name }} por su cuenta {{ account.id }}, "
    "con un saldo de {{ account.balance | money }} al {{ account.due_date | date }}. Puede pagar en "
    "{{ payment_link }} o llamarnos al {{ creditor.phone }}; si ya pagó, ignore este mensaje, gracias.\n"
)
_BODY = _LINE * (19_500 // len(_LINE))  # about 19.5 KB, just under MAX_TEMPLATE_CHARS; no loops


def _big_templates(count: int) -> str:
    """The base strategy with `count` extra templates of about 19.5 KB each."""
    block = "".join(f"        {line}\n" for line in _BODY.splitlines())
    entries = "".join(f"  big{n}:\n    es-CL:\n      subject: Aviso {n}\n      body: |\n{block}" for n in range(count))
    return BASE.replace("templates:\n", "templates:\n" + entries, 1)


def _errors(text: str) -> list[str]:
    try:
        compile_text(text, "s.yaml")
    except StrategyInvalid as exc:
        return [str(e) for e in exc.errors]
    return []


@pytest.fixture
def slow_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every clock the sandbox could read runs 100 times faster: the machine looks 100 times slower."""
    start = time.monotonic()
    real: Callable[[], float] = time.monotonic

    def slow() -> float:
        return start + (real() - start) * 100

    monkeypatch.setattr(sandbox, "clock", slow)
    monkeypatch.setattr(time, "monotonic", slow)


def test_many_big_plain_templates_are_valid() -> None:
    """12 templates of 19.5 KB (about 240 KB, all that fits the compiled-size bound) validate."""
    assert _errors(_big_templates(12)) == []


def test_25_big_plain_templates_meet_only_the_compiled_size_bound() -> None:
    """25 of them (~490 KB) are too big to travel with every account, and that is the only error:
    no template is blamed (they once got "takes longer than 2 s ... avoid big loops")."""
    errors = _errors(_big_templates(25))
    assert len(errors) == 1, errors
    assert "the compiled strategy is" in errors[0]


@pytest.mark.usefixtures("slow_machine")
def test_big_templates_pass_on_a_slow_machine() -> None:
    assert _errors(_big_templates(12)) == []
    errors = _errors(_big_templates(25))
    assert len(errors) == 1, errors
    assert "the compiled strategy is" in errors[0]


_TEMPLATE_ATTACKS = [case for case in CORPUS if case.name.startswith("template_")]


@pytest.mark.parametrize("case", _TEMPLATE_ATTACKS, ids=[c.name for c in _TEMPLATE_ATTACKS])
def test_hostile_templates_are_refused_alike_on_a_slow_machine(case: Hostile, request: pytest.FixtureRequest) -> None:
    normal = _errors(case.text)
    assert normal
    request.getfixturevalue("slow_machine")
    assert _errors(case.text) == normal
