"""The campaign endpoints against a real database and real workflows on the time-skipping Temporal
server: create from a published strategy, import Chilean accounts (CSV and JSON) with a
row-level report, launch them in batches through the campaign workflow, and pause, resume and
stop the whole campaign down to each account's workflow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from accounts_fixture import settle
from api_harness import Api
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from db.models import Account, Campaign, ContactPoint, Debtor
from domain.account import AccountSnapshot
from stack import portfolio
from workflows.contracts import AccountView, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

ROOT = Path(__file__).resolve().parents[2]
CL_TEXT = (ROOT / "strategies" / "cl-consumer.yaml").read_text(encoding="utf-8")
PROBLEM = "application/problem+json"
CSV = {"Content-Type": "text/csv"}
COLUMNS = ["account_id", "debtor_name", "country", "currency", "balance", "due_date", "email", "phone", "consent"]
T = TypeVar("T")


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def chilean(n: int, **changes: str) -> dict[str, str]:
    """A valid Chilean consumer account (the n-th), with mobile +56 9 8... and consent."""
    row = {
        "account_id": f"CL-{n:05d}",
        "debtor_name": f"Deudor {n}",
        "country": "CL",
        "currency": "CLP",
        "balance": f"{150000 + n}",
        "due_date": "2026-10-15",
        "email": f"deudor{n}@example.cl",
        "phone": f"9 8{n:07d}",
        "consent": "sí",
    }
    row.update(changes)
    return row


def csv_of(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    return portfolio.to_csv(rows, columns or []).encode()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 30) -> T:
    """Poll `check` until it answers something truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def published(api: Api) -> str:
    response = await api.http.post(
        "/strategies", content=CL_TEXT, headers=api.as_("strategist", **{"Content-Type": "application/yaml"})
    )
    assert response.status_code in (200, 201), response.text
    hash_: str = response.json()["hash"]
    return hash_


async def new_campaign(api: Api, campaign_id: str = "cl-2026-11", **extra: Any) -> dict[str, Any]:
    body = {
        "id": campaign_id,
        "name": "Consumo noviembre",
        "strategy_hash": await published(api),
        "creditor_name": "Financiera Andes",
        "creditor_phone": "+56223456789",
        "creditor_email": "cobranza@andes.example",
        "payment_link_base": "https://pagos.andes.example/p/",
        **extra,
    }
    response = await api.http.post("/campaigns", json=body, headers=api.as_("strategist"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def import_csv(api: Api, campaign_id: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    response = await api.http.post(
        f"/campaigns/{campaign_id}/accounts", content=csv_of(rows), headers=api.as_("strategist", **CSV)
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def campaign(api: Api, campaign_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/campaigns/{campaign_id}", headers=api.as_("supervisor"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def launched(api: Api, campaign_id: str, *, batch_size: int = 5, concurrency: int = 3) -> dict[str, Any]:
    """Launch and wait until the launch is done."""
    response = await api.http.post(
        f"/campaigns/{campaign_id}/launch",
        json={"batch_size": batch_size, "concurrency": concurrency},
        headers=api.as_("strategist"),
    )
    assert response.status_code == 202, response.text
    assert response.json()["launch"]["status"] == "running"

    async def done() -> dict[str, Any] | None:
        body = await campaign(api, campaign_id)
        return body if body["launch"]["status"] == "done" else None

    return await eventually(done, "the launch to finish")


async def state(api: Api, workflow_id: str) -> AccountView:
    await settle(api, workflow_id)
    view: AccountView = await api.env.client.get_workflow_handle(workflow_id).query(DebtorWorkflow.state)
    return view


def accounts_of(api: Api, campaign_id: str) -> list[Account]:
    with api.sessions() as session:
        return list(session.scalars(select(Account).where(Account.campaign_id == campaign_id).order_by(Account.id)))


class TestCreate:
    async def test_a_campaign_from_a_published_strategy(self, api: Api) -> None:
        created = await new_campaign(api)
        assert (created["id"], created["status"], created["launch_status"], created["created_by"]) == (
            "cl-2026-11",
            "draft",
            "not_started",
            "sofia",
        )
        assert created["launch"] == {
            "status": "not_started",
            "launched": 0,
            "total": 0,
            "not_launched": 0,
            "started_at": None,
            "finished_at": None,
        }
        assert created["creditor_phone"] == "+56223456789"
        read = await api.http.get("/campaigns/cl-2026-11", headers=api.as_("supervisor"))
        assert read.json() == created

    async def test_an_id_is_generated_when_not_given(self, api: Api) -> None:
        hash_ = await published(api)
        response = await api.http.post(
            "/campaigns",
            json={"name": "Sin id", "strategy_hash": hash_, "creditor_name": "Andes"},
            headers=api.as_("admin"),
        )
        assert response.status_code == 201
        assert response.json()["id"].startswith("camp-")
        assert response.headers["location"] == f"/campaigns/{response.json()['id']}"

    async def test_an_unknown_strategy_is_404_and_a_taken_id_409(self, api: Api) -> None:
        body = {"id": "x", "name": "X", "strategy_hash": "0" * 64, "creditor_name": "Andes"}
        assert (
            "publish it first"
            in problem(await api.http.post("/campaigns", json=body, headers=api.as_("strategist")), 404)["detail"]
        )
        await new_campaign(api, "taken")
        again = await api.http.post(
            "/campaigns",
            json={**body, "id": "taken", "strategy_hash": await published(api)},
            headers=api.as_("strategist"),
        )
        problem(again, 409)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("creditor_phone", "12"),
            ("creditor_email", "cobranza@"),
            ("payment_link_base", "ftp://x"),
            ("id", "has:colon"),
            ("name", "   "),
            ("id", 7),
        ],
    )
    async def test_bad_fields_are_422_with_a_pointer(self, api: Api, field: str, value: Any) -> None:
        body = {"name": "X", "strategy_hash": await published(api), "creditor_name": "Andes", field: value}
        found = problem(await api.http.post("/campaigns", json=body, headers=api.as_("strategist")), 422)
        assert [e["pointer"] for e in found["errors"]] == [f"/body/{field}"]

    async def test_who_may_create_and_read(self, api: Api) -> None:
        body = {"name": "X", "strategy_hash": await published(api), "creditor_name": "Andes"}
        problem(await api.http.post("/campaigns", json=body, headers=api.as_("supervisor")), 403)
        problem(await api.http.post("/campaigns", json=body, headers=api.as_("agent")), 403)
        await new_campaign(api)
        problem(await api.http.get("/campaigns/cl-2026-11", headers=api.as_("agent")), 403)
        problem(await api.http.get("/campaigns/nope", headers=api.as_("strategist")), 404)

    async def test_campaigns_are_listed_by_page_and_status(self, api: Api) -> None:
        for n in range(3):
            await new_campaign(api, f"c{n}")
        first = (await api.http.get("/campaigns", params={"limit": 2}, headers=api.as_("supervisor"))).json()
        assert [c["id"] for c in first["items"]] == ["c0", "c1"]
        rest = (
            await api.http.get(
                "/campaigns", params={"limit": 2, "cursor": first["next_cursor"]}, headers=api.as_("supervisor")
            )
        ).json()
        assert ([c["id"] for c in rest["items"]], rest["next_cursor"]) == (["c2"], None)
        running = await api.http.get("/campaigns", params={"status": "running"}, headers=api.as_("strategist"))
        assert running.json()["items"] == []
        problem(await api.http.get("/campaigns", params={"status": "lost"}, headers=api.as_("strategist")), 422)


class TestImport:
    async def test_good_rows_are_written_and_bad_ones_reported_by_row_and_field(self, api: Api) -> None:
        await new_campaign(api)
        rows = [
            chilean(1, region="Magallanes"),
            chilean(2, phone="+56912345678"),  # not a Chilean number in use
            chilean(3, email="deudor3@"),
            chilean(4, balance="-1000"),
            chilean(5, currency="XYZ"),
            chilean(6, consent=""),
            chilean(7, balance="1500.50"),  # CLP has no decimals
            chilean(8),
        ]
        report = await import_csv(api, "cl-2026-11", rows)
        assert (report["rows"], report["accepted"], report["updated"], report["unchanged"]) == (8, 2, 0, 0)
        assert report["skipped"] == []
        assert [(r["row"], r["external_id"], r["field"]) for r in report["rejected"]] == [
            (2, "CL-00002", "phone"),
            (3, "CL-00003", "email"),
            (4, "CL-00004", "balance"),
            (5, "CL-00005", "currency"),
            (6, "CL-00006", "consent"),
            (6, "CL-00006", "consent"),
            (7, "CL-00007", "balance"),
        ]
        details = {r["row"]: r["detail"] for r in report["rejected"]}
        assert details[4] == "must not be negative (got -1000)"
        assert details[5] == "'XYZ' is not an ISO 4217 currency code"
        assert details[7] == "1500.50 has more decimals than CLP allows (no decimals)"
        assert report["total_accounts"] == 2

        account, other = accounts_of(api, "cl-2026-11")
        snap = AccountSnapshot.model_validate(account.snapshot_json)
        assert (snap.account_id, snap.phone, snap.timezone, snap.balance) == (
            "CL-00001",
            "+56980000001",
            "America/Punta_Arenas",
            150001,
        )
        assert account.workflow_id == debtor_workflow_id("cl-2026-11", "CL-00001")
        assert (account.balance, account.currency, account.due_date) == (150001, "CLP", date(2026, 10, 15))
        assert account.launched_at is None
        assert AccountSnapshot.model_validate(other.snapshot_json).timezone == "America/Santiago"  # from the phone
        with api.sessions() as session:
            debtor = session.scalar(select(Debtor).where(Debtor.id == account.debtor_id))
            assert debtor is not None
            assert (debtor.external_id, debtor.name, debtor.timezone) == (
                "CL-00001",
                "Deudor 1",
                "America/Punta_Arenas",
            )
            points = session.scalars(select(ContactPoint).where(ContactPoint.debtor_id == debtor.id)).all()
            assert {(p.channel, p.address, p.consent) for p in points} == {
                ("email", "deudor1@example.cl", True),
                ("sms", "+56980000001", True),
                ("voice", "+56980000001", True),
            }

    async def test_reimporting_is_idempotent_by_account_id(self, api: Api) -> None:
        await new_campaign(api)
        rows = [chilean(n) for n in range(1, 4)]
        await import_csv(api, "cl-2026-11", rows)
        before = [(a.id, a.debtor_id) for a in accounts_of(api, "cl-2026-11")]
        again = await import_csv(api, "cl-2026-11", rows)
        assert (again["accepted"], again["updated"], again["unchanged"]) == (0, 0, 3)
        rows[1] = chilean(2, balance="99000", consent="no")
        changed = await import_csv(api, "cl-2026-11", rows)
        assert (changed["accepted"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
        accounts = accounts_of(api, "cl-2026-11")
        assert [(a.id, a.debtor_id) for a in accounts] == before
        second = AccountSnapshot.model_validate(accounts[1].snapshot_json)
        assert (second.balance, second.opted_out) == (99000, ("email", "sms"))
        with api.sessions() as session:
            consents = session.scalars(
                select(ContactPoint.consent).where(
                    ContactPoint.debtor_id == accounts[1].debtor_id, ContactPoint.channel.in_(("email", "sms"))
                )
            ).all()
            assert consents == [False, False]
            assert len(session.scalars(select(Debtor)).all()) == 3

    async def test_json_imports_and_shared_debtors(self, api: Api) -> None:
        await new_campaign(api)
        body = [
            {**chilean(1), "debtor_id": "RUT-1", "balance": 150000},
            {**chilean(2), "debtor_id": "RUT-1", "timezone": "America/Santiago", "tags": ["vip"]},
            {**chilean(3), "phone": "+1 212 555 0100"},
            {**chilean(4), "balance": -5, "email": "no at all"},
        ]
        response = await api.http.post("/campaigns/cl-2026-11/accounts", json=body, headers=api.as_("strategist"))
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["accepted"] == 3, report
        assert [(r["row"], r["field"]) for r in report["rejected"]] == [(4, "balance"), (4, "email")]
        first, second, third = accounts_of(api, "cl-2026-11")
        assert first.debtor_id == second.debtor_id
        assert AccountSnapshot.model_validate(second.snapshot_json).tags == ("vip",)
        assert AccountSnapshot.model_validate(third.snapshot_json).phone == "+12125550100"
        assert AccountSnapshot.model_validate(third.snapshot_json).timezone == "America/New_York"

    async def test_another_campaigns_debtor_cannot_be_rewritten(self, api: Api) -> None:
        await new_campaign(api, "loop")
        await new_campaign(api, "edge")
        assert (await import_csv(api, "loop", [chilean(5)]))["accepted"] == 1
        attack = chilean(
            9, debtor_id="CL-00005", debtor_name="Mallory", email="mallory@evil.example", phone="9 80000005"
        )
        report = await import_csv(api, "edge", [attack, chilean(10)])
        assert report["accepted"] == 1, report
        assert [(r["row"], r["field"]) for r in report["rejected"]] == [(1, "debtor_name"), (1, "email")]
        for rejected in report["rejected"]:
            assert "CL-00005" in rejected["detail"]
            assert "loop" not in rejected["detail"]
            assert "Deudor 5" not in rejected["detail"]
        with api.sessions() as session:
            debtor = session.scalars(select(Debtor).where(Debtor.external_id == "CL-00005")).one()
            assert debtor.name == "Deudor 5"
            assert {p.address for p in debtor.contact_points} == {"deudor5@example.cl", "+56980000005"}
        # The same debtor, facts unchanged: the new account is welcome.
        same = chilean(5, account_id="CL-00011")
        assert (await import_csv(api, "edge", [same]))["accepted"] == 1

    async def test_a_file_that_repeats_an_account_keeps_the_first(self, api: Api) -> None:
        await new_campaign(api)
        report = await import_csv(api, "cl-2026-11", [chilean(1), chilean(2), chilean(1, balance="5")])
        assert report["accepted"] == 2
        assert report["rejected"] == [
            {
                "row": 3,
                "external_id": "CL-00001",
                "field": "account_id",
                "detail": "the file repeats this account (first at row 1)",
            }
        ]

    async def test_unreadable_files_are_problems(self, api: Api) -> None:
        await new_campaign(api)
        url = "/campaigns/cl-2026-11/accounts"
        headers = api.as_("strategist")
        problem(await api.http.post(url, content=b"a,b", headers={**headers, "Content-Type": "text/plain"}), 415)
        problem(await api.http.post(url, content=b"", headers={**headers, **CSV}), 422)
        body = problem(await api.http.post(url, content=b"account_id,country\nA,CL\n", headers={**headers, **CSV}), 422)
        assert "currency, balance, due_date" in body["detail"]
        problem(await api.http.post(url, content=b"[1,", headers={**headers, "Content-Type": "application/json"}), 422)
        problem(
            await api.http.post("/campaigns/none/accounts", content=csv_of([chilean(1)]), headers={**headers, **CSV}),
            404,
        )
        problem(await api.http.post(url, content=csv_of([chilean(1)]), headers=api.as_("supervisor", **CSV)), 403)

    async def test_five_thousand_rows_import_and_reimport(self, api: Api) -> None:
        """A file of a real campaign's size goes in whole and a repeat changes nothing (its speed is
        measured by benchmarks/bench_launch.py, not asserted here)."""
        await new_campaign(api)
        rows = [chilean(n, region="Metropolitana") for n in range(1, 5001)]
        report = await import_csv(api, "cl-2026-11", rows)
        assert report["accepted"] == 5000
        assert report["rejected"] == []
        again = await import_csv(api, "cl-2026-11", rows)
        assert again["unchanged"] == 5000
        assert again["total_accounts"] == 5000


class TestLaunch:
    async def test_every_account_gets_its_workflow_and_progress_is_counted(self, api: Api) -> None:
        await new_campaign(api)
        await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 13)])
        body = await launched(api, "cl-2026-11", batch_size=5, concurrency=3)
        assert body["status"] == "running"
        assert body["launch"]["launched"] == body["launch"]["total"] == 12
        assert body["launch"]["not_launched"] == 0
        assert body["launch"]["finished_at"] is not None
        for account in accounts_of(api, "cl-2026-11"):
            assert account.launched_at is not None
            handle = api.env.client.get_workflow_handle(account.workflow_id)
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            view = await state(api, account.workflow_id)
            assert (view.campaign_id, view.account_id, view.strategy_id) == (
                "cl-2026-11",
                account.external_id,
                "cl-consumer",
            )
        body = await campaign(api, "cl-2026-11")
        assert sum(body["accounts_by_stage"].values()) == 12

    async def test_progress_is_readable_while_it_runs(self, api: Api) -> None:
        await new_campaign(api)
        await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 11)])
        response = await api.http.post(
            "/campaigns/cl-2026-11/launch", json={"batch_size": 1, "concurrency": 1}, headers=api.as_("strategist")
        )
        assert response.status_code == 202
        seen: list[int] = []

        async def done() -> bool:
            body = await campaign(api, "cl-2026-11")
            seen.append(body["launch"]["launched"])
            return body["launch"]["status"] == "done"

        await eventually(done, "the launch to finish")
        assert seen == sorted(seen)
        assert seen[-1] == 10
        assert any(0 < n < 10 for n in seen), seen

    async def test_launching_again_starts_only_new_accounts(self, api: Api) -> None:
        await new_campaign(api)
        await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 4)])
        await launched(api, "cl-2026-11")
        runs = {
            a.workflow_id: (await api.env.client.get_workflow_handle(a.workflow_id).describe()).run_id
            for a in accounts_of(api, "cl-2026-11")
        }
        body = problem(await api.http.post("/campaigns/cl-2026-11/launch", headers=api.as_("strategist")), 409)
        assert body["detail"] == "All 3 accounts of campaign cl-2026-11 are already launched."
        report = await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 6)])
        assert (report["accepted"], len(report["skipped"])) == (2, 3)
        assert report["skipped"][0] == {
            "row": 1,
            "external_id": "CL-00001",
            "detail": "already launched; its workflow owns it",
        }
        body = await launched(api, "cl-2026-11")
        assert (body["launch"]["launched"], body["launch"]["total"]) == (5, 5)
        for workflow_id, run_id in runs.items():
            assert (await api.env.client.get_workflow_handle(workflow_id).describe()).run_id == run_id

    async def test_a_campaign_without_accounts_cannot_launch(self, api: Api) -> None:
        await new_campaign(api)
        body = problem(await api.http.post("/campaigns/cl-2026-11/launch", headers=api.as_("strategist")), 409)
        assert "import some first" in body["detail"]
        problem(await api.http.post("/campaigns/nope/launch", headers=api.as_("strategist")), 404)
        problem(await api.http.post("/campaigns/cl-2026-11/launch", headers=api.as_("supervisor")), 403)
        bad = await api.http.post("/campaigns/cl-2026-11/launch", json={"batch_size": 0}, headers=api.as_("strategist"))
        assert [e["pointer"] for e in problem(bad, 422)["errors"]] == ["/body/batch_size"]


class TestSteer:
    async def test_pause_resume_and_stop_reach_every_account(self, api: Api) -> None:
        await new_campaign(api)
        await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 5)])
        await launched(api, "cl-2026-11")
        accounts = accounts_of(api, "cl-2026-11")

        paused = await api.http.post("/campaigns/cl-2026-11/pause", headers=api.as_("supervisor"))
        assert paused.status_code == 202, paused.text
        assert paused.json()["status"] == "paused"
        for account in accounts:
            await eventually(lambda a=account: self._hold_is(api, a.workflow_id, "paused"), "the pause")
        problem(await api.http.post("/campaigns/cl-2026-11/pause", headers=api.as_("supervisor")), 409)
        problem(await api.http.post("/campaigns/cl-2026-11/launch", headers=api.as_("strategist")), 409)

        resumed = await api.http.post("/campaigns/cl-2026-11/resume", headers=api.as_("strategist"))
        assert resumed.status_code == 202
        assert resumed.json()["status"] == "running"
        for account in accounts:
            await eventually(lambda a=account: self._hold_is(api, a.workflow_id, None), "the resume")

        stopped = await api.http.post("/campaigns/cl-2026-11/stop", headers=api.as_("supervisor"))
        assert stopped.status_code == 202
        for account in accounts:
            handle = api.env.client.get_workflow_handle(account.workflow_id)

            async def closed(h: Any = handle) -> bool:
                return bool((await h.describe()).status == WorkflowExecutionStatus.COMPLETED)

            await eventually(closed, "the account to close")
            view = await handle.query(DebtorWorkflow.state)
            assert view.resolution == "closed_by_supervisor"
        body = problem(await api.http.post("/campaigns/cl-2026-11/resume", headers=api.as_("supervisor")), 409)
        assert "stopping is final" in body["detail"]
        problem(await api.http.post("/campaigns/cl-2026-11/stop", headers=api.as_("supervisor")), 409)
        problem(
            await api.http.post(
                "/campaigns/cl-2026-11/accounts", content=csv_of([chilean(9)]), headers=api.as_("strategist", **CSV)
            ),
            409,
        )

    async def _hold_is(self, api: Api, workflow_id: str, hold: str | None) -> bool:
        return (await state(api, workflow_id)).hold == hold

    async def test_rules_of_the_commands(self, api: Api) -> None:
        await new_campaign(api)
        body = problem(await api.http.post("/campaigns/cl-2026-11/pause", headers=api.as_("supervisor")), 409)
        assert body["detail"] == "Only a running campaign can be paused; cl-2026-11 is draft."
        problem(await api.http.post("/campaigns/cl-2026-11/resume", headers=api.as_("supervisor")), 409)
        problem(await api.http.post("/campaigns/cl-2026-11/pause", headers=api.as_("agent")), 403)
        problem(await api.http.post("/campaigns/nope/stop", headers=api.as_("supervisor")), 404)
        stopped = await api.http.post("/campaigns/cl-2026-11/stop", headers=api.as_("strategist"))
        assert stopped.status_code == 202
        assert stopped.json()["status"] == "stopped"
        with api.sessions() as session:
            row = session.get(Campaign, "cl-2026-11")
            assert row is not None
            assert row.status == "stopped"


class TestMove:
    async def test_every_launched_account_moves_to_the_new_version(self, api: Api) -> None:
        await new_campaign(api)
        await import_csv(api, "cl-2026-11", [chilean(n) for n in range(1, 4)])
        await launched(api, "cl-2026-11")
        # The strategist tunes the wait before the call and publishes it as a new version.
        tuned = CL_TEXT.replace("      - wait: 4d\n      - goto: llamada", "      - wait: 2d\n      - goto: llamada", 1)
        assert tuned != CL_TEXT
        published = await api.http.post(
            "/strategies", content=tuned, headers=api.as_("strategist", **{"Content-Type": "application/yaml"})
        )
        assert published.status_code == 201, published.text
        new_hash = published.json()["hash"]

        moved = await api.http.post(
            "/campaigns/cl-2026-11/strategy", json={"strategy_hash": new_hash}, headers=api.as_("supervisor")
        )
        assert moved.status_code == 202, moved.text
        assert moved.json()["strategy_hash"] == new_hash
        for account in accounts_of(api, "cl-2026-11"):

            async def on_new_version(wf: str = account.workflow_id) -> bool:
                return (await state(api, wf)).strategy_hash == new_hash

            await eventually(on_new_version, f"{account.workflow_id} to move")
        # Accounts imported and launched from now on start on the new version.
        await import_csv(api, "cl-2026-11", [chilean(9)])
        await launched(api, "cl-2026-11")
        view = await state(api, debtor_workflow_id("cl-2026-11", "CL-00009"))
        assert view.strategy_hash == new_hash

    async def test_refusals(self, api: Api) -> None:
        await new_campaign(api)
        url = "/campaigns/cl-2026-11/strategy"
        problem(await api.http.post(url, json={"strategy_hash": "0" * 64}, headers=api.as_("supervisor")), 404)
        body = problem(await api.http.post(url, json={"strategy_hash": "x"}, headers=api.as_("supervisor")), 422)
        assert body["errors"][0]["pointer"] == "/body/strategy_hash"
        problem(await api.http.post(url, json={"strategy_hash": "0" * 64}, headers=api.as_("strategist")), 403)
        problem(
            await api.http.post(
                "/campaigns/nope/strategy", json={"strategy_hash": "0" * 64}, headers=api.as_("supervisor")
            ),
            404,
        )
        await api.http.post("/campaigns/cl-2026-11/stop", headers=api.as_("supervisor"))
        current = (await campaign(api, "cl-2026-11"))["strategy_hash"]
        body = problem(await api.http.post(url, json={"strategy_hash": current}, headers=api.as_("supervisor")), 409)
        assert "stopped" in body["detail"]
