"""Workers for workflow tests: the real workflows and activities against the test database, with
every channel in the sandbox or with SendGrid and Twilio through their SDKs to local fakes.
(The database and Temporal fixtures, `sessions` and `env`, are in tests/conftest.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.providers import FakeSendGrid, FakeTwilio
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from workers import running_worker

from channels.sendgrid_email import SendGridSender
from channels.twilio_messaging import TwilioSender
from domain.types import Channel


@pytest.fixture
async def worker(env: WorkflowEnvironment, sessions: sessionmaker[Session]) -> AsyncIterator[Worker]:
    """No credentials: every channel goes to the sandbox outbox."""
    async with running_worker(env, sessions, {}) as running:
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
    async with running_worker(env, sessions, senders) as running:
        yield running
