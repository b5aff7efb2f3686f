"""The what-if's random debtor draws the strategy's own outcome codes (`outcomes:`) with the
chances of the portfolio's `behaviour.outcomes`, only where the open task allows them, counted as
a conversation as the strategy declares; a portfolio that gives them none draws as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.errors import Invalid
from services.whatif import read_portfolio, report, run
from simulator.engine import simulate
from simulator.montecarlo import Job, RandomResponder, analyse
from simulator.portfolio import PortfolioDoc, PortfolioError, balance_bounds, draw_account, stream
from strategies.compiler import compile_file, compile_text
from tests.domain.test_custom_outcomes import HEADER

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)

STRATEGY = (
    HEADER
    + """outcomes:
  - code: deceased
    label: {es-CL: Deudor fallecido}
    right_party_contact: false
  - code: third_party_paying
    label: {es-CL: Paga un tercero}
    right_party_contact: true
segments: [{name: all, start: screen}]
steps:
  screen:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {no_answer: later, refusal: later, right_party_contact: call}
  call:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {no_answer: later, refusal: later, right_party_contact: later, deceased: gone,
                     third_party_paying: later}
  later:
    stage: contact
    do:
      - wait: 3d
      - goto: call
  gone:
    stage: legal
    do:
      - end: written_off
"""
)

# Every call reaches the debtor and nothing else happens by chance: the custom code's route shows.
CERTAIN: dict[str, Any] = {
    "answer": 1.0,
    "wrong_party": 0.0,
    "promise": 0.0,
    "plan": 0.0,
    "dispute": 0.0,
    "pay_after_message": 0.0,
    "self_cure": 0.0,
}


@pytest.fixture(scope="module")
def unit() -> Any:
    return compile_text(STRATEGY).strategy


def portfolio(**behaviour: Any) -> PortfolioDoc:
    return PortfolioDoc.model_validate({"channels": {"sms": 1.0}, "behaviour": behaviour})


def job(strategy: Any, doc: PortfolioDoc, accounts: int = 60, **changes: Any) -> Job:
    base = Job(strategy=strategy, portfolio=doc, accounts=accounts, days=60, start=START, seed=5, baseline=False)
    return replace(base, **changes)


def test_a_certain_custom_outcome_routes_every_account_down_its_step(unit: Any) -> None:
    analysis = analyse(job(unit, portfolio(**CERTAIN, outcomes={"deceased": 1.0})))
    overall = analysis.strategy.overall
    assert overall.resolutions == {"written_off": 60}
    # The first task does not allow it: its share goes to the fallback; the second one draws it.
    assert overall.outcomes == {"right_party_contact": 60, "deceased": 60}
    assert overall.calls == 120
    figures = report(analysis, {}).strategy.overall
    assert figures.outcomes == {"deceased": 60, "right_party_contact": 60}


def test_the_strategy_says_whether_a_custom_outcome_was_a_conversation(unit: Any) -> None:
    def counted(code: str) -> tuple[int, list[str]]:
        doc = portfolio(**CERTAIN, outcomes={code: 1.0})
        account = draw_account(doc, unit, balance_bounds(doc, unit), 0, 5, START)
        responder = RandomResponder(stream(5, 0, "calls"), doc.behaviour, message_rng=stream(5, 0, "messages"))
        ran = simulate(unit, account, START, 20, [], responder)  # calls a week apart (CL-F1)
        return ran.state.counters.right_party_contacts, [e.detail for e in ran.timeline if e.kind == "call"]

    # deceased is no conversation: only the first call (right_party_contact) counts.
    assert counted("deceased") == (1, ["call outcome right_party_contact", "call outcome deceased"])
    # third_party_paying is one: every call counts, and it routes to `later`, which calls again.
    rpc, calls = counted("third_party_paying")
    assert calls[:3] == [
        "call outcome right_party_contact",
        "call outcome third_party_paying",
        "call outcome third_party_paying",
    ]
    assert rpc == len(calls)


def test_custom_chances_share_the_right_party_contact(unit: Any) -> None:
    doc = portfolio(answer=1.0, wrong_party=0.0, promise=0.0, plan=0.0, dispute=0.0, outcomes={"deceased": 0.25})
    overall = analyse(job(unit, doc, 400)).strategy.overall
    # Each second-task call ends in deceased with chance 1/4, else in the fallback: about a quarter
    # of those calls, and every account that drew it is written off.
    deceased = overall.outcomes["deceased"]
    assert overall.resolutions.get("written_off", 0) == deceased
    second_task = overall.calls - 400  # the first task's call of each account
    assert 0.18 < deceased / second_task < 0.32


def test_a_code_no_agent_task_allows_is_refused(unit: Any) -> None:
    doc = portfolio(outcomes={"deceasd": 0.1})
    with pytest.raises(PortfolioError) as raised:
        analyse(job(unit, doc))
    assert raised.value.where == "behaviour.outcomes.deceasd"
    assert "no agent task of the strategy allows outcome 'deceasd'" in raised.value.message
    assert "deceased, third_party_paying" in raised.value.message
    with pytest.raises(Invalid) as refused:
        run(job(unit, doc), {}, max_accounts=100)
    assert [f.pointer for f in refused.value.fields] == ["/portfolio/behaviour/outcomes/deceasd"]
    # A shipped strategy declares no code of its own: any is refused.
    cl = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    with pytest.raises(PortfolioError, match="its own codes on agent tasks: none"):
        analyse(job(cl, portfolio(outcomes={"deceased": 0.1})))


def test_a_code_the_other_arm_allows_is_taken(unit: Any) -> None:
    cl = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    doc = portfolio(outcomes={"deceased": 0.1})
    analysis = analyse(job(cl, doc, 20, other=unit))
    assert "deceased" not in analysis.strategy.overall.outcomes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("behaviour: {outcomes: {deceased: 1.5}}", "behaviour.outcomes.deceased: must be at most 1.0, got 1.5"),
        ("behaviour: {outcomes: {Deceased: 0.1}}", "'Deceased' must be a lower_snake_case name"),
        ("behaviour: {outcomes: {refusal: 0.1}}", "refusal: built-in outcome"),
        (
            "behaviour: {promise: 0.5, outcomes: {deceased: 0.3, gone: 0.3}}",
            "promise + plan + dispute + outcomes is 1.23; at most 1",
        ),
    ],
)
def test_bad_chances_are_told_at_their_line(text: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_portfolio(text)
    details = " ".join(f.detail for f in refused.value.fields)
    assert message in details
    assert all(f.line == 1 for f in refused.value.fields)


def test_no_custom_chances_draw_as_before() -> None:
    """Figures of a fixed run, the same as before custom codes could be drawn (measured on the
    code before them), and the same analysis whether behaviour.outcomes is left out or empty."""
    cl = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    base = job(cl, PortfolioDoc(), 300, days=120, seed=11, baseline=True)
    before = analyse(base)
    g = before.strategy.overall
    assert (g.placed, g.collected, g.calls, g.contacts, g.reached_legal) == (537044107, 166401216, 617, 1969, 196)
    assert g.resolutions == {"legal": 196, "paid": 84, "written_off": 20}
    empty = PortfolioDoc.model_validate({"behaviour": {"outcomes": {}}})
    assert analyse(replace(base, portfolio=empty)) == before


def test_zero_custom_chances_change_nothing(unit: Any) -> None:
    left_out = analyse(job(unit, portfolio(), 200))
    zero = analyse(job(unit, portfolio(outcomes={"deceased": 0.0, "third_party_paying": 0.0}), 200))
    assert zero.strategy == left_out.strategy
    assert "deceased" not in left_out.strategy.overall.outcomes
