"""The agents' endpoints against a real database and real debtor workflows on the time-skipping
Temporal server: the next task and its priority, task lists, claiming, outcomes, promises, plans,
notes, disputes and the timeline, with the access rules (ana and beto work `calls`, carla works
`legal`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from accounts_fixture import CALLS, ZONE, StartedAccount, live_state, start_accounts
from api_harness import Api
from ranking_oracle import scored
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Account, AgentNote, AgentTask, OutcomeRecord, Promise
from services import task_priority

PROBLEM = "application/problem+json"


async def debtor_today(api: Api) -> date:
    return (await api.env.get_current_time()).astimezone(ZoneInfo(ZONE)).date()


def task_of(api: Api, account: StartedAccount) -> AgentTask:
    with api.sessions() as session:
        task = session.scalar(select(AgentTask).where(AgentTask.account_id == account.id).order_by(AgentTask.id.desc()))
    assert task is not None, "the strategy's first step hands the account to the calls queue"
    return task


def task_of_session(session: Session, account: StartedAccount) -> AgentTask:
    task = session.scalar(
        select(AgentTask)
        .where(AgentTask.account_id == account.id, AgentTask.status.in_(("open", "claimed")))
        .order_by(AgentTask.id.desc())
    )
    assert task is not None, f"account {account.id} waits for a call"
    return task


async def stored(api: Api, account: StartedAccount) -> task_priority.Priority[int]:
    """The priority stored on the account's open task."""
    with api.sessions() as session:
        return task_priority.of_task(task_of_session(session, account))


async def agree_with_oracle(api: Api) -> None:
    """Every open task's stored priority is what the Python ranking computes from the database,
    and the supervisor's next task is that ranking's first."""
    now = await api.env.get_current_time()
    with api.sessions() as session:
        expected = scored(session, None, (), None, now)
        assert expected, "some task waits"
        for oracle in expected:
            task = session.get_one(AgentTask, oracle.task_id)
            parts = task_priority.of_task(task)
            assert (task.score, parts.recovery_propensity_bp, parts.contact_likelihood_bp, task.score_balance) == (
                oracle.score,
                oracle.recovery_propensity_bp,
                oracle.contact_likelihood_bp,
                oracle.balance,
            )
    response = await api.http.get("/agent/tasks/next", headers=api.as_("supervisor"))
    assert response.json()["id"] == expected[0].task_id


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def pointers(body: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in body.get("errors", [])}


class TestNextTask:
    async def test_the_agent_gets_the_open_task_of_their_queue_with_its_score(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        response = await api.http.get("/agent/tasks/next", headers=api.as_("agent"))
        assert response.status_code == 200, response.text
        task = response.json()
        assert (task["account_id"], task["queue"], task["status"], task["step"]) == (
            account.id,
            "calls",
            "open",
            "llamada",
        )
        assert "promise_to_pay" in task["allowed_outcomes"]
        # No history: both likelihoods are the smoothed 50%.
        assert task["score"] == {
            "score": 37_500,
            "expected_recovery": 75_000,
            "balance": 150_000,
            "currency": "CLP",
            "recovery_propensity_bp": 5_000,
            "contact_likelihood_bp": 5_000,
            "due_soon": False,
        }

    async def test_tasks_come_by_due_time_then_by_score(self, api: Api) -> None:
        small, large, middle = await start_accounts(api, CALLS, 3, balances=[100_000, 900_000, 400_000])
        order = []
        for _ in range(3):
            response = await api.http.get("/agent/tasks/next", headers=api.as_("agent"))
            order.append(response.json()["account_id"])
            claimed = await api.http.post(f"/agent/tasks/{response.json()['id']}/claim", headers=api.as_("agent"))
            assert claimed.status_code == 200
        assert order == [large.id, middle.id, small.id]

        # A task about to expire comes before any score.
        with api.sessions() as session:
            session.execute(update(AgentTask).values(status="open", assigned_agent=None, claimed_at=None))
            session.execute(
                update(AgentTask)
                .where(AgentTask.account_id == small.id)
                .values(due_at=await api.env.get_current_time() + timedelta(minutes=30))
            )
            session.commit()
        response = await api.http.get("/agent/tasks/next", headers=api.as_("agent"))
        assert response.json()["account_id"] == small.id
        assert response.json()["score"]["due_soon"] is True

    async def test_history_of_no_answers_and_broken_promises_lowers_the_score(self, api: Api) -> None:
        answered, unreachable = await start_accounts(api, CALLS, 2, prefix="H")
        (unreliable,) = await start_accounts(api, CALLS, 1, prefix="B", promises_broken=2)
        with api.sessions() as session:
            for n in range(2):
                session.add(OutcomeRecord(key=f"test:{n}", account_id=unreachable.id, code="no_answer", agent="beto"))
            # Whoever writes a score input rescores the debtor's tasks (services/task_priority.py).
            account = session.get(Account, unreachable.id)
            assert account is not None
            task_priority.rescore_debtor(session, account.debtor_id)
            session.commit()
        response = await api.http.get("/agent/tasks/next", headers=api.as_("agent"))
        assert response.json()["account_id"] == answered.id

        listed = {t["account_id"]: t for t in await self._scores(api)}
        assert listed[unreachable.id]["contact_likelihood_bp"] == 2_500  # (0 + 1) / (2 + 2)
        assert listed[unreliable.id]["recovery_propensity_bp"] == 2_500  # (0 + 1) / (0 + 2 + 2)
        assert listed[unreliable.id]["expected_recovery"] == 37_500

    async def _scores(self, api: Api) -> list[dict[str, Any]]:
        """Every open task's score, by claiming them one after another."""
        out = []
        while (response := await api.http.get("/agent/tasks/next", headers=api.as_("agent"))).status_code == 200:
            out.append({"account_id": response.json()["account_id"], **response.json()["score"]})
            await api.http.post(f"/agent/tasks/{response.json()['id']}/claim", headers=api.as_("agent"))
        return out

    async def test_scores_follow_the_debtors_outcomes_promises_and_payments(self, api: Api) -> None:
        """The stored scores move with every input the turns write, on every account of the
        debtor, and stay equal to the ranking that scored every task in Python."""
        first, second, third = await start_accounts(
            api, CALLS, 3, prefix="S", debtor_key="one-debtor", balances=[100_000, 200_000, 300_000]
        )
        await agree_with_oracle(api)

        # No answer on the first account: the debtor's other calls are less likely to connect.
        await self._outcome(api, first, {"code": "no_answer"})
        assert (await stored(api, second)).contact_likelihood_bp == 3_333  # (0 + 1) / (1 + 2)
        await agree_with_oracle(api)

        # A promise on the second account, kept by a payment: the third account's call is worth more.
        due = await debtor_today(api) + timedelta(days=5)
        promise = {"amount": 80_000, "currency": "CLP", "due": due.isoformat()}
        await self._outcome(api, second, {"code": "promise_to_pay", "promise": promise})
        await self._pay(api, second, 80_000, "kp-promise")
        assert (await stored(api, third)).recovery_propensity_bp == 6_666  # (1 + 1) / (1 + 0 + 2)
        await agree_with_oracle(api)

        # A partial payment on the third account lowers the balance its score counts.
        await self._pay(api, third, 50_000, "kp-partial")
        with api.sessions() as session:
            assert task_of_session(session, third).score_balance == 250_000
        await agree_with_oracle(api)

    async def _outcome(self, api: Api, account: StartedAccount, body: dict[str, Any]) -> None:
        task = task_of(api, account)
        response = await api.http.post(f"/agent/tasks/{task.id}/outcome", json=body, headers=api.as_("agent"))
        assert response.status_code == 200, response.text
        await live_state(api, account.workflow_id)

    async def _pay(self, api: Api, account: StartedAccount, amount: int, reference: str) -> None:
        body = {"account_id": account.id, "provider": "khipu", "provider_payment_id": reference, "amount": amount}
        response = await api.http.post("/payments", json=body | {"currency": "CLP"}, headers=api.as_("supervisor"))
        assert response.status_code == 201, response.text
        await live_state(api, account.workflow_id)

    async def test_nothing_in_the_queue_is_204(self, api: Api) -> None:
        await start_accounts(api, CALLS, 1)
        response = await api.http.get("/agent/tasks/next", headers=api.as_("outsider_agent"))
        assert response.status_code == 204
        assert response.content == b""

    async def test_supervisors_take_from_any_queue_and_may_name_one(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        response = await api.http.get("/agent/tasks/next", headers=api.as_("supervisor"))
        assert response.json()["account_id"] == account.id
        other = await api.http.get("/agent/tasks/next", params={"queue": "legal"}, headers=api.as_("supervisor"))
        assert other.status_code == 204

    async def test_strategists_may_not(self, api: Api) -> None:
        response = await api.http.get("/agent/tasks/next", headers=api.as_("strategist"))
        assert "agent" in problem(response, 403)["detail"]


class TestTaskList:
    async def test_an_agent_lists_their_queue_page_by_page(self, api: Api) -> None:
        started = await start_accounts(api, CALLS, 3)
        seen: list[tuple[int, int]] = []
        params: dict[str, Any] = {"limit": 2}
        pages = 0
        while True:
            response = await api.http.get("/agent/tasks", params=params, headers=api.as_("agent"))
            assert response.status_code == 200, response.text
            page = response.json()
            pages += 1
            seen += [(t["id"], t["account_id"]) for t in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert pages == 2
        assert [task_id for task_id, _ in seen] == sorted({task_id for task_id, _ in seen})
        assert sorted(account_id for _, account_id in seen) == [a.id for a in started]
        outsider = await api.http.get("/agent/tasks", headers=api.as_("outsider_agent"))
        assert outsider.json() == {"items": [], "next_cursor": None}

    async def test_a_claimed_task_is_listed_for_its_holder_only(self, api: Api) -> None:
        first, _ = await start_accounts(api, CALLS, 2)
        task = task_of(api, first)
        await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("other_agent"))
        mine = await api.http.get("/agent/tasks", params={"status": "claimed"}, headers=api.as_("other_agent"))
        assert [t["id"] for t in mine.json()["items"]] == [task.id]
        theirs = await api.http.get("/agent/tasks", headers=api.as_("agent"))
        assert task.id not in [t["id"] for t in theirs.json()["items"]]

    @pytest.mark.parametrize(
        ("params", "status", "where"),
        [
            ({"cursor": "not-ours"}, 400, None),
            ({"status": "done"}, 422, "/query/status"),
            ({"limit": 0}, 422, "/query/limit"),
            ({"queue": "a\x00b"}, 422, "/query/queue"),
        ],
    )
    async def test_bad_parameters(self, api: Api, params: dict[str, Any], status: int, where: str | None) -> None:
        body = problem(await api.http.get("/agent/tasks", params=params, headers=api.as_("agent")), status)
        if where:
            assert where in pointers(body)


class TestClaim:
    async def test_claim_then_others_get_409_and_outsiders_404(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = task_of(api, account)
        response = await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("agent"))
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["assigned_agent"]) == ("claimed", "ana")
        assert response.json()["claimed_at"] is not None

        again = await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("agent"))
        assert again.json()["status"] == "claimed"
        assert (
            "claimed by ana"
            in problem(await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("other_agent")), 409)[
                "detail"
            ]
        )
        problem(await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("outsider_agent")), 404)
        nothing = await api.http.get("/agent/tasks/next", headers=api.as_("other_agent"))
        assert nothing.status_code == 204
        with api.sessions() as session:
            row = session.get(AgentTask, task.id)
            assert row is not None
            assert (row.status, row.assigned_agent) == ("claimed", "ana")

    async def test_unknown_and_malformed_tasks(self, api: Api) -> None:
        problem(await api.http.post("/agent/tasks/999999/claim", headers=api.as_("agent")), 404)
        problem(await api.http.post("/agent/tasks/0/claim", headers=api.as_("agent")), 422)
        problem(await api.http.post("/agent/tasks/abc/claim", headers=api.as_("agent")), 422)
        problem(await api.http.post(f"/agent/tasks/{2**40}/claim", headers=api.as_("agent")), 422)


class TestOutcome:
    async def test_agent_journey_next_claim_promise_then_state_and_timeline(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = (await api.http.get("/agent/tasks/next", headers=api.as_("agent"))).json()
        await api.http.post(f"/agent/tasks/{task['id']}/claim", headers=api.as_("agent"))
        due = await debtor_today(api) + timedelta(days=5)
        response = await api.http.post(
            f"/agent/tasks/{task['id']}/outcome",
            json={
                "code": "promise_to_pay",
                "note": "pays on Friday",
                "promise": {"amount": 50_000, "currency": "CLP", "due": due.isoformat()},
            },
            headers=api.as_("agent", **{"Idempotency-Key": "outcome-1"}),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["task"]["status"], body["task"]["assigned_agent"]) == ("done", "ana")
        assert (body["account"]["step"], body["account"]["promise_amount"]) == ("promesa", 50_000)
        assert body["account"]["promise_due"] == due.isoformat()

        live = await live_state(api, account.workflow_id)
        assert (live.promise_amount, live.promise_due, live.assigned_agent) == (50_000, due, "ana")
        assert live.counters.right_party_contacts == 1

        timeline = await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("agent"))
        assert timeline.status_code == 200, timeline.text
        entries = timeline.json()["entries"]
        assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
        outcome = next(e for e in entries if e["kind"] == "outcome")
        assert (outcome["who"], outcome["details"]["code"], outcome["details"]["note"]) == (
            "ana",
            "promise_to_pay",
            "pays on Friday",
        )
        promise = next(e for e in entries if e["kind"] == "promise")
        assert promise["who"] == "ana"
        assert promise["details"] == {
            "amount": 50_000,
            "currency": "CLP",
            "due_date": due.isoformat(),
            "status": "open",
        }
        kinds = [e["kind"] for e in entries]
        assert kinds.index("task") < kinds.index("outcome") < kinds.index("promise")
        confirmation = next(e for e in entries if e["kind"] == "communication")
        assert (confirmation["details"]["channel"], confirmation["details"]["template"]) == ("email", "promesa")
        assert confirmation["details"]["status"] == "sent"

        # The same key and body replay the first answer; the workflow is not asked twice.
        replay = await api.http.post(
            f"/agent/tasks/{task['id']}/outcome",
            json={
                "code": "promise_to_pay",
                "note": "pays on Friday",
                "promise": {"amount": 50_000, "currency": "CLP", "due": due.isoformat()},
            },
            headers=api.as_("agent", **{"Idempotency-Key": "outcome-1"}),
        )
        assert replay.json() == body
        finished = await api.http.post(
            f"/agent/tasks/{task['id']}/outcome", json={"code": "refusal"}, headers=api.as_("agent")
        )
        assert "done" in problem(finished, 409)["detail"]

    async def test_a_code_the_step_does_not_allow_is_409_with_the_reason(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = task_of(api, account)
        response = await api.http.post(
            f"/agent/tasks/{task.id}/outcome", json={"code": "hardship"}, headers=api.as_("agent")
        )
        assert "outcome hardship is not allowed at step llamada" in problem(response, 409)["detail"]
        assert task_of(api, account).status == "open"

    async def test_workflow_limits_on_the_promise_are_409(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = task_of(api, account)
        today = await debtor_today(api)
        too_far = {"amount": 50_000, "currency": "CLP", "due": (today + timedelta(days=20)).isoformat()}
        too_much = {"amount": 150_001, "currency": "CLP", "due": (today + timedelta(days=2)).isoformat()}
        for promise, reason in ((too_far, "more than 15 days ahead"), (too_much, "exceeds the balance")):
            response = await api.http.post(
                f"/agent/tasks/{task.id}/outcome",
                json={"code": "promise_to_pay", "promise": promise},
                headers=api.as_("agent"),
            )
            assert reason in problem(response, 409)["detail"]

    @pytest.mark.parametrize(
        ("body", "where"),
        [
            ({"code": "promise_to_pay"}, "/body/promise"),
            ({"code": "refusal", "promise": {"amount": 1, "currency": "CLP", "due": "2999-01-01"}}, "/body/promise"),
            ({"code": "payment_plan"}, "/body/plan"),
            ({"code": "promise_to_pay", "promise": {"amount": 1, "currency": "USD", "due": "2999-01-01"}}, None),
            ({"code": "promise_to_pay", "promise": {"amount": 1, "currency": "CLP", "due": "2001-01-01"}}, None),
            ({"code": "promise_to_pay", "promise": {"amount": 0, "currency": "CLP", "due": "2999-01-01"}}, None),
            ({"code": "promise_to_pay", "promise": {"amount": 1.5, "currency": "CLP", "due": "2999-01-01"}}, None),
            ({"code": "promise_to_pay", "promise": {"amount": 1, "currency": "clp", "due": "2999-01-01"}}, None),
            ({"code": "promise_to_pay", "promise": {"amount": 1, "currency": "CLP", "due": "tomorrow"}}, None),
            ({"code": "sold_the_house"}, "/body/code"),
            ({"code": "refusal", "extra": 1}, "/body/extra"),
            ({"code": "refusal", "note": "x" * 2001}, "/body/note"),
            ({}, "/body/code"),
        ],
    )
    async def test_malformed_outcomes_are_422_with_a_pointer(
        self, api: Api, body: dict[str, Any], where: str | None
    ) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = task_of(api, account)
        details = problem(
            await api.http.post(f"/agent/tasks/{task.id}/outcome", json=body, headers=api.as_("agent")), 422
        )
        found = pointers(details)
        assert found, details
        if where:
            assert where in found
        else:
            assert all(p.startswith("/body/promise") for p in found)
        assert task_of(api, account).status == "open"

    async def test_only_the_holder_records_and_outsiders_see_nothing(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        task = task_of(api, account)
        await api.http.post(f"/agent/tasks/{task.id}/claim", headers=api.as_("other_agent"))
        refused = await api.http.post(
            f"/agent/tasks/{task.id}/outcome", json={"code": "no_answer"}, headers=api.as_("agent")
        )
        assert "held by beto" in problem(refused, 409)["detail"]
        problem(
            await api.http.post(
                f"/agent/tasks/{task.id}/outcome", json={"code": "no_answer"}, headers=api.as_("outsider_agent")
            ),
            404,
        )
        done = await api.http.post(
            f"/agent/tasks/{task.id}/outcome", json={"code": "no_answer"}, headers=api.as_("other_agent")
        )
        assert done.status_code == 200, done.text
        assert done.json()["account"]["step"] == "recordatorio"


class TestAccountCommitments:
    async def test_a_promise_outside_a_call(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        due = await debtor_today(api) + timedelta(days=3)
        response = await api.http.post(
            f"/accounts/{account.id}/promises",
            json={"amount": 20_000, "currency": "CLP", "due": due.isoformat()},
            headers=api.as_("agent"),
        )
        assert response.status_code == 200, response.text
        assert (response.json()["promise_amount"], response.json()["step"]) == (20_000, "promesa")
        assert (await live_state(api, account.workflow_id)).promise_amount == 20_000
        with api.sessions() as session:
            row = session.scalar(select(Promise).where(Promise.account_id == account.id))
            assert row is not None
            assert (row.amount, row.due_date, row.status) == (20_000, due, "open")
        # The open task was expired: the account no longer waits for the call.
        assert task_of(api, account).status == "expired"

    async def test_bad_promises(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        today = await debtor_today(api)
        url = f"/accounts/{account.id}/promises"
        past = {"amount": 1, "currency": "CLP", "due": today.isoformat()}
        assert "/body/due" in pointers(problem(await api.http.post(url, json=past, headers=api.as_("agent")), 422))
        usd = {"amount": 1, "currency": "USD", "due": (today + timedelta(days=2)).isoformat()}
        body = problem(await api.http.post(url, json=usd, headers=api.as_("agent")), 422)
        assert body["errors"] == [{"pointer": "/body/currency", "detail": "the account is in CLP, not USD"}]
        negative = {"amount": -5, "currency": "CLP", "due": (today + timedelta(days=2)).isoformat()}
        assert "/body/amount" in pointers(
            problem(await api.http.post(url, json=negative, headers=api.as_("agent")), 422)
        )
        as_text = {"amount": "5", "currency": "CLP", "due": (today + timedelta(days=2)).isoformat()}
        assert "/body/amount" in pointers(
            problem(await api.http.post(url, json=as_text, headers=api.as_("agent")), 422)
        )
        far = {"amount": 1, "currency": "CLP", "due": (today + timedelta(days=16)).isoformat()}
        assert (
            "more than 15 days" in problem(await api.http.post(url, json=far, headers=api.as_("agent")), 409)["detail"]
        )
        problem(await api.http.post(url, json=far, headers=api.as_("outsider_agent")), 404)
        problem(await api.http.post(url, json=far, headers=api.as_("strategist")), 403)
        problem(await api.http.post("/accounts/424242/promises", json=far, headers=api.as_("supervisor")), 404)

    async def test_the_live_state_names_the_limits_the_workflow_enforces(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        detail = await api.http.get(f"/accounts/{account.id}", headers=api.as_("agent"))
        limits = detail.json()["live"]["limits"]
        assert limits["promise"] == {"max_days_ahead": 15, "max_amount": 150_000}
        assert (limits["plan"]["max_installments"], limits["plan"]["min_down_payment"]) == (6, 15_000)
        latest = await debtor_today(api) + timedelta(days=limits["promise"]["max_days_ahead"])
        url = f"/accounts/{account.id}/promises"
        beyond = {"amount": 150_000, "currency": "CLP", "due": (latest + timedelta(days=1)).isoformat()}
        problem(await api.http.post(url, json=beyond, headers=api.as_("agent")), 409)
        more = {"amount": 150_001, "currency": "CLP", "due": latest.isoformat()}
        problem(await api.http.post(url, json=more, headers=api.as_("agent")), 409)
        at_the_limits = {"amount": 150_000, "currency": "CLP", "due": latest.isoformat()}
        taken = await api.http.post(url, json=at_the_limits, headers=api.as_("agent"))
        assert taken.status_code == 200, taken.text
        assert taken.json()["promise_due"] == latest.isoformat()

    async def test_a_plan(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        first = await debtor_today(api) + timedelta(days=5)
        terms = {"installments": 3, "down_payment": 15_000, "currency": "CLP", "first_due": first.isoformat()}
        response = await api.http.post(f"/accounts/{account.id}/plans", json=terms, headers=api.as_("supervisor"))
        assert response.status_code == 200, response.text
        assert (response.json()["plan_installments"], response.json()["stage"]) == (4, "payment")
        timeline = (await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("supervisor"))).json()
        plan = next(e for e in timeline["entries"] if e["kind"] == "plan")
        assert [i["amount"] for i in plan["details"]["schedule"]] == [15_000, 45_000, 45_000, 45_000]
        assert plan["details"]["status"] == "active"

    async def test_bad_plans(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        first = (await debtor_today(api) + timedelta(days=5)).isoformat()
        url = f"/accounts/{account.id}/plans"
        low = {"installments": 3, "down_payment": 1_000, "currency": "CLP", "first_due": first}
        assert (
            "below the minimum" in problem(await api.http.post(url, json=low, headers=api.as_("agent")), 409)["detail"]
        )
        many = {"installments": 7, "down_payment": 15_000, "currency": "CLP", "first_due": first}
        assert "maximum of 6" in problem(await api.http.post(url, json=many, headers=api.as_("agent")), 409)["detail"]
        weekly = {
            "installments": 3,
            "down_payment": 15_000,
            "currency": "CLP",
            "first_due": first,
            "frequency": "daily",
        }
        assert "/body/frequency" in pointers(
            problem(await api.http.post(url, json=weekly, headers=api.as_("agent")), 422)
        )
        zero = {"installments": 0, "currency": "CLP", "first_due": first}
        assert "/body/installments" in pointers(
            problem(await api.http.post(url, json=zero, headers=api.as_("agent")), 422)
        )


class TestNotes:
    async def test_a_note_is_stored_with_its_author_and_shown_in_the_timeline(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        response = await api.http.post(
            f"/accounts/{account.id}/notes", json={"text": "Prefers calls after 6pm"}, headers=api.as_("agent")
        )
        assert response.status_code == 201, response.text
        assert (response.json()["author"], response.json()["text"]) == ("ana", "Prefers calls after 6pm")
        with api.sessions() as session:
            assert session.scalar(select(AgentNote.author).where(AgentNote.account_id == account.id)) == "ana"
        entries = (await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("agent"))).json()["entries"]
        assert {(e["kind"], e["who"], e["summary"]) for e in entries} >= {("note", "ana", "Prefers calls after 6pm")}

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"text": ""}, 422),
            ({"text": "   "}, 422),
            ({"text": "x" * 2001}, 422),
            ({"text": "a\x00b"}, 422),
            ({}, 422),
        ],
    )
    async def test_bad_notes(self, api: Api, body: dict[str, Any], status: int) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        details = problem(
            await api.http.post(f"/accounts/{account.id}/notes", json=body, headers=api.as_("agent")), status
        )
        assert any(p.startswith("/body") for p in pointers(details))

    async def test_outsiders_can_neither_write_nor_read(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        problem(
            await api.http.post(
                f"/accounts/{account.id}/notes", json={"text": "hi"}, headers=api.as_("outsider_agent")
            ),
            404,
        )
        problem(await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("outsider_agent")), 404)
        problem(await api.http.get("/accounts/999999/timeline", headers=api.as_("supervisor")), 404)


class TestDisputes:
    async def test_open_then_resolve(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        opened = await api.http.post(
            f"/accounts/{account.id}/disputes", json={"reason": "already paid in cash"}, headers=api.as_("agent")
        )
        assert opened.status_code == 200, opened.text
        assert (opened.json()["hold"], opened.json()["stage"]) == ("dispute", "hold")
        resolved = await api.http.post(
            f"/accounts/{account.id}/disputes/resolve", json={"upheld": False}, headers=api.as_("supervisor")
        )
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["hold"] is None
        again = await api.http.post(
            f"/accounts/{account.id}/disputes/resolve", json={"upheld": False}, headers=api.as_("supervisor")
        )
        assert "no open dispute" in problem(again, 409)["detail"]
        entries = (await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("supervisor"))).json()
        notes = [(e["who"], e["summary"]) for e in entries["entries"] if e["kind"] == "note"]
        assert notes == [
            ("ana", "Dispute opened: already paid in cash"),
            ("marta", "Dispute rejected (collection resumes)."),
        ]

    async def test_upheld_writes_the_debt_off(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        await api.http.post(f"/accounts/{account.id}/disputes", json={}, headers=api.as_("agent"))
        resolved = await api.http.post(
            f"/accounts/{account.id}/disputes/resolve", json={"upheld": True}, headers=api.as_("agent")
        )
        assert resolved.json()["resolution"] == "written_off"

    async def test_bad_dispute_input(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        url = f"/accounts/{account.id}/disputes/resolve"
        assert "/body/upheld" in pointers(
            problem(await api.http.post(url, json={"upheld": 1}, headers=api.as_("agent")), 422)
        )
        assert "/body/upheld" in pointers(problem(await api.http.post(url, json={}, headers=api.as_("agent")), 422))
        problem(
            await api.http.post(f"/accounts/{account.id}/disputes", json={"reason": 5}, headers=api.as_("agent")), 422
        )
