"""Every door shows an account's days past due alike (services/accounts_view.py): the API's list
and account page, the agent's and the supervisor's console pages, the console's list, and the
bucket filter of both lists. They count from the read model's `past_due_since` (the oldest unpaid
due under a second-edition strategy, the first due under a first-edition one), else, before the
account's first turn, from its due date, to today in the debtor's zone: at 01:00 UTC it is still
yesterday in Santiago. The real app over ASGI, real databases (SQLite and PostgreSQL), turn records
written by the turn activity, Temporal's test server behind the account pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from live_account import one_email, open_account, publish, snapshot, strategy, turn
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.turns import TurnActivities
from api.app import create_app
from api.auth import issue_key
from config import Settings
from db.repositories.accounts import DPD_BUCKETS

STRATEGY = one_email("dpd-views")
# Two monthly dues; the November one was paid during the campaign.
DUES = {"dues": [{"due_date": "2026-11-01", "amount": 100_000}, {"due_date": "2026-12-01", "amount": 100_000}]}
TURN_AT = datetime(2026, 12, 1, 15, tzinfo=UTC)
AFTERNOON = datetime(2026, 12, 2, 15, tzinfo=UTC)  # December 2 in Santiago too
NIGHT = datetime(2026, 12, 2, 1, tzinfo=UTC)  # December 1, 22:00 in Santiago (UTC-3 in summer)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PEOPLE = {"supervisor": ("marta", "supervisor", []), "agent": ("ana", "agent", ["calls"])}
CONSOLE_SECRET = "days-past-due-views-secret-0123456789abcdef"

# Days past due of each account at each time: counted from December 1 (the oldest unpaid due,
# second edition), from November 1 (the first due, first edition), and from the due date of an
# account that has not run (November 2).
EXPECTED = {
    AFTERNOON: {"second_edition": 1, "first_edition": 31, "not_run": 30},
    NIGHT: {"second_edition": 0, "first_edition": 30, "not_run": 29},
}


@dataclass
class Door:
    """One person's clients: the API with their key, and a signed-in console."""

    api: httpx.AsyncClient
    console: httpx.AsyncClient
    headers: dict[str, str]


def fixed(at: datetime) -> Callable[[], Awaitable[datetime]]:
    async def now() -> datetime:
        return at

    return now


def write_accounts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """The three accounts, each in its own campaign; the two that ran are the agent's."""
    ids = {}
    for name, edition in (("second_edition", 2), ("first_edition", 1)):
        version = strategy(STRATEGY, edition=edition)
        publish(sessions, version)
        snap = snapshot(f"DPD-{name}", **DUES)
        ids[name] = open_account(sessions, f"c-{name}", snap, version.hash)
        record = turn(f"c-{name}", snap, version.hash, 1, TURN_AT, step="aviso", paid_total=100_000)
        TurnActivities(sessions).record_turn(record.model_copy(update={"assigned_agent": "ana"}))
    version = strategy(STRATEGY, edition=2)
    ids["not_run"] = open_account(sessions, "c-not-run", snapshot("DPD-not-run", due_date="2026-11-02"), version.hash)
    return ids


@pytest.fixture
async def doors(
    request: pytest.FixtureRequest, sessions: sessionmaker[Session], env: WorkflowEnvironment
) -> AsyncIterator[dict[str, Door]]:
    settings = Settings(database_url="sqlite://", console_secret=CONSOLE_SECRET)  # type: ignore[arg-type]
    app = create_app(settings, sessions=sessions, client=env.client, clock=fixed(request.param))
    with sessions() as session:
        keys = {who: issue_key(session, *person).key for who, person in PEOPLE.items()}
        session.commit()
    transport = httpx.ASGITransport(app=app)
    opened: list[httpx.AsyncClient] = []
    found = {}
    try:
        for who, key in keys.items():
            api, console = (httpx.AsyncClient(transport=transport, base_url="http://testserver") for _ in range(2))
            opened += [api, console]
            signin = await console.get("/console/signin")
            signed = await console.post("/console/signin", data={"api_key": key, "csrf_token": token(signin)})
            assert signed.status_code == 303, signed.text
            found[who] = Door(api=api, console=console, headers={"X-API-Key": key})
        yield found
    finally:
        for client in opened:
            await client.aclose()


def token(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def facts_days(page: httpx.Response) -> int:
    """The days past due an account page's facts show."""
    assert page.status_code == 200, page.text
    found = re.search(r"<dt>Days past due</dt><dd>(-?\d+)</dd>", page.text)
    assert found is not None, page.text
    return int(found.group(1))


def listed_days(page: httpx.Response) -> dict[int, int]:
    """Account id -> days past due, from the console's account list."""
    assert page.status_code == 200, page.text
    rows = re.findall(
        r'<a href="/console/accounts/(\d+)">.*?<td class="num">[^<]*</td>\s*<td class="num">(-?\d+)</td>',
        page.text,
        re.S,
    )
    return {int(account_id): int(days) for account_id, days in rows}


def bucket_of(days: int) -> str:
    return next(
        name
        for name, (low, high) in DPD_BUCKETS.items()
        if (low is None or days >= low) and (high is None or days <= high)
    )


@pytest.mark.parametrize("doors", [AFTERNOON, NIGHT], ids=["afternoon", "night-in-santiago"], indirect=True)
async def test_every_door_counts_the_same_days(
    doors: dict[str, Door], sessions: sessionmaker[Session], request: pytest.FixtureRequest
) -> None:
    now = request.node.callspec.params["doors"]
    ids = write_accounts(sessions)
    expected = {ids[name]: days for name, days in EXPECTED[now].items()}
    supervisor, agent = doors["supervisor"], doors["agent"]

    listed = await supervisor.api.get("/accounts", headers=supervisor.headers)
    assert listed.status_code == 200, listed.text
    rows = {a["id"]: (a["days_past_due"], a["dpd_bucket"]) for a in listed.json()["items"]}
    assert rows == {account_id: (days, bucket_of(days)) for account_id, days in expected.items()}
    for account_id, days in expected.items():
        detail = await supervisor.api.get(f"/accounts/{account_id}", headers=supervisor.headers)
        assert detail.status_code == 200, detail.text
        assert detail.json()["account"]["days_past_due"] == days
        assert facts_days(await supervisor.console.get(f"/console/accounts/{account_id}")) == days
    assert listed_days(await supervisor.console.get("/console/accounts")) == expected
    for name in ("second_edition", "first_edition"):  # the agent's own accounts: the two that ran
        assert facts_days(await agent.console.get(f"/console/work/accounts/{ids[name]}")) == expected[ids[name]]
        mine = await agent.api.get(f"/accounts/{ids[name]}", headers=agent.headers)
        assert mine.json()["account"]["days_past_due"] == expected[ids[name]]

    for bucket in DPD_BUCKETS:
        wanted = sorted(i for i, days in expected.items() if bucket_of(days) == bucket)
        api_page = await supervisor.api.get("/accounts", params={"dpd_bucket": bucket}, headers=supervisor.headers)
        assert [a["id"] for a in api_page.json()["items"]] == wanted, bucket
        console_page = await supervisor.console.get("/console/accounts", params={"dpd_bucket": bucket})
        assert sorted(listed_days(console_page)) == wanted, bucket
        # With a read-model filter the read model drives the page: only accounts that ran.
        ran = [i for i in wanted if i != ids["not_run"]]
        params = {"dpd_bucket": bucket, "stage": "contact"}
        staged = await supervisor.api.get("/accounts", params=params, headers=supervisor.headers)
        assert [a["id"] for a in staged.json()["items"]] == ran, bucket
