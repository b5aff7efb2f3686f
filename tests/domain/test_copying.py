"""The interpreter's fast copies, constructions and the account state's assignment behave as
pydantic's own, on the installed pydantic: a copy equals `model_copy`'s, dumps the same, marks the
same fields set and shares nothing mutable with its original; a construction equals the
validating constructor's; an assignment is what pydantic's `setattr` does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from domain import events as ev
from domain.copying import built, copied
from domain.interpreter import start
from domain.policy import ContactPolicy, ContactRecord
from domain.state import AccountState, Counters, Waiting
from domain.types import Channel
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


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (Waiting, {"kind": "timer", "until": datetime(2026, 12, 1, 12, tzinfo=UTC)}),
        (Waiting, {"kind": "agent", "until": datetime(2026, 12, 1, 12, tzinfo=UTC), "task_seq": 3, "attempt": 2}),
        (Waiting, {"kind": "approval"}),
        (ContactRecord, {"channel": Channel.SMS, "at": datetime(2026, 12, 1, 12, tzinfo=UTC), "conversation": True}),
    ],
)
def test_built_is_the_validating_constructor(cls: type[BaseModel], values: dict[str, object]) -> None:
    mine, theirs = built(cls, **values), cls(**values)
    assert mine == theirs
    assert mine.model_dump_json() == theirs.model_dump_json()
    assert repr(mine) == repr(theirs)
    assert mine.model_fields_set == theirs.model_fields_set
    assert hash(mine) == hash(theirs)


def test_built_refuses_what_pydantic_must_build() -> None:
    with pytest.raises(TypeError, match="validators"):
        built(ContactPolicy, name="x")


def test_built_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\]"):
        built(Waiting, kind="timer", colour="red")
    with pytest.raises(TypeError, match=r"missing \['kind'\]"):
        built(Waiting, until=datetime(2026, 12, 1, tzinfo=UTC))


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
