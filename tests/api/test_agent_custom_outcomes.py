"""Outcome codes a strategy declares itself, through the agents' API against a real database and
real debtor workflows: offered on the task with their labels, recorded like the built-in ones,
counted as the strategy says, and refused when the task does not offer them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accounts_fixture import STRATEGIES, live_state, start_accounts
from api_harness import Api
from sqlalchemy import select

from db.models import AgentTask, OutcomeRecord
from db.repositories import kpi_counters

CUSTOM: Path = STRATEGIES / "custom-outcomes.yaml"
PROBLEM = "application/problem+json"
OUTCOME_FACTS = ("outcome", "right_party", "agent_outcome", "agent_right_party")


def open_task(api: Api, account_id: int) -> AgentTask:
    with api.sessions() as session:
        task = session.scalar(select(AgentTask).where(AgentTask.account_id == account_id).order_by(AgentTask.id.desc()))
    assert task is not None, "the strategy starts with a call"
    return task


class TestCustomOutcomes:
    async def test_the_task_offers_the_strategys_codes_with_their_labels(self, api: Api) -> None:
        (account,) = await start_accounts(api, CUSTOM, 1, campaign_id="camp-custom")
        task = (await api.http.get("/agent/tasks/next", headers=api.as_("agent"))).json()
        assert task["account_id"] == account.id
        assert set(task["allowed_outcomes"]) == {"no_answer", "refusal", "deceased", "third_party_paying"}
        assert task["custom_outcomes"] == [
            {
                "code": "deceased",
                "labels": {"es-CL": "Deudor fallecido", "en-US": "Debtor deceased"},
                "right_party_contact": False,
            },
            {"code": "third_party_paying", "labels": {"es-CL": "Paga un tercero"}, "right_party_contact": True},
        ]
        listed = (await api.http.get("/agent/tasks", headers=api.as_("agent"))).json()["items"]
        assert [t["custom_outcomes"] for t in listed] == [task["custom_outcomes"]]

    async def test_a_custom_code_routes_and_is_counted_as_declared(self, api: Api) -> None:
        deceased, paying = await start_accounts(api, CUSTOM, 2, campaign_id="camp-custom")
        answers: dict[int, Any] = {}
        for account, code in ((deceased, "deceased"), (paying, "third_party_paying")):
            task = open_task(api, account.id)
            response = await api.http.post(
                f"/agent/tasks/{task.id}/outcome", json={"code": code, "note": "dicho"}, headers=api.as_("agent")
            )
            assert response.status_code == 200, response.text
            answers[account.id] = response.json()
        assert answers[deceased.id]["task"]["status"] == "done"
        assert answers[deceased.id]["account"]["resolution"] == "written_off"
        assert (await live_state(api, paying.workflow_id)).step == "recordatorio"

        with api.sessions() as session:
            rows = session.execute(select(OutcomeRecord.code, OutcomeRecord.right_party_contact)).all()
            assert sorted(rows) == [("deceased", False), ("third_party_paying", True)]
            # The fixture writes the accounts without the placement writer: compare the outcomes' counters.
            stored, recounted = (
                {key: value for key, value in counters.items() if key[1] in OUTCOME_FACTS}
                for counters in (
                    kpi_counters.stored(session, "camp-custom"),
                    kpi_counters.recount(session, "camp-custom"),
                )
            )
            assert stored == recounted
        totals: dict[str, int] = {}
        for key, (count, _) in stored.items():
            if key[3] == "total" and key[6] == "":  # all days, not by agent
                totals[key[1]] = totals.get(key[1], 0) + count
        assert (totals["outcome"], totals["right_party"]) == (2, 1)

        with api.sessions() as session:  # the placements too, for the report's population
            kpi_counters.rebuild(session, "camp-custom")
            session.commit()
        report = (await api.http.get("/kpis/campaigns/camp-custom", headers=api.as_("supervisor"))).json()
        overall = report["overall"]
        assert overall["outcomes"] == {"deceased": 1, "third_party_paying": 1}
        assert (overall["dial_attempts"], overall["right_party_contacts"]) == (2, 1)
        agents = (await api.http.get("/kpis/campaigns/camp-custom/agents", headers=api.as_("supervisor"))).json()
        [agent] = agents["agents"]
        assert (agent["outcomes"], agent["right_party_contacts"]) == ({"deceased": 1, "third_party_paying": 1}, 1)

    async def test_a_code_the_task_does_not_offer_is_422_naming_the_ones_it_does(self, api: Api) -> None:
        (account,) = await start_accounts(api, CUSTOM, 1, campaign_id="camp-custom")
        task = open_task(api, account.id)
        response = await api.http.post(
            f"/agent/tasks/{task.id}/outcome", json={"code": "moved_abroad"}, headers=api.as_("agent")
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        detail = response.json()["detail"]
        assert "unknown outcome moved_abroad" in detail
        assert "deceased" in detail
        assert open_task(api, account.id).status == "open"

    async def test_a_built_in_code_the_step_does_not_route_is_still_the_workflows_409(self, api: Api) -> None:
        (account,) = await start_accounts(api, CUSTOM, 1, campaign_id="camp-custom")
        task = open_task(api, account.id)
        response = await api.http.post(
            f"/agent/tasks/{task.id}/outcome", json={"code": "dispute"}, headers=api.as_("agent")
        )
        assert response.status_code == 409, response.text
        assert "outcome dispute is not allowed at step llamada" in response.json()["detail"]
