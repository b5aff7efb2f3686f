"""How `collect tasks next | claim` name a task's outcomes: the strategy's own codes with their label."""

from __future__ import annotations

from cli.agents import allowed_outcomes


def test_the_strategys_own_codes_show_their_label() -> None:
    task = {
        "allowed_outcomes": ["no_answer", "deceased", "refusal"],
        "custom_outcomes": [
            {"code": "deceased", "labels": {"es-CL": "Deudor fallecido"}, "right_party_contact": False},
        ],
    }
    assert allowed_outcomes(task) == "no_answer, deceased (Deudor fallecido), refusal"


def test_a_task_without_custom_codes_lists_its_codes() -> None:
    assert allowed_outcomes({"allowed_outcomes": ["no_answer", "promise_to_pay"]}) == "no_answer, promise_to_pay"
