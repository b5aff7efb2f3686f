"""API tests: the real app over ASGI (httpx), a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), the time-skipping Temporal server, and a worker running every workflow
with channels in the sandbox. One key per role, plus two agents sharing the `calls` queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from workers import TASK_QUEUE, running_worker

from api.app import create_app
from api.auth import issue_key
from config import Settings

WEBHOOK_SECRET = "payment-webhook-secret"
TWILIO_TOKEN = "twilio-test-token"
PUBLIC_BASE_URL = "https://collect.example"


@dataclass
class Api:
    """The app under test, with a key per caller: `as_("strategist")` gives that caller's headers."""

    http: httpx.AsyncClient
    sessions: sessionmaker[Session]
    env: WorkflowEnvironment
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


def api_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": "sqlite://",  # unused: the app gets the test's session factory
        "temporal_task_queue": TASK_QUEUE,
        "payment_webhook_secret": WEBHOOK_SECRET,
        "twilio_auth_token": TWILIO_TOKEN,
        "public_base_url": PUBLIC_BASE_URL,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


CALLERS = {
    "admin": ("root", "admin", []),
    "strategist": ("sofia", "strategist", []),
    "supervisor": ("marta", "supervisor", []),
    "agent": ("ana", "agent", ["calls"]),
    "other_agent": ("beto", "agent", ["calls"]),
    "outsider_agent": ("carla", "agent", ["legal"]),
}


@pytest.fixture
async def worker(env: WorkflowEnvironment, sessions: sessionmaker[Session]) -> AsyncIterator[Worker]:
    async for running in running_worker(env, sessions, {}):
        yield running


@pytest.fixture
async def api(env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker) -> AsyncIterator[Api]:
    settings = api_settings()
    app = create_app(settings, sessions=sessions, client=env.client)
    keys = {}
    with sessions() as session:
        for who, (subject, role, queues) in CALLERS.items():
            keys[who] = issue_key(session, subject, role, queues).key
        session.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http=http, sessions=sessions, env=env, settings=settings, keys=keys)
