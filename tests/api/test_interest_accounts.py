"""Interest and fees the campaign charged, as people read them (real app, real workflows, real
database, on SQLite and PostgreSQL): the read model keeps each account's totals, the API's list and
account view carry them, the supervisor's and agent's account pages say "interest charged X" as
money (in English and Spanish), and the campaign's KPIs add the read model's rows up."""

from __future__ import annotations

import html
from datetime import timedelta

from accounts_fixture import STRATEGIES, settle, start_accounts
from api_harness import Api
from clock import skip
from sqlalchemy import select
from test_overpaid_accounts import console_of, text_of

from console.i18n import LANG_COOKIE
from db.models import AccountState as AccountStateRow
from db.models import InterestCharge
from strategies.amounts import Currency

INTEREST = STRATEGIES / "interest.yaml"


async def test_interest_charged_shows_in_the_read_model_the_api_the_pages_and_the_kpis(api: Api) -> None:
    big, small = await start_accounts(api, INTEREST, 2, balances=[150_000, 40_000], campaign_id="camp-int")
    await skip(api.env, timedelta(days=3))
    for account in (big, small):
        await settle(api, account.workflow_id)

    with api.sessions() as session:
        rows = {r.account_id: r for r in session.scalars(select(AccountStateRow))}
        charges = session.scalars(select(InterestCharge).order_by(InterestCharge.id)).all()
    # The read model's total is the last interest fact's running total, for each account.
    for account in (big, small):
        last = [c.total for c in charges if c.account_id == account.id][-1]
        assert rows[account.id].interest_total == last > 0
        assert rows[account.id].fees_total > 0
    row = rows[big.id]
    assert row.balance == 150_000 + row.fees_total + row.interest_total

    detail = (await api.http.get(f"/accounts/{big.id}", headers=api.as_("supervisor"))).json()
    assert (detail["account"]["interest_total"], detail["account"]["fees_total"]) == (
        row.interest_total,
        row.fees_total,
    )
    assert detail["account"]["currency"] == "CLP"
    assert (detail["live"]["interest_total"], detail["live"]["fees_total"]) == (row.interest_total, row.fees_total)
    listed = await api.http.get("/accounts", params={"campaign_id": "camp-int"}, headers=api.as_("supervisor"))
    assert {a["id"]: a["interest_total"] for a in listed.json()["items"]} == {
        big.id: row.interest_total,
        small.id: rows[small.id].interest_total,
    }

    # The KPI is the database's sum of the read model's rows.
    kpis = await api.http.get("/kpis/campaigns/camp-int?currency=CLP", headers=api.as_("supervisor"))
    assert kpis.status_code == 200, kpis.text
    assert kpis.json()["charged"] == {
        "fees": sum(r.fees_total for r in rows.values()),
        "interest": sum(r.interest_total for r in rows.values()),
        "interest_accounts": 2,
    }

    def money(amount: int) -> str:  # the debtor's locale, as the pages show money
        return Currency("CLP", "es-CL", 0).shown(amount)

    interest, fees = money(row.interest_total), money(row.fees_total)
    shown = f"{money(row.balance)} · fees charged {fees} · interest charged {interest}"
    supervisor = await console_of(api, "supervisor")
    try:
        page = await supervisor.get(f"/console/accounts/{big.id}")
        assert page.status_code == 200, page.text
        assert text_of(page, "facts-balance") == shown
        assert text_of(page, "live-balance") == shown
        overview = await supervisor.get("/console/overview/camp-int", params={"currency": "CLP"})
        assert overview.status_code == 200, overview.text
        total = money(sum(r.interest_total for r in rows.values()))
        assert f'Interest charged</h3>\n  <p class="figure">{total}</p>' in html.unescape(overview.text)
        supervisor.cookies.set(LANG_COOKIE, "es")
        spanish = await supervisor.get(f"/console/accounts/{big.id}")
        assert text_of(spanish, "facts-balance") == (
            f"{money(row.balance)} · cargos cobrados {fees} · intereses cobrados {interest}"
        )
        assert f"intereses cobrados {interest}" in text_of(spanish, "live-balance")
    finally:
        await supervisor.aclose()
    agent = await console_of(api, "agent")
    try:
        page = await agent.get(f"/console/work/accounts/{big.id}")
        assert page.status_code == 200, page.text
        assert text_of(page, "facts-balance") == shown
        agent.cookies.set(LANG_COOKIE, "es")
        spanish = await agent.get(f"/console/work/accounts/{big.id}")
        assert f"intereses cobrados {interest}" in text_of(spanish, "facts-balance")
    finally:
        await agent.aclose()
