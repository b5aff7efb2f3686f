"""Fifty agents claiming at once, against the real app and a real database (SQLite, and
PostgreSQL when TEST_DATABASE_URL is set), with a connection and a worker thread for each: every
task is handed out exactly once, tasks reserved for an agent go to that agent only, and nobody
gets a 5xx. No Temporal: claiming touches the database only.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import anyio.to_thread
import httpx
import pytest
from api_harness import api_settings
from clock import TEST_NOW
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_key
from db.models import Account, AgentTask, Campaign, Debtor
from db.session import make_engine, make_session_factory, normalize_url
from services import task_priority

AGENTS = 50
TASKS = 300  # in the shared queue, besides one reserved for each of the first RESERVED agents
RESERVED = 10


async def fixed_clock() -> datetime:
    return TEST_NOW


@dataclass
class Floor:
    """The app, one key per agent, and the ids of the tasks waiting (reserved ones by agent)."""

    http: httpx.AsyncClient
    sessions: sessionmaker[Session]
    keys: list[str]
    shared: set[int]
    reserved: dict[int, str]  # task id -> the agent it is reserved for


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """A pool as large as the crowd, so every agent's transaction really runs at the same time."""
    if normalize_url(migrated_url).get_backend_name() == "sqlite":
        made = make_engine(migrated_url)
    else:
        made = create_engine(normalize_url(migrated_url), pool_size=AGENTS + 5, max_overflow=0)
    yield made
    made.dispose()


@pytest.fixture
async def floor(engine: Engine) -> AsyncIterator[Floor]:
    sessions = make_session_factory(engine)
    with sessions() as session:
        keys = [issue_key(session, f"agent{n}", "agent", ["calls"]).key for n in range(AGENTS)]
        session.add(Campaign(id="c", name="c", strategy_hash="h" * 64, creditor_name="Acme", status="running"))
        shared, reserved = set(), {}
        for n in range(TASKS + RESERVED):
            debtor = Debtor(external_id=f"D{n}", name="D", country="CL", timezone="America/Santiago", locale="es")
            session.add(debtor)
            session.flush()
            account = Account(
                campaign_id="c",
                external_id=f"A{n}",
                debtor_id=debtor.id,
                workflow_id=f"wf-{n}",
                currency="CLP",
                balance=1_000 * (n % 37),
                original_amount=100_000,
                due_date=date(2026, 10, 1),
                snapshot_json={},
            )
            session.add(account)
            session.flush()
            agent = f"agent{n - TASKS}" if n >= TASKS else None
            task = AgentTask(
                key=f"t-{n}",
                account_id=account.id,
                workflow_id=account.workflow_id,
                seq=1,
                step="llamada",
                queue="calls",
                attempt=1,
                allowed_outcomes=["no_answer"],
                assigned_agent=agent,
                # Some urgent, most not, with ties: both bands and their tie-breaks are exercised.
                due_at=TEST_NOW + timedelta(minutes=30 * (n % 12)),
            )
            session.add(task)
            session.flush()
            if agent is None:
                shared.add(task.id)
            else:
                reserved[task.id] = agent
        task_priority.rescore_all(session)
        session.commit()
    app = create_app(api_settings(), sessions=sessions, clock=fixed_clock)
    # Starlette runs the sync endpoints on anyio's thread pool: one thread per agent.
    anyio.to_thread.current_default_thread_limiter().total_tokens = AGENTS + 5
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield Floor(http=http, sessions=sessions, keys=keys, shared=shared, reserved=reserved)


async def test_fifty_agents_claiming_the_next_task_each_get_different_ones(floor: Floor) -> None:
    statuses: Counter[int] = Counter()

    async def agent(n: int) -> list[int]:
        mine = []
        while True:
            response = await floor.http.post("/agent/tasks/next/claim", headers={"X-API-Key": floor.keys[n]})
            statuses[response.status_code] += 1
            if response.status_code != 200:
                assert response.status_code == 404, response.text
                return mine
            body = response.json()
            assert (body["status"], body["assigned_agent"]) == ("claimed", f"agent{n}")
            mine.append(body["id"])

    handed = await asyncio.gather(*(agent(n) for n in range(AGENTS)))

    assert not [s for s in statuses if s >= 500]
    everything = [task for tasks in handed for task in tasks]
    assert len(everything) == len(set(everything)) == TASKS + RESERVED
    assert set(everything) == floor.shared | set(floor.reserved)
    for n, tasks in enumerate(handed):
        assert {t for t in tasks if t in floor.reserved} == {t for t, a in floor.reserved.items() if a == f"agent{n}"}
    with floor.sessions() as session:
        held = dict(session.execute(select(AgentTask.id, AgentTask.assigned_agent)).tuples().all())
    assert held == {task: f"agent{n}" for n, tasks in enumerate(handed) for task in tasks}
    assert statuses[404] == AGENTS  # each agent stops once, when nothing is left


async def test_fifty_agents_claiming_one_task_by_id_one_wins(floor: Floor) -> None:
    task = min(floor.shared)

    async def claim(n: int) -> int:
        response = await floor.http.post(f"/agent/tasks/{task}/claim", headers={"X-API-Key": floor.keys[n]})
        return response.status_code

    statuses = Counter(await asyncio.gather(*(claim(n) for n in range(AGENTS))))

    assert statuses == {200: 1, 409: AGENTS - 1}
    with floor.sessions() as session:
        claimed = session.get_one(AgentTask, task)
        assert claimed.status == "claimed"
