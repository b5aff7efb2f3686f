"""Outcome codes a strategy declares itself (`outcomes:`): compiled, routed and counted like the
built-in ones, while strategies, tasks and events written before they existed read back the same."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.errors import EventRejected
from domain.interpreter import start, step
from domain.strategy import AgentTaskAction, CompiledStrategy, CustomOutcome
from domain.types import Outcome
from strategies.compiler import compile_file, compile_text, content_hash

HEADER = """
id: unit
name: Unit
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
queues: [calls]
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}"
"""

CUSTOM = """
outcomes:
  - code: deceased
    label: {es-CL: Deudor fallecido, en-US: Debtor deceased}
    right_party_contact: false
  - code: third_party_paying
    label: {es-CL: Paga un tercero}
    right_party_contact: true
segments: [{name: all, start: call}]
steps:
  call:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {no_answer: gone, deceased: gone, third_party_paying: wait, refusal: gone}
  wait:
    stage: contact
    do:
      - wait: 10d
      - goto: call
  gone:
    stage: legal
    do:
      - end: written_off
"""

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # Monday 10:00 in Santiago
BASE = Path(__file__).parents[1] / "strategies" / "valid" / "base.yaml"


def account() -> AccountSnapshot:
    return AccountSnapshot.model_validate(
        {
            "account_id": "A-1",
            "debtor_name": "Ana Pérez",
            "country": "CL",
            "timezone": "America/Santiago",
            "currency": "CLP",
            "balance": 100_000,
            "original_amount": 100_000,
            "due_date": date(2026, 10, 1),
            "phone": "+56912345678",
        }
    )


def compiled() -> CompiledStrategy:
    return compile_text(HEADER + CUSTOM, "unit.yaml").strategy


class TestCompiling:
    def test_declared_codes_are_compiled_with_their_labels_and_meaning(self) -> None:
        s = compiled()
        assert s.outcomes == (
            CustomOutcome(
                code="deceased",
                labels={"es-CL": "Deudor fallecido", "en-US": "Debtor deceased"},
                right_party_contact=False,
            ),
            CustomOutcome(code="third_party_paying", labels={"es-CL": "Paga un tercero"}, right_party_contact=True),
        )
        task = s.steps["call"].actions[0]
        assert isinstance(task, AgentTaskAction)
        assert task.outcomes == {
            "no_answer": "gone",
            "deceased": "gone",
            "third_party_paying": "wait",
            "refusal": "gone",
        }
        # Built-in codes stay enum members, custom ones plain strings.
        assert [type(code) for code in task.outcomes] == [Outcome, str, str, Outcome]

    def test_the_compiled_strategy_round_trips_through_json(self) -> None:
        s = compiled()
        again = CompiledStrategy.model_validate_json(s.model_dump_json())
        assert again == s
        assert content_hash(again) == s.hash

    def test_a_declared_code_no_task_allows_is_a_warning(self) -> None:
        text = HEADER + CUSTOM.replace("third_party_paying: wait, refusal: gone", "refusal: wait")
        result = compile_text(text, "unit.yaml")
        assert any("outcome 'third_party_paying' is declared but no agent_task allows it" in w for w in result.warnings)

    def test_labels_fall_back_to_the_language_then_the_first_one(self) -> None:
        deceased = compiled().outcomes[0]
        assert deceased.label("en-US") == "Debtor deceased"
        assert deceased.label("en-GB") == "Debtor deceased"
        assert deceased.label("pt-BR") == "Deudor fallecido"
        assert deceased.label(None) == "Deudor fallecido"


class TestOlderStrategies:
    def test_a_strategy_without_outcomes_keeps_its_hash_and_its_json(self) -> None:
        s = compile_file(str(BASE)).strategy
        assert s.outcomes == ()
        body = s.model_dump(mode="json")
        # Written before custom outcomes existed: no `outcomes` key at the top.
        del body["outcomes"]
        again = CompiledStrategy.model_validate_json(json.dumps(body))
        assert again == s
        assert again.model_dump(mode="json") == s.model_dump(mode="json")
        assert content_hash(again) == s.hash
        task = next(a for a in again.steps["call"].actions if isinstance(a, AgentTaskAction))
        assert all(isinstance(code, Outcome) for code in task.outcomes)

    def test_old_tasks_and_outcome_events_read_back_as_built_in_codes(self) -> None:
        outcome = ev.AgentOutcome.model_validate_json('{"kind": "agent_outcome", "code": "no_answer"}')
        assert outcome.code is Outcome.NO_ANSWER
        task = act.CreateAgentTask.model_validate_json(
            '{"kind": "agent_task", "seq": 1, "step": "call", "queue": "calls", "due_at": "2026-11-03T13:00:00Z", '
            '"attempt": 1, "outcomes": ["no_answer", "refusal"]}'
        )
        assert task.outcomes == (Outcome.NO_ANSWER, Outcome.REFUSAL)
        assert all(isinstance(code, Outcome) for code in task.outcomes)

    def test_a_custom_code_must_look_like_a_code(self) -> None:
        with pytest.raises(ValueError, match="pattern"):
            ev.AgentOutcome(code="Not A Code")


class TestRouting:
    def test_a_custom_code_routes_like_a_built_in_one_and_is_offered_on_the_task(self) -> None:
        s = compiled()
        r = start(s, account(), T0)
        task = r.actions[0]
        assert isinstance(task, act.CreateAgentTask)
        assert set(task.outcomes) == {"no_answer", "deceased", "third_party_paying", "refusal"}
        r = step(s, r.state, ev.AgentOutcome(code="third_party_paying", task_seq=task.seq), T0)
        assert r.state.step == "wait"
        assert r.state.waiting is not None
        assert r.state.waiting.kind == "timer"

    @pytest.mark.parametrize(
        ("code", "rpc"), [("deceased", 0), ("third_party_paying", 1), ("refusal", 1), ("no_answer", 0)]
    )
    def test_a_custom_code_counts_as_a_right_party_contact_as_declared(self, code: str, rpc: int) -> None:
        s = compiled()
        r = start(s, account(), T0)
        r = step(s, r.state, ev.AgentOutcome(code=code), T0)
        assert r.state.counters.agent_attempts == 1
        assert r.state.counters.right_party_contacts == rpc
        assert r.state.contacts[-1].conversation is bool(rpc)

    def test_a_code_the_task_does_not_allow_is_rejected(self) -> None:
        s = compiled()
        r = start(s, account(), T0)
        with pytest.raises(EventRejected, match="outcome moved_abroad is not allowed at step call"):
            step(s, r.state, ev.AgentOutcome(code="moved_abroad"), T0)

    def test_a_custom_code_takes_no_promise_or_hold(self) -> None:
        s = compiled()
        r = start(s, account(), T0)
        r = step(s, r.state, ev.AgentOutcome(code="deceased"), T0)
        assert (r.state.step, r.state.hold, r.state.promise) == ("gone", None, None)
