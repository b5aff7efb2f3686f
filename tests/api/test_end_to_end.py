"""The whole product through its API, as its three audiences and a payment provider use it:

a strategist publishes the shipped Chilean strategy, creates a campaign, imports 50 accounts plus
a few bad rows (reported row by row) and launches it; days later an agent takes the next call from
their queue, claims it and records a promise to pay; the money arrives by the signed payment
webhook; the supervisor's KPIs show the promise kept and the money collected.

Real database (SQLite, and PostgreSQL in CI), Temporal's time-skipping server, every workflow and
activity, channels in the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from api_harness import WEBHOOK_SECRET, Api
from clock import skip
from signing import payment_headers
from sqlalchemy import func, select
from test_campaigns import chilean, csv_of, eventually, new_campaign

from api.auth import issue_key
from db.models import OutboxMessage, Promise

SANTIAGO = ZoneInfo("America/Santiago")
GOOD = 50


def bad_rows() -> list[dict[str, str]]:
    return [
        chilean(901, phone="12"),  # not a phone number anywhere
        chilean(902, balance="-5000"),  # a negative balance
        chilean(903, consent=""),  # an email and a phone with no consent answer
        chilean(904, currency="XYZ"),  # no such currency
    ]


async def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_publish_import_launch_promise_payment_kpis(api: Api) -> None:
    # An agent working the strategy's queue.
    with api.sessions() as session:
        api.keys["caller"] = issue_key(session, "daniela", "agent", ["cobranza_temprana"]).key
        session.commit()

    # Strategist: publish, create, import, launch.
    created = await new_campaign(api, "consumo-e2e")
    assert created["status"] == "draft"
    rows = [chilean(n) for n in range(1, GOOD + 1)]
    rows[10:10] = bad_rows()
    report = await json_of(
        await api.http.post(
            "/campaigns/consumo-e2e/accounts",
            content=csv_of(rows),
            headers=api.as_("strategist", **{"Content-Type": "text/csv"}),
        )
    )
    assert report["accepted"] == GOOD
    assert report["total_accounts"] == GOOD
    rejected = {(r["row"], r["field"]) for r in report["rejected"]}
    assert {(11, "phone"), (12, "balance"), (13, "consent"), (14, "currency")} <= rejected
    assert {r["external_id"] for r in report["rejected"]} == {"CL-00901", "CL-00902", "CL-00903", "CL-00904"}

    launch = await json_of(
        await api.http.post(
            "/campaigns/consumo-e2e/launch", json={"batch_size": 20, "concurrency": 8}, headers=api.as_("strategist")
        ),
        202,
    )
    assert launch["launch"]["total"] == GOOD

    async def launched() -> dict[str, Any] | None:
        body = await json_of(await api.http.get("/campaigns/consumo-e2e", headers=api.as_("supervisor")))
        return body if body["launch"]["status"] == "done" else None

    progress = await eventually(launched, "all 50 workflows to start", seconds=120)
    assert progress["launch"]["launched"] == GOOD

    # Days pass: reminders go out (sandbox outbox), then the strategy hands calls to agents.
    task = None
    for _ in range(14):
        await skip(api.env, timedelta(days=1))
        response = await api.http.get("/agent/tasks/next", headers=api.as_("caller"))
        if response.status_code == 200:
            task = response.json()
            break
        assert response.status_code == 204, response.text
    assert task is not None, "no call reached the agent's queue within two weeks"
    assert task["queue"] == "cobranza_temprana"
    assert "promise_to_pay" in task["allowed_outcomes"]
    with api.sessions() as session:
        assert (session.scalar(select(func.count()).select_from(OutboxMessage)) or 0) >= GOOD

    # Agent: claim the call and record the promise it ended in.
    claimed = await json_of(await api.http.post(f"/agent/tasks/{task['id']}/claim", headers=api.as_("caller")))
    assert claimed["assigned_agent"] == "daniela"
    account = await json_of(await api.http.get(f"/accounts/{task['account_id']}", headers=api.as_("supervisor")))
    balance = account["live"]["balance"]
    today = (await api.env.get_current_time()).astimezone(SANTIAGO).date()
    promise = {"amount": balance, "currency": "CLP", "due": (today + timedelta(days=5)).isoformat()}
    await json_of(
        await api.http.post(
            f"/agent/tasks/{task['id']}/outcome",
            json={"code": "promise_to_pay", "note": "paga el viernes", "promise": promise},
            headers=api.as_("caller", **{"Idempotency-Key": "call-1"}),
        )
    )

    # The provider's webhook: the full amount, two days later, delivered twice.
    await skip(api.env, timedelta(days=2))
    paid_at = await api.env.get_current_time()
    event = {
        "event_id": "evt-e2e-1",
        "campaign_id": "consumo-e2e",
        "external_account_id": task["external_id"],
        "provider_payment_id": "khipu-777",
        "amount": balance,
        "currency": "CLP",
        "paid_at": paid_at.isoformat(),
    }
    body = json.dumps(event).encode()
    for expected in ("recorded", "duplicate"):
        ack = await json_of(
            await api.http.post(
                "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
            )
        )
        assert ack["status"] == expected

    async def kept() -> bool:
        with api.sessions() as session:
            return session.scalar(select(Promise.status).where(Promise.account_id == task["account_id"])) == "kept"

    await eventually(kept, "the workflow to mark the promise kept")

    # Supervisor: the account is closed as paid; the KPIs show the promise kept and the money.
    detail = await json_of(await api.http.get(f"/accounts/{task['account_id']}", headers=api.as_("supervisor")))
    kinds = [entry["kind"] for entry in detail["timeline"]]
    assert "outcome" in kinds
    assert "promise" in kinds
    assert "payment" in kinds
    window = {"from": (today - timedelta(days=60)).isoformat(), "to": (today + timedelta(days=30)).isoformat()}
    kpis = await json_of(
        await api.http.get("/kpis/campaigns/consumo-e2e", params=window, headers=api.as_("supervisor"))
    )
    overall = kpis["overall"]
    assert overall["accounts"] == GOOD
    assert overall["collected_amount"] == balance
    assert overall["promise_kept_rate"] == {"value": "1", "numerator": 1, "denominator": 1}
    assert overall["promises"]["kept"] == 1
    assert overall["recovery_rate"]["numerator"] == balance
    agents = await json_of(
        await api.http.get("/kpis/campaigns/consumo-e2e/agents", params=window, headers=api.as_("supervisor"))
    )
    daniela = next(a for a in agents["agents"] if a["agent"] == "daniela")
    assert daniela["promise_kept_rate"]["numerator"] == 1
