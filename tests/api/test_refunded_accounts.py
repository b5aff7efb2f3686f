"""Recording a refund or credit of an overpayment through the API (real app, real workflow, real
database, on SQLite and PostgreSQL): the account paid beyond what it owed closes paid, a supervisor
records a refund of part of it and a credit of the rest, and its `overpaid` goes down to 0 in the
read model, the overpaid list and the timeline; a repeated reference counts once; refused refunds
(too much, nothing owed back, another currency, a bad amount, no such account) change nothing."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from accounts_fixture import CALLS, ended, settle, start_accounts
from api_harness import Api
from sqlalchemy import select
from test_overpaid_accounts import CSRF, console_of, pay, text_of

from console.i18n import LANG_COOKIE
from db.models import AccountEvent
from db.models import AccountState as AccountStateRow


def overpaid_of(api: Api, account_id: int) -> int:
    with api.sessions() as session:
        row = session.get(AccountStateRow, account_id)
        assert row is not None
        return row.overpaid


async def refund(api: Api, account_id: int, **body: Any) -> Any:
    body = {"amount": 10_000, "currency": "CLP", "reference": "bank-1", **body}
    return await api.http.post(f"/accounts/{account_id}/refunds", json=body, headers=api.as_("supervisor"))


async def test_refunds_bring_a_closed_paid_accounts_overpayment_to_zero(api: Api) -> None:
    (over,) = await start_accounts(api, CALLS, 1, balances=[100_000], campaign_id="camp-refund")
    await pay(api, over.id, 125_000, "over-1")
    await ended(api, over.workflow_id)
    assert overpaid_of(api, over.id) == 25_000

    first = await refund(api, over.id)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "account_id": over.id,
        "amount": 10_000,
        "currency": "CLP",
        "kind": "refund",
        "reference": "bank-1",
        "overpaid": 15_000,
        "created": True,
    }
    again = await refund(api, over.id)
    assert (again.status_code, again.json()["created"], again.json()["overpaid"]) == (200, False, 15_000)
    assert overpaid_of(api, over.id) == 15_000

    other_facts = await refund(api, over.id, amount=5_000)
    assert other_facts.status_code == 409, other_facts.text
    assert "already recorded" in other_facts.json()["detail"]

    too_much = await refund(api, over.id, amount=15_001, reference="bank-2")
    assert too_much.status_code == 422, too_much.text
    assert "more than the 15000 owed back" in too_much.json()["detail"]
    assert overpaid_of(api, over.id) == 15_000

    credit = await refund(api, over.id, amount=15_000, reference="credit-1", kind="credit")
    assert credit.status_code == 201, credit.text
    assert credit.json()["overpaid"] == 0
    assert overpaid_of(api, over.id) == 0

    nothing = await refund(api, over.id, amount=1, reference="bank-3")
    assert nothing.status_code == 409, nothing.text
    assert "nothing is owed back" in nothing.json()["detail"]

    listed = await api.http.get(
        "/accounts", params={"campaign_id": "camp-refund", "overpaid": "true"}, headers=api.as_("supervisor")
    )
    assert listed.json()["items"] == []
    kpis = await api.http.get("/kpis/campaigns/camp-refund?currency=CLP", headers=api.as_("supervisor"))
    assert kpis.json()["overpaid"] == {"accounts": 0, "amount": 0}
    detail = (await api.http.get(f"/accounts/{over.id}", headers=api.as_("supervisor"))).json()
    assert detail["account"]["overpaid"] == 0
    # The finished workflow's final state still says 25,000; the page shows what is owed back now.
    assert (detail["live_status"], detail["live"]["overpaid"]) == ("closed", 0)
    # `who`: the supervisor who recorded it (the harness's supervisor key belongs to marta).
    summaries = [(e["kind"], e["who"], e["summary"]) for e in detail["timeline"] if e["kind"] == "refund"]
    assert sorted(summaries) == [
        ("refund", "marta", "credit of $15.000 recorded (ref credit-1)"),
        ("refund", "marta", "refund of $10.000 recorded (ref bank-1)"),
    ]
    with api.sessions() as session:
        assert len(session.scalars(select(AccountEvent).where(AccountEvent.kind == "refund")).all()) == 2


async def test_refused_refunds_change_nothing(api: Api) -> None:
    (over,) = await start_accounts(api, CALLS, 1, balances=[100_000], campaign_id="camp-refused")
    await pay(api, over.id, 103_000, "over-2")
    await ended(api, over.workflow_id)
    for body, status in (
        ({"amount": 0}, 422),
        ({"amount": -5}, 422),
        ({"amount": "10"}, 422),
        ({"amount": 1.5}, 422),
        ({"currency": "USD", "amount": 1_000}, 422),
        ({"amount": 1_000, "reference": ""}, 422),
        ({"amount": 1_000, "kind": "cash"}, 422),
        ({"amount": 3_001}, 422),
    ):
        response = await refund(api, over.id, **body)
        assert response.status_code == status, (body, response.text)
    missing = await refund(api, 999_999, amount=1_000)
    assert missing.status_code == 404, missing.text
    agent = await api.http.post(
        f"/accounts/{over.id}/refunds",
        json={"amount": 1_000, "currency": "CLP", "reference": "x"},
        headers=api.as_("agent"),
    )
    assert agent.status_code == 403
    assert overpaid_of(api, over.id) == 3_000
    with api.sessions() as session:
        assert session.scalars(select(AccountEvent).where(AccountEvent.kind == "refund")).all() == []


async def test_the_supervisors_console_records_a_refund(api: Api) -> None:
    (over,) = await start_accounts(api, CALLS, 1, balances=[100_000], campaign_id="camp-console-refund")
    await pay(api, over.id, 112_000, "over-3")
    await ended(api, over.workflow_id)
    supervisor = await console_of(api, "supervisor")
    try:
        page = await supervisor.get(f"/console/accounts/{over.id}")
        assert page.status_code == 200, page.text
        assert 'id="refund-form"' in page.text
        assert "The creditor owes $12.000 back" in html.unescape(page.text)
        token = CSRF.search(page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "amount": "12001", "reference": "TRX-9", "kind": "credit"}
        refused = await supervisor.post(f"/console/accounts/{over.id}/refund", data=form)
        assert refused.status_code == 422, refused.text
        assert overpaid_of(api, over.id) == 12_000
        done = await supervisor.post(f"/console/accounts/{over.id}/refund", data={**form, "amount": "12000"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/console/accounts/{over.id}?done=refunded"
        assert overpaid_of(api, over.id) == 0
        after = await supervisor.get(done.headers["location"])
        assert 'id="refund-form"' not in after.text
        assert "Refund recorded" in after.text
        assert text_of(after, "facts-balance") == text_of(after, "live-balance") == "$0"
        assert "credit of $12.000 recorded (ref TRX-9)" in html.unescape(after.text)
        supervisor.cookies.set(LANG_COOKIE, "es")
        spanish = await supervisor.get(f"/console/accounts/{over.id}?done=refunded")
        assert "Devolución registrada" in html.unescape(spanish.text)
    finally:
        await supervisor.aclose()


async def test_a_running_account_takes_the_refund_through_its_workflow(api: Api, tmp_path: Path) -> None:
    """An account whose strategy thanks the debtor and waits before closing paid stays open after an
    overpayment: the refund goes to its workflow (`record_refund`), whose turn writes the read model."""
    text = CALLS.read_text(encoding="utf-8")
    text = text.replace("id: api-calls", "id: api-calls-thanks").replace(
        "on:\n  dispute: llamada\n", "on:\n  dispute: llamada\n  payment_in_full: gracias\n"
    )
    text = text.replace(
        "steps:\n", "steps:\n  gracias:\n    stage: payment\n    do:\n      - wait: 30d\n      - end: paid\n", 1
    )
    strategy = tmp_path / "thanks.yaml"
    strategy.write_text(text, encoding="utf-8")
    (over,) = await start_accounts(api, strategy, 1, balances=[100_000], campaign_id="camp-running-refund")
    await pay(api, over.id, 108_000, "over-4")
    await settle(api, over.workflow_id)
    with api.sessions() as session:
        row = session.get(AccountStateRow, over.id)
        assert row is not None
        assert (row.overpaid, row.resolution, row.step) == (8_000, None, "gracias")

    too_much = await refund(api, over.id, amount=8_001)
    assert too_much.status_code == 422, too_much.text
    done = await refund(api, over.id, amount=3_000)
    assert done.status_code == 201, done.text
    assert done.json()["overpaid"] == 5_000
    assert overpaid_of(api, over.id) == 5_000
    again = await refund(api, over.id, amount=3_000)
    assert (again.status_code, again.json()["overpaid"]) == (200, 5_000)
    live = (await api.http.get(f"/accounts/{over.id}", headers=api.as_("supervisor"))).json()
    assert (live["live_status"], live["live"]["overpaid"]) == ("running", 5_000)
    (entry,) = [e for e in live["timeline"] if e["kind"] == "refund"]
    assert entry["summary"] == "refund of $3.000 recorded (ref bank-1)"
