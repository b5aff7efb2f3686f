"""A payment beyond what the account owed, as people read it (real app, real workflow, real
database, on SQLite and PostgreSQL): the API's account view and the console's supervisor and agent
account pages show a balance of 0 and "overpaid X (refund or credit due)" as money, a supervisor
lists the accounts with an overpayment, the timeline has its row and the campaign's KPIs add them up."""

from __future__ import annotations

import html
import re

import httpx
from accounts_fixture import CALLS, ended, start_accounts
from api_harness import Api
from sqlalchemy import select

from console.i18n import LANG_COOKIE
from db.models import AccountState as AccountStateRow

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def pay(api: Api, account_id: int, amount: int, payment_id: str) -> None:
    body = {
        "account_id": account_id,
        "provider": "prop",
        "provider_payment_id": payment_id,
        "amount": amount,
        "currency": "CLP",
    }
    response = await api.http.post("/payments", json=body, headers=api.as_("supervisor"))
    assert response.status_code == 201, response.text


async def console_of(api: Api, who: str) -> httpx.AsyncClient:
    """A browser-less console signed in as `who` on the same app."""
    client = httpx.AsyncClient(transport=api.transport, base_url="http://testserver")
    page = await client.get("/console/signin")
    found = CSRF.search(page.text)
    assert found is not None, page.text
    signed = await client.post("/console/signin", data={"api_key": api.keys[who], "csrf_token": found.group(1)})
    assert signed.status_code == 303, signed.text
    return client


def text_of(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</dd>', page.text, re.S)
    assert found is not None, f"no #{element_id} in the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


async def test_an_overpaid_account_reads_zero_and_the_refund_or_credit_due(api: Api) -> None:
    over, exact = await start_accounts(api, CALLS, 2, balances=[100_000, 50_000], campaign_id="camp-over")
    await pay(api, over.id, 125_000, "over-1")
    await pay(api, exact.id, 50_000, "exact-1")
    for account in (over, exact):
        await ended(api, account.workflow_id)
    with api.sessions() as session:
        rows = {r.account_id: r for r in session.scalars(select(AccountStateRow))}
    assert (rows[over.id].balance, rows[over.id].overpaid, rows[over.id].resolution) == (0, 25_000, "paid")
    assert (rows[exact.id].balance, rows[exact.id].overpaid) == (0, 0)

    detail = (await api.http.get(f"/accounts/{over.id}", headers=api.as_("supervisor"))).json()
    assert (detail["account"]["balance"], detail["account"]["overpaid"]) == (0, 25_000)
    assert (detail["live"]["balance"], detail["live"]["overpaid"]) == (0, 25_000)
    (entry,) = [e for e in detail["timeline"] if e["kind"] == "overpaid"]
    assert entry["summary"] == "overpayment of $25.000: refund or credit due"
    assert entry["details"]["amount"] == 25_000

    listed = await api.http.get(
        "/accounts", params={"campaign_id": "camp-over", "overpaid": "true"}, headers=api.as_("supervisor")
    )
    assert [(a["id"], a["balance"], a["overpaid"]) for a in listed.json()["items"]] == [(over.id, 0, 25_000)]
    everywhere = await api.http.get("/accounts", params={"overpaid": "true"}, headers=api.as_("supervisor"))
    assert [a["id"] for a in everywhere.json()["items"]] == [over.id]
    both = await api.http.get("/accounts", params={"campaign_id": "camp-over"}, headers=api.as_("supervisor"))
    assert {a["id"]: a["overpaid"] for a in both.json()["items"]} == {over.id: 25_000, exact.id: 0}

    # (The fixture writes its accounts without placing them in the KPI counters: the currency is named.)
    kpis = await api.http.get("/kpis/campaigns/camp-over?currency=CLP", headers=api.as_("supervisor"))
    assert kpis.status_code == 200, kpis.text
    assert kpis.json()["overpaid"] == {"accounts": 1, "amount": 25_000}

    shown = "$0 · overpaid $25.000 (refund or credit due)"
    supervisor = await console_of(api, "supervisor")
    try:
        page = await supervisor.get(f"/console/accounts/{over.id}")
        assert page.status_code == 200, page.text
        assert text_of(page, "facts-balance") == shown
        assert text_of(page, "live-balance") == shown
        listing = await supervisor.get("/console/accounts", params={"campaign_id": "camp-over", "overpaid": "1"})
        assert listing.status_code == 200, listing.text
        assert f"/console/accounts/{over.id}" in listing.text
        assert f"/console/accounts/{exact.id}" not in listing.text
        assert "overpaid $25.000 (refund or credit due)" in html.unescape(listing.text)
        supervisor.cookies.set(LANG_COOKIE, "es")
        spanish = await supervisor.get(f"/console/accounts/{over.id}")
        assert "pagado de más $25.000 (devolución o abono pendiente)" in html.unescape(spanish.text)
        assert "(refund or credit due)" not in spanish.text
    finally:
        await supervisor.aclose()
    agent = await console_of(api, "agent")
    try:
        page = await agent.get(f"/console/work/accounts/{over.id}")
        assert page.status_code == 200, page.text
        assert text_of(page, "facts-balance") == shown
    finally:
        await agent.aclose()
