"""API tests: the real app over ASGI (httpx), a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), the time-skipping Temporal server, and a worker running every workflow
with channels in the sandbox. One key per role, plus two agents sharing the `calls` queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_harness import CALLERS, Api, api_settings
from clock import async_server_clock
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from workers import running_worker

from api.app import create_app
from api.auth import issue_key


@pytest.fixture
async def worker(env: WorkflowEnvironment, sessions: sessionmaker[Session]) -> AsyncIterator[Worker]:
    async with running_worker(env, sessions, {}) as running:
        yield running


@pytest.fixture
async def api(env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker) -> AsyncIterator[Api]:
    settings = api_settings()
    # The API reads the test server's clock, so it agrees with the workflows on what day it is.
    app = create_app(settings, sessions=sessions, client=env.client, clock=async_server_clock(env))
    keys = {}
    with sessions() as session:
        for who, (subject, role, queues) in CALLERS.items():
            keys[who] = issue_key(session, subject, role, queues).key
        session.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http=http, transport=transport, sessions=sessions, env=env, settings=settings, keys=keys)
