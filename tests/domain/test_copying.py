"""The interpreter's fast copies and the account state's assignments behave as pydantic's own, on
the installed pydantic: a copy equals `model_copy`'s, dumps the same, marks the same fields set
and shares nothing mutable with its original; an assignment, one field or several at once, is
what pydantic's `setattr` does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from domain import events as ev
from domain.copying import copied
from domain.interpreter import start
from domain.state import AccountState, Counters, Waiting
from tests.domain.test_interpreter import T0, account, compile_steps

STEPS = """
segments:
  - name: all
    start: first
steps:
  first:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 3d
      - end: paid
"""


@pytest.fixture
def state() -> AccountState:
    return start(compile_steps(STEPS), account(), T0).state


def test_a_copy_is_model_copy(state: AccountState) -> None:
    mine, theirs = copied(state), state.model_copy()
    assert mine == theirs
    assert mine is not state
    assert mine.model_dump(mode="json") == theirs.model_dump(mode="json")
    assert mine.model_fields_set == theirs.model_fields_set
    mine.pc = 7  # the copy's fields are its own
    assert state.pc != 7


def test_a_copy_with_changes_is_model_copy_with_update(state: AccountState) -> None:
    changes = {"segment": "other", "pc": 3}
    mine, theirs = copied(state, **changes), state.model_copy(update=changes)
    assert mine == theirs
    assert mine.model_fields_set == theirs.model_fields_set
    assert state.segment == "all"
    assert state.pc != 3


def test_a_frozen_model_is_copied_without_changing_the_original() -> None:
    counters = Counters()
    bumped = copied(counters, contacts=counters.contacts + 1)
    assert bumped == counters.model_copy(update={"contacts": counters.contacts + 1})
    assert counters.contacts == 0
    with pytest.raises(ValueError, match="frozen"):
        bumped.contacts = 5  # still frozen
    tick = ev.AgentOutcome.model_validate({"kind": "agent_outcome", "code": "no_answer"})
    assert copied(tick, task_seq=4) == tick.model_copy(update={"task_seq": 4})


def test_extra_and_private_values_are_copied_not_shared() -> None:
    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int = 1
        _note: list[int] = PrivateAttr(default_factory=list)

    model = Loose(a=2, b=3)
    model._note.append(1)
    mine, theirs = copied(model), model.model_copy()
    assert mine == theirs
    assert mine.model_extra == {"b": 3}
    assert mine.__pydantic_extra__ is not model.__pydantic_extra__
    assert mine.__pydantic_private__ is not model.__pydantic_private__


def test_the_states_own_setattr_is_pydantics(state: AccountState) -> None:
    until = datetime(2026, 12, 1, 12, tzinfo=UTC)
    mine, theirs = copied(state), copied(state)
    for name, value in (("pc", 9), ("waiting", Waiting(kind="timer", until=until)), ("hold", "paused")):
        setattr(mine, name, value)
        BaseModel.__setattr__(theirs, name, value)
    assert mine == theirs
    assert mine.model_fields_set == theirs.model_fields_set
    with pytest.raises(ValueError, match="no field"):
        mine.colour = "red"  # type: ignore[attr-defined]


def test_setting_several_fields_at_once_is_pydantics_setattr_of_each(state: AccountState) -> None:
    until = datetime(2026, 12, 1, 12, tzinfo=UTC)
    values = {"pc": 0, "step": "second", "waiting": Waiting(kind="timer", until=until), "entered": False}
    mine, theirs = copied(state), copied(state)
    mine.set_fields(**values)
    for name, value in values.items():
        BaseModel.__setattr__(theirs, name, value)
    assert mine == theirs
    assert mine.model_fields_set == theirs.model_fields_set
    assert state.step != "second"  # the copies share nothing with the original
    with pytest.raises(AttributeError, match="colour"):
        mine.set_fields(pc=1, colour="red")
    assert mine.pc == 0  # refused whole: nothing was set
