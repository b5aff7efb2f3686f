"""Recording payments through the API: idempotent by the provider's payment id, allocated to the
open promise or the earliest due plan instalments, and signalled to the account's real workflow
(which decides that the promise was kept); roles, bad input and closed accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from accounts_fixture import CALLS, ZONE, StartedAccount, live_state, settle, start_accounts
from api_harness import Api
from sqlalchemy import func, select

from activities.payments import ledger_payment_id as activity_ledger_id
from api.routers.payments import ledger_payment_id
from db.models import Payment, PlanInstallment, Promise
from domain import events as ev
from domain.types import Outcome
from workflows.debtor import DebtorWorkflow

PROBLEM = "application/problem+json"


async def take_promise(api: Api, account: StartedAccount, amount: int, agent: str = "ana") -> Promise:
    """The agent records a promise to pay on the account's open call task; returns its row."""
    today = (await api.env.get_current_time()).astimezone(ZoneInfo(ZONE)).date()
    handle = api.env.client.get_workflow_handle(account.workflow_id)
    outcome = ev.AgentOutcome(
        code=Outcome.PROMISE_TO_PAY, promise=ev.PromiseTerms(amount=amount, due=today + timedelta(days=5)), agent=agent
    )
    await handle.execute_update(DebtorWorkflow.record_outcome, outcome)
    await settle(api, account.workflow_id)
    with api.sessions() as session:
        return session.scalars(select(Promise).where(Promise.account_id == account.id)).one()


def payment(account: StartedAccount, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": account.id,
        "provider": "khipu",
        "provider_payment_id": "kp-1",
        "amount": 50_000,
        "currency": "CLP",
    }
    body.update(overrides)
    return body


def payment_rows(api: Api) -> list[Payment]:
    with api.sessions() as session:
        return list(session.scalars(select(Payment).order_by(Payment.id)))


class TestRecordPayment:
    async def test_payment_goes_to_the_open_promise_and_the_workflow_counts_it_once(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        promise = await take_promise(api, account, 50_000)

        first = await api.http.post("/payments", json=payment(account), headers=api.as_("supervisor"))
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["allocated_to"] == f"promise:{promise.key}"
        assert body["created"] is True
        assert body["signalled"] is True
        assert body["ledger_id"] == "khipu:kp-1"
        assert (body["amount"], body["currency"]) == (50_000, "CLP")

        view = await live_state(api, account.workflow_id)
        assert (view.balance, view.paid_total) == (100_000, 50_000)
        assert view.counters.promises_kept == 1
        with api.sessions() as session:  # the workflow, not the API, decided the promise was kept
            assert session.get_one(Promise, promise.id).status == "kept"

        again = await api.http.post("/payments", json=payment(account), headers=api.as_("admin"))
        assert again.status_code == 200
        assert again.json()["id"] == body["id"]
        assert again.json()["created"] is False
        assert len(payment_rows(api)) == 1
        view = await live_state(api, account.workflow_id)
        assert (view.balance, view.paid_total) == (100_000, 50_000)

    async def test_payment_on_a_plan_fills_the_earliest_due_installments(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        today = (await api.env.get_current_time()).astimezone(ZoneInfo(ZONE)).date()
        handle = api.env.client.get_workflow_handle(account.workflow_id)
        # A down payment of 10% (the strategy's minimum) is instalment 1; three instalments follow.
        terms = ev.PlanTerms(installments=3, down_payment=15_000, first_due=today + timedelta(days=3))
        await handle.execute_update(
            DebtorWorkflow.record_outcome, ev.AgentOutcome(code=Outcome.PAYMENT_PLAN, plan=terms, agent="ana")
        )
        await settle(api, account.workflow_id)
        with api.sessions() as session:
            schedule = list(session.scalars(select(PlanInstallment).order_by(PlanInstallment.number)))
            plan_key = schedule[0].plan.key
        assert [i.amount for i in schedule] == [15_000, 45_000, 45_000, 45_000]

        first = await api.http.post(
            "/payments", json=payment(account, amount=schedule[0].amount), headers=api.as_("supervisor")
        )
        assert first.json()["allocated_to"] == f"installment:{plan_key}#1"
        await settle(api, account.workflow_id)

        # The second payment starts where the first ended and reaches into the third instalment.
        second = await api.http.post(
            "/payments",
            json=payment(account, provider_payment_id="kp-2", amount=schedule[1].amount + 1),
            headers=api.as_("supervisor"),
        )
        assert second.status_code == 201
        assert second.json()["allocated_to"] == f"installment:{plan_key}#2,3"
        view = await live_state(api, account.workflow_id)
        assert view.paid_total == schedule[0].amount + schedule[1].amount + 1

    async def test_payment_without_promise_or_plan_goes_to_the_balance(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        answer = await api.http.post("/payments", json=payment(account, amount=1_000), headers=api.as_("supervisor"))
        assert answer.status_code == 201
        assert answer.json()["allocated_to"] == "balance"
        assert (await live_state(api, account.workflow_id)).balance == 149_000

    async def test_a_closed_account_still_records_the_payment_and_says_it_was_not_signalled(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        await api.env.client.get_workflow_handle(account.workflow_id).signal("close", ev.Close(reason="test"))
        await settle(api, account.workflow_id)
        # The workflow has ended: nothing is running to take a signal.
        answer = await api.http.post("/payments", json=payment(account), headers=api.as_("supervisor"))
        assert answer.status_code == 201, answer.text
        assert answer.json()["signalled"] is False
        assert [p.provider_payment_id for p in payment_rows(api)] == ["kp-1"]

    async def test_the_same_provider_payment_with_other_facts_is_a_conflict(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        assert (
            await api.http.post("/payments", json=payment(account), headers=api.as_("supervisor"))
        ).status_code == 201
        answer = await api.http.post("/payments", json=payment(account, amount=1), headers=api.as_("supervisor"))
        assert answer.status_code == 409
        assert answer.headers["content-type"] == PROBLEM
        assert "kp-1" in answer.json()["detail"]
        assert len(payment_rows(api)) == 1

    @pytest.mark.parametrize(
        ("change", "status", "pointer"),
        [
            ({"currency": "USD"}, 422, "/body/currency"),
            ({"account_id": 999_999}, 422, "/body/account_id"),
            ({"amount": 0}, 422, "/body/amount"),
            ({"amount": "50000"}, 422, "/body/amount"),
            ({"amount": 500.5}, 422, "/body/amount"),
            ({"currency": "clp"}, 422, "/body/currency"),
            ({"received_at": "2025-03-01T10:00:00"}, 422, "/body/received_at"),
            ({"received_at": "0001-01-01T00:00:00+05:00"}, 422, "/body/received_at"),
            ({"provider": "Khipu Inc"}, 422, "/body/provider"),
            ({"provider_payment_id": ""}, 422, "/body/provider_payment_id"),
            ({"surprise": 1}, 422, "/body/surprise"),
        ],
    )
    async def test_bad_input_is_a_problem_that_points_at_the_field(
        self, api: Api, change: dict[str, Any], status: int, pointer: str
    ) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        answer = await api.http.post("/payments", json=payment(account, **change), headers=api.as_("supervisor"))
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert pointer in [e.get("pointer") for e in answer.json()["errors"]]
        assert payment_rows(api) == []

    async def test_received_at_is_kept_in_utc(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        answer = await api.http.post(
            "/payments", json=payment(account, received_at="2025-03-01T10:00:00-03:00"), headers=api.as_("supervisor")
        )
        assert answer.status_code == 201
        assert answer.json()["received_at"].startswith("2025-03-01T13:00:00")

    @pytest.mark.parametrize(("who", "status"), [("agent", 403), ("strategist", 403), ("supervisor", 201)])
    async def test_only_supervisors_and_admins_record_payments(self, api: Api, who: str, status: int) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        answer = await api.http.post("/payments", json=payment(account), headers=api.as_(who))
        assert answer.status_code == status
        assert (await api.http.post("/payments", json=payment(account))).status_code == 401

    def test_the_api_counts_payments_by_the_id_the_workflow_knows(self) -> None:
        assert ledger_payment_id("khipu", "kp-1") == activity_ledger_id("khipu", "kp-1")


class TestListPayments:
    async def test_lists_an_accounts_payments_in_pages(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        for n in range(3):
            body = payment(account, provider_payment_id=f"kp-{n}", amount=1_000 + n)
            assert (await api.http.post("/payments", json=body, headers=api.as_("supervisor"))).status_code == 201
        first = await api.http.get(f"/accounts/{account.id}/payments?limit=2", headers=api.as_("supervisor"))
        assert first.status_code == 200
        assert [p["amount"] for p in first.json()["items"]] == [1_000, 1_001]
        cursor = first.json()["next_cursor"]
        second = await api.http.get(
            f"/accounts/{account.id}/payments", params={"limit": 2, "cursor": cursor}, headers=api.as_("supervisor")
        )
        assert [p["amount"] for p in second.json()["items"]] == [1_002]
        assert second.json()["next_cursor"] is None
        assert second.json()["items"][0]["allocated_to"] == "balance"

    async def test_unknown_account_roles_and_bad_cursor(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        assert (await api.http.get("/accounts/424242/payments", headers=api.as_("supervisor"))).status_code == 404
        assert (await api.http.get(f"/accounts/{account.id}/payments", headers=api.as_("agent"))).status_code == 403
        bad = await api.http.get(f"/accounts/{account.id}/payments?cursor=zzz", headers=api.as_("supervisor"))
        assert bad.status_code == 400
        huge = await api.http.get("/accounts/99999999999/payments", headers=api.as_("supervisor"))
        assert huge.status_code == 422
        with api.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Payment)) == 0
