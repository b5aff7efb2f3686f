"""The supervisors' endpoints against a real database and real debtor workflows: account lists
from the read model (filters, days-past-due buckets, pagination, agents limited to their own),
one account in full with its live state, and steering (pause, resume, close, reassign, approval
decisions, strategy moves) as the workflow's own `state` query sees it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from accounts_fixture import CALLS, ended, live_state, publish, settle, snapshot, start_accounts, write_rows
from api_harness import Api
from clock import TEST_TODAY
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowExecutionStatus

from db.models import AccountState as AccountStateRow
from db.models import AgentTask, LegalReferral
from workflows.search_attributes import AGENT

PROBLEM = "application/problem+json"
USD = CALLS.parent / "calls-usd.yaml"
REMINDERS = Path(__file__).parents[1] / "workflows" / "strategies" / "reminders.yaml"
# Days past due of the listed accounts, cycling; and the bucket each falls in, written out by hand.
DPD = [-3, 0, 1, 29, 30, 59, 60, 89, 90, 400]
BUCKET = {-3: "current", 0: "current", 1: "1-29", 29: "1-29", 30: "30-59", 59: "30-59", 60: "60-89", 89: "60-89"}
BUCKET |= {90: "90+", 400: "90+"}
STAGES = ["outreach", "contact", "commitment", "payment"]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def listed_account(i: int) -> dict[str, Any]:
    """What the i-th account of the list tests looks like."""
    return {
        "campaign_id": "camp-b" if i % 3 == 0 else "camp-a",
        "stage": STAGES[i % 4],
        "segment": "alto" if i % 2 == 0 else "general",
        "variant": "challenger" if i % 5 == 0 else "champion",
        "agent": {0: "ana", 1: "beto"}.get(i % 6),
        "dpd": DPD[i % 10],
    }


def write_listed(api: Api, n: int) -> list[int]:
    """`n` accounts with read-model rows written directly (no workflows: lists never ask them)."""
    strategy = publish(api.sessions, CALLS)
    today = TEST_TODAY  # the API reads the test server's clock, which starts on this day
    ids = []
    with api.sessions() as session:
        for i in range(n):
            shape = listed_account(i)
            snap = snapshot(f"L-{i}", today - timedelta(days=shape["dpd"]))
            account = write_rows(session, strategy, shape["campaign_id"], snap, None)
            session.add(
                AccountStateRow(
                    account_id=account.id,
                    workflow_id=account.workflow_id,
                    campaign_id=shape["campaign_id"],
                    stage=shape["stage"],
                    step="llamada",
                    segment=shape["segment"],
                    variant=shape["variant"],
                    strategy_hash=strategy.hash,
                    balance=150_000 - i,
                    paid_total=i,
                    currency="CLP",
                    assigned_agent=shape["agent"],
                    days_past_due=shape["dpd"],
                    contacts=0,
                    version=1,
                )
            )
            ids.append(account.id)
        session.commit()
    return ids


async def all_pages(api: Api, who: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        response = await api.http.get("/accounts", params=params, headers=api.as_(who))
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if response.json()["next_cursor"] is None:
            return items
        params["cursor"] = response.json()["next_cursor"]


class TestAccountList:
    async def test_pages_cover_every_account_once_in_id_order(self, api: Api) -> None:
        ids = write_listed(api, 60)
        sizes = []
        params: dict[str, Any] = {"limit": 25}
        seen: list[int] = []
        while True:
            page = (await api.http.get("/accounts", params=params, headers=api.as_("supervisor"))).json()
            sizes.append(len(page["items"]))
            seen += [a["id"] for a in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert sizes == [25, 25, 10]
        assert seen == ids

    @pytest.mark.parametrize(
        ("params", "keep"),
        [
            ({"campaign_id": "camp-b"}, lambda s: s["campaign_id"] == "camp-b"),
            ({"stage": "commitment"}, lambda s: s["stage"] == "commitment"),
            ({"segment": "alto"}, lambda s: s["segment"] == "alto"),
            ({"variant": "challenger"}, lambda s: s["variant"] == "challenger"),
            ({"agent": "beto"}, lambda s: s["agent"] == "beto"),
            ({"dpd_bucket": "current"}, lambda s: s["dpd"] <= 0),
            ({"dpd_bucket": "1-29"}, lambda s: 1 <= s["dpd"] <= 29),
            ({"dpd_bucket": "30-59"}, lambda s: 30 <= s["dpd"] <= 59),
            ({"dpd_bucket": "60-89"}, lambda s: 60 <= s["dpd"] <= 89),
            ({"dpd_bucket": "90+"}, lambda s: s["dpd"] >= 90),
            (
                {"campaign_id": "camp-a", "stage": "contact", "dpd_bucket": "1-29"},
                lambda s: s["campaign_id"] == "camp-a" and s["stage"] == "contact" and 1 <= s["dpd"] <= 29,
            ),
        ],
    )
    async def test_filters(self, api: Api, params: dict[str, Any], keep: Any) -> None:
        ids = write_listed(api, 60)
        expected = [account_id for i, account_id in enumerate(ids) if keep(listed_account(i))]
        assert expected, "every filter keeps some accounts"
        items = await all_pages(api, "supervisor", {**params, "limit": 7})
        assert [a["id"] for a in items] == expected

    async def test_rows_show_the_read_model_and_the_bucket(self, api: Api) -> None:
        ids = write_listed(api, 10)
        items = await all_pages(api, "supervisor", {})
        for i, item in enumerate(items):
            shape = listed_account(i)
            assert item["id"] == ids[i]
            assert (item["days_past_due"], item["dpd_bucket"]) == (shape["dpd"], BUCKET[shape["dpd"]])
            assert (item["stage"], item["assigned_agent"], item["balance"]) == (
                shape["stage"],
                shape["agent"],
                150_000 - i,
            )

    async def test_agents_see_only_their_own_accounts(self, api: Api) -> None:
        ids = write_listed(api, 12)
        mine = await all_pages(api, "agent", {})
        assert [a["id"] for a in mine] == [ids[0], ids[6]]
        assert all(a["assigned_agent"] == "ana" for a in mine)
        assert await all_pages(api, "outsider_agent", {}) == []

    async def test_an_agent_sees_accounts_with_open_tasks_in_their_queue(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        assert [a["id"] for a in await all_pages(api, "agent", {})] == [account.id]
        assert [a["stage"] for a in await all_pages(api, "agent", {})] == ["contact"]
        assert await all_pages(api, "outsider_agent", {}) == []

    @pytest.mark.parametrize(
        ("params", "status", "where"),
        [
            ({"stage": "sleeping"}, 422, "/query/stage"),
            ({"dpd_bucket": "120+"}, 422, "/query/dpd_bucket"),
            ({"limit": 101}, 422, "/query/limit"),
            ({"campaign_id": ""}, 422, "/query/campaign_id"),
            ({"segment": "a\x00"}, 422, "/query/segment"),
            ({"cursor": "%%%"}, 400, None),
        ],
    )
    async def test_bad_parameters(self, api: Api, params: dict[str, Any], status: int, where: str | None) -> None:
        body = problem(await api.http.get("/accounts", params=params, headers=api.as_("supervisor")), status)
        if where:
            assert where in {e["pointer"] for e in body["errors"]}

    async def test_strategists_may_not_list(self, api: Api) -> None:
        problem(await api.http.get("/accounts", headers=api.as_("strategist")), 403)
        problem(await api.http.get("/accounts"), 401)


class TestAccountDetail:
    async def test_facts_live_state_tasks_and_timeline(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        response = await api.http.get(f"/accounts/{account.id}", headers=api.as_("supervisor"))
        assert response.status_code == 200, response.text
        detail = response.json()
        assert detail["live_status"] == "running"
        assert (detail["live"]["step"], detail["live"]["waiting"], detail["live"]["balance"]) == (
            "llamada",
            "agent",
            150_000,
        )
        assert detail["account"]["workflow_id"] == account.workflow_id
        assert detail["account"]["stage"] == "contact"
        assert {(p["channel"], p["address"]) for p in detail["debtor"]["contact_points"]} == {
            ("email", "acc-1@example.com"),
            ("sms", "+56912345678"),
            ("voice", "+56912345678"),
        }
        assert [(t["queue"], t["status"]) for t in detail["tasks"]] == [("calls", "open")]
        assert [e["kind"] for e in detail["timeline"]] == ["task"]
        agent_view = await api.http.get(f"/accounts/{account.id}", headers=api.as_("agent"))
        assert agent_view.status_code == 200
        problem(await api.http.get(f"/accounts/{account.id}", headers=api.as_("outsider_agent")), 404)

    async def test_an_account_not_launched_has_no_live_state(self, api: Api) -> None:
        strategy = publish(api.sessions, CALLS)
        with api.sessions() as session:
            row = write_rows(session, strategy, "camp-x", snapshot("NEW-1", date(2026, 1, 1)), None)
            row.launched_at = None
            session.commit()
            account_id = row.id
        detail = (await api.http.get(f"/accounts/{account_id}", headers=api.as_("supervisor"))).json()
        assert (detail["live"], detail["live_status"]) == (None, "not_launched")
        assert detail["account"]["stage"] is None
        assert detail["account"]["balance"] == 150_000

    async def test_unknown_and_malformed_ids(self, api: Api) -> None:
        problem(await api.http.get("/accounts/123456", headers=api.as_("supervisor")), 404)
        problem(await api.http.get("/accounts/-1", headers=api.as_("supervisor")), 422)
        problem(await api.http.get("/accounts/1.5", headers=api.as_("supervisor")), 422)


class TestSteering:
    async def test_pause_resume_close_reach_the_workflow(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        url = f"/accounts/{account.id}"
        paused = await api.http.post(
            f"{url}/pause", json={"reason": "debtor in hospital"}, headers=api.as_("supervisor")
        )
        assert paused.status_code == 202, paused.text
        assert paused.json()["action"] == "pause"
        assert (await live_state(api, account.workflow_id)).hold == "paused"
        assert (
            "already paused"
            in problem(await api.http.post(f"{url}/pause", headers=api.as_("supervisor")), 409)["detail"]
        )

        resumed = await api.http.post(f"{url}/resume", headers=api.as_("supervisor"))
        assert resumed.status_code == 202, resumed.text
        view = await live_state(api, account.workflow_id)
        assert (view.hold, view.stage) == (None, "contact")
        assert (
            "not paused" in problem(await api.http.post(f"{url}/resume", headers=api.as_("supervisor")), 409)["detail"]
        )

        closed = await api.http.post(f"{url}/close", json={"reason": "sold to a debt buyer"}, headers=api.as_("admin"))
        assert closed.status_code == 202, closed.text
        assert await ended(api, account.workflow_id) == WorkflowExecutionStatus.COMPLETED
        detail = (await api.http.get(url, headers=api.as_("supervisor"))).json()
        assert detail["account"]["resolution"] == "closed_by_supervisor"
        notes = [(e["who"], e["summary"]) for e in detail["timeline"] if e["kind"] == "note"]
        assert notes == [
            ("marta", "Paused: debtor in hospital"),
            ("marta", "Resumed."),
            ("root", "Closed: sold to a debt buyer"),
        ]
        assert problem(
            await api.http.post(f"{url}/close", json={"reason": "again"}, headers=api.as_("supervisor")), 409
        )

    async def test_pause_during_a_dispute_is_409(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        await api.http.post(f"/accounts/{account.id}/disputes", json={"reason": "not mine"}, headers=api.as_("agent"))
        response = await api.http.post(f"/accounts/{account.id}/pause", headers=api.as_("supervisor"))
        assert "dispute" in problem(response, 409)["detail"]

    async def test_bad_steering(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        url = f"/accounts/{account.id}"
        problem(await api.http.post(f"{url}/pause", headers=api.as_("agent")), 403)
        close = problem(await api.http.post(f"{url}/close", json={}, headers=api.as_("supervisor")), 422)
        assert "/body/reason" in {e["pointer"] for e in close["errors"]}
        problem(await api.http.post(f"{url}/close", json={"reason": ""}, headers=api.as_("supervisor")), 422)
        problem(await api.http.post(f"{url}/pause", json={"reason": 1}, headers=api.as_("supervisor")), 422)
        problem(await api.http.post("/accounts/999999/pause", headers=api.as_("supervisor")), 404)
        assert (await live_state(api, account.workflow_id)).hold is None


def task_row(session: Session, account_id: int) -> AgentTask:
    task = session.scalar(select(AgentTask).where(AgentTask.account_id == account_id))
    assert task is not None
    return task


class TestReassign:
    async def test_reassign_to_another_agent_reserves_the_task_for_them(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        with api.sessions() as session:
            task_id = task_row(session, account.id).id
        await api.http.post(f"/agent/tasks/{task_id}/claim", headers=api.as_("agent"))
        response = await api.http.post(
            f"/tasks/{task_id}/reassign", json={"agent": "beto"}, headers=api.as_("supervisor")
        )
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["assigned_agent"]) == ("open", "beto")
        with api.sessions() as session:
            state = session.get(AccountStateRow, account.id)
            assert state is not None
            assert state.assigned_agent == "beto"
        assert (
            "reserved for beto"
            in problem(await api.http.post(f"/agent/tasks/{task_id}/claim", headers=api.as_("agent")), 409)["detail"]
        )
        assert (await api.http.get("/agent/tasks/next", headers=api.as_("agent"))).status_code == 204
        assert (await api.http.get("/agent/tasks/next", headers=api.as_("other_agent"))).json()["id"] == task_id

        # The workflow is told too: its next turn (here, a pause) keeps beto in the read model and
        # in the AssignedAgent search attribute instead of putting ana back.
        assert (await live_state(api, account.workflow_id)).assigned_agent == "beto"
        await api.http.post(f"/accounts/{account.id}/pause", headers=api.as_("supervisor"))
        assert (await live_state(api, account.workflow_id)).hold is not None
        with api.sessions() as session:
            state = session.get(AccountStateRow, account.id)
            assert state is not None
            assert state.assigned_agent == "beto"
        described = await api.env.client.get_workflow_handle(account.workflow_id).describe()
        assert described.typed_search_attributes.get(AGENT) == "beto"

    async def test_move_to_another_queue(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        with api.sessions() as session:
            task_id = task_row(session, account.id).id
        await api.http.post(f"/agent/tasks/{task_id}/claim", headers=api.as_("agent"))
        response = await api.http.post(
            f"/tasks/{task_id}/reassign", json={"queue": "legal"}, headers=api.as_("supervisor")
        )
        assert (response.json()["queue"], response.json()["status"], response.json()["assigned_agent"]) == (
            "legal",
            "open",
            None,
        )
        assert (await api.http.get("/agent/tasks/next", headers=api.as_("outsider_agent"))).json()["id"] == task_id
        problem(await api.http.post(f"/agent/tasks/{task_id}/claim", headers=api.as_("agent")), 404)
        # The outsider, now in charge, records the outcome.
        outcome = await api.http.post(
            f"/agent/tasks/{task_id}/outcome", json={"code": "no_answer"}, headers=api.as_("outsider_agent")
        )
        assert outcome.status_code == 200, outcome.text

    @pytest.mark.parametrize(
        ("body", "where"),
        [
            ({}, "/body"),
            ({"queue": None}, "/body"),
            ({"agent": "nobody"}, "/body/agent"),
            ({"agent": "marta"}, "/body/agent"),  # a supervisor, not an agent
            ({"agent": ""}, "/body/agent"),
            ({"queue": "x" * 201}, "/body/queue"),
            ({"agent": "beto", "team": "b"}, "/body/team"),
        ],
    )
    async def test_bad_reassignments(self, api: Api, body: dict[str, Any], where: str) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        with api.sessions() as session:
            task_id = task_row(session, account.id).id
        details = problem(
            await api.http.post(f"/tasks/{task_id}/reassign", json=body, headers=api.as_("supervisor")), 422
        )
        assert where in {e["pointer"] for e in details["errors"]}

    async def test_finished_tasks_and_roles(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        with api.sessions() as session:
            task_id = task_row(session, account.id).id
        problem(
            await api.http.post(f"/tasks/{task_id}/reassign", json={"agent": "beto"}, headers=api.as_("agent")), 403
        )
        await api.http.post(f"/agent/tasks/{task_id}/outcome", json={"code": "refusal"}, headers=api.as_("agent"))
        done = await api.http.post(f"/tasks/{task_id}/reassign", json={"agent": "beto"}, headers=api.as_("supervisor"))
        assert "done" in problem(done, 409)["detail"]
        problem(
            await api.http.post("/tasks/999999/reassign", json={"agent": "beto"}, headers=api.as_("supervisor")), 404
        )


class TestApprovals:
    async def test_approving_a_legal_referral(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1, balances=[6_000_000])
        view = await live_state(api, account.workflow_id)
        assert (view.step, view.waiting) == ("judicial", "approval")
        response = await api.http.post(
            f"/accounts/{account.id}/approvals/decision", json={"approved": True}, headers=api.as_("supervisor")
        )
        assert response.status_code == 200, response.text
        assert response.json()["resolution"] == "legal"
        # The answer comes once the decision is applied and recorded: the supervisors' screens
        # already say what it said. The referral itself is the turn's action, which follows.
        with api.sessions() as session:
            row = session.get(AccountStateRow, account.id)
            assert row is not None
            assert row.resolution == "legal"
        await settle(api, account.workflow_id)
        with api.sessions() as session:
            referral = session.scalar(select(LegalReferral).where(LegalReferral.account_id == account.id))
            assert referral is not None
            assert referral.balance == 6_000_000
        entries = (await api.http.get(f"/accounts/{account.id}/timeline", headers=api.as_("supervisor"))).json()[
            "entries"
        ]
        kinds = {e["kind"]: e for e in entries}
        assert kinds["approval_requested"]["who"] == "system"
        assert (kinds["approval_decided"]["who"], kinds["approval_decided"]["details"]["status"]) == (
            "marta",
            "approved",
        )
        assert kinds["legal_referral"]["details"]["balance"] == 6_000_000
        again = await api.http.post(
            f"/accounts/{account.id}/approvals/decision", json={"approved": True}, headers=api.as_("supervisor")
        )
        problem(again, 409)

    async def test_rejecting_sends_the_account_on_and_nothing_pending_is_409(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1, balances=[6_000_000])
        response = await api.http.post(
            f"/accounts/{account.id}/approvals/decision", json={"approved": False}, headers=api.as_("admin")
        )
        assert response.status_code == 200, response.text
        assert (response.json()["step"], response.json()["resolution"]) == ("recordatorio", None)
        again = await api.http.post(
            f"/accounts/{account.id}/approvals/decision", json={"approved": False}, headers=api.as_("admin")
        )
        assert "nothing waits for approval" in problem(again, 409)["detail"]

    async def test_the_list_shows_what_waits_and_then_what_was_decided(self, api: Api) -> None:
        waiting, decided = await start_accounts(api, CALLS, 2, balances=[6_000_000, 7_000_000])
        (elsewhere,) = await start_accounts(api, CALLS, 1, campaign_id="camp-other", balances=[8_000_000])
        decision = await api.http.post(
            f"/accounts/{decided.id}/approvals/decision", json={"approved": False}, headers=api.as_("supervisor")
        )
        assert decision.status_code == 200, decision.text

        pending = await api.http.get("/approvals?status=pending", headers=api.as_("supervisor"))
        assert pending.status_code == 200, pending.text
        items = pending.json()["items"]
        assert [(a["account_id"], a["subject"], a["step"], a["balance"]) for a in items] == [
            (waiting.id, "legal", "judicial", 6_000_000),
            (elsewhere.id, "legal", "judicial", 8_000_000),
        ]
        rejected = (await api.http.get("/approvals?status=rejected", headers=api.as_("supervisor"))).json()["items"]
        assert [(a["account_id"], a["decided_by"]) for a in rejected] == [(decided.id, "marta")]
        one_campaign = await api.http.get("/approvals?campaign_id=camp-other", headers=api.as_("supervisor"))
        assert [a["account_id"] for a in one_campaign.json()["items"]] == [elsewhere.id]
        first = (await api.http.get("/approvals?limit=1", headers=api.as_("supervisor"))).json()
        rest = await api.http.get(f"/approvals?limit=5&cursor={first['next_cursor']}", headers=api.as_("supervisor"))
        assert len(first["items"]) + len(rest.json()["items"]) == 3
        assert rest.json()["next_cursor"] is None
        problem(await api.http.get("/approvals?status=maybe", headers=api.as_("supervisor")), 422)
        problem(await api.http.get("/approvals", headers=api.as_("agent")), 403)

    async def test_bad_decisions(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1, balances=[6_000_000])
        url = f"/accounts/{account.id}/approvals/decision"
        problem(await api.http.post(url, json={"approved": "yes"}, headers=api.as_("supervisor")), 422)
        problem(await api.http.post(url, json={}, headers=api.as_("supervisor")), 422)
        problem(await api.http.post(url, json={"approved": True}, headers=api.as_("agent")), 403)
        assert (await live_state(api, account.workflow_id)).waiting == "approval"


class TestStrategyMove:
    async def test_move_to_a_published_version(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        target = publish(api.sessions, REMINDERS)
        url = f"/accounts/{account.id}/strategy"
        same_step = await api.http.post(url, json={"strategy_hash": target.hash}, headers=api.as_("supervisor"))
        assert "has no step 'llamada'" in problem(same_step, 409)["detail"]

        moved = await api.http.post(
            url, json={"strategy_hash": target.hash, "step": "reminders"}, headers=api.as_("supervisor")
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["strategy_hash"], moved.json()["step"]) == (target.hash, "reminders")
        view = await live_state(api, account.workflow_id)
        assert (view.strategy_id, view.step) == ("restart-reminders", "reminders")
        detail = (await api.http.get(f"/accounts/{account.id}", headers=api.as_("supervisor"))).json()
        assert detail["account"]["strategy_hash"] == target.hash
        assert [t["status"] for t in detail["tasks"]] == []  # the call was cancelled by the move
        notes = [e["summary"] for e in detail["timeline"] if e["kind"] == "note"]
        assert notes == [f"Moved to strategy restart-reminders version {target.hash[:12]} at step reminders."]

    async def test_unknown_or_malformed_versions(self, api: Api) -> None:
        (account,) = await start_accounts(api, CALLS, 1)
        url = f"/accounts/{account.id}/strategy"
        problem(await api.http.post(url, json={"strategy_hash": "0" * 64}, headers=api.as_("supervisor")), 404)
        bad = problem(await api.http.post(url, json={"strategy_hash": "abc"}, headers=api.as_("supervisor")), 422)
        assert "/body/strategy_hash" in {e["pointer"] for e in bad["errors"]}
        problem(await api.http.post(url, json={"strategy_hash": account.strategy_hash}, headers=api.as_("agent")), 403)
        dollars = publish(api.sessions, USD)
        other_currency = await api.http.post(
            url, json={"strategy_hash": dollars.hash, "step": "llamada"}, headers=api.as_("supervisor")
        )
        assert "works in USD" in problem(other_currency, 409)["detail"]
        assert (await live_state(api, account.workflow_id)).strategy_hash == account.strategy_hash
