"""The read model (tasks, outcomes, promises, plans and the account's row in the database) agrees
with the workflow: an agent's task closes exactly as the workflow answered it, so an account whose
unanswered call creates the next call in the same turn keeps taking outcomes (issue 9, item 2)."""

from __future__ import annotations

from accounts_fixture import STRATEGIES, live_state, start_accounts
from api_harness import Api
from sqlalchemy import select

from db.models import AgentTask, OutcomeRecord

REDIAL = STRATEGIES / "redial.yaml"  # call: {no_answer: call, right_party_contact: done}


def account_tasks(api: Api, account_id: int) -> list[AgentTask]:
    with api.sessions() as session:
        return list(
            session.scalars(select(AgentTask).where(AgentTask.account_id == account_id).order_by(AgentTask.seq))
        )


class TestRedial:
    async def test_two_unanswered_calls_then_a_conversation_are_all_taken(self, api: Api) -> None:
        (account,) = await start_accounts(api, REDIAL, 1)
        for code in ("no_answer", "no_answer", "right_party_contact"):
            [task] = [t for t in account_tasks(api, account.id) if t.status == "open"]
            response = await api.http.post(
                f"/agent/tasks/{task.id}/outcome", json={"code": code}, headers=api.as_("agent")
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["task"]["id"], body["task"]["status"]) == (task.id, "done")

        tasks = account_tasks(api, account.id)
        assert [(t.seq, t.status) for t in tasks] == [
            (tasks[0].seq, "done"),
            (tasks[1].seq, "done"),
            (tasks[2].seq, "done"),
        ]
        with api.sessions() as session:
            outcomes = session.execute(
                select(OutcomeRecord.code, OutcomeRecord.task_id)
                .where(OutcomeRecord.account_id == account.id)
                .order_by(OutcomeRecord.id)
            ).all()
        assert [tuple(o) for o in outcomes] == [
            ("no_answer", tasks[0].id),
            ("no_answer", tasks[1].id),
            ("right_party_contact", tasks[2].id),
        ]
        view = await live_state(api, account.workflow_id)
        assert (view.step, view.waiting, view.open_task_seq) == ("done", "timer", None)
