"""The API's door to Temporal: typed calls on debtor workflows, usable from sync endpoints.

Endpoints are plain `def` (they run in FastAPI's thread pool, where blocking SQLAlchemy belongs);
Temporal's client is async and bound to the app's event loop, so each call is handed back to that
loop with `anyio.from_thread.run`. Temporal's errors become problem documents here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import anyio.from_thread
from pydantic import BaseModel
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ProblemError
from workflows.contracts import AccountView

T = TypeVar("T")


def _cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, ApplicationError) and exc.message:
        return exc.message
    return str(exc) or type(exc).__name__


class TemporalGateway:
    """Signals, updates and queries on running workflows, by workflow id."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    def run(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run one client call on the event loop and map Temporal's errors to problems."""
        try:
            return anyio.from_thread.run(call)
        except WorkflowUpdateFailedError as exc:
            raise ProblemError(409, f"The account refused it: {_cause(exc)}") from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ProblemError(409, "The account's workflow is not running (not launched yet, or closed).") from exc
            if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise ProblemError(503, f"Temporal is unavailable: {exc.message}") from exc
            raise

    def update(self, workflow_id: str, name: str, payload: BaseModel) -> AccountView:
        handle = self.client.get_workflow_handle(workflow_id)
        view: AccountView = self.run(lambda: handle.execute_update(name, payload, result_type=AccountView))
        return view

    def update_if_running(self, workflow_id: str, name: str, payload: BaseModel) -> AccountView | None:
        """`update`, or None when the workflow is not running (it finished: a closed account)."""
        handle = self.client.get_workflow_handle(workflow_id)

        async def call() -> AccountView | None:
            try:
                view: AccountView = await handle.execute_update(name, payload, result_type=AccountView)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise
            return view

        return self.run(call)

    def signal(self, workflow_id: str, name: str, payload: BaseModel) -> None:
        handle = self.client.get_workflow_handle(workflow_id)
        self.run(lambda: handle.signal(name, payload))

    def signal_many(self, signals: Sequence[tuple[str, str, BaseModel]], concurrency: int = 32) -> int:
        """Send `(workflow id, signal, payload)` signals with up to `concurrency` workflows at once,
        each workflow's in order; returns how many were sent. A workflow that is not running is
        skipped (the facts are recorded anyway); Temporal unavailable is a 503 as for one signal."""
        by_workflow: dict[str, list[tuple[str, BaseModel]]] = {}
        for workflow_id, name, payload in signals:
            by_workflow.setdefault(workflow_id, []).append((name, payload))
        if not by_workflow:
            return 0

        async def to_one(gate: asyncio.Semaphore, workflow_id: str, items: list[tuple[str, BaseModel]]) -> int:
            async with gate:
                handle = self.client.get_workflow_handle(workflow_id)
                for sent, (name, payload) in enumerate(items):
                    try:
                        await handle.signal(name, payload)
                    except RPCError as exc:
                        if exc.status == RPCStatusCode.NOT_FOUND:
                            return sent  # not running: the rest would not reach it either
                        raise
                return len(items)

        async def to_all() -> int:
            gate = asyncio.Semaphore(concurrency)
            tasks = [asyncio.ensure_future(to_one(gate, wf, items)) for wf, items in by_workflow.items()]
            try:
                return sum(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:  # stop sending once one failed: the request will fail as a whole
                    task.cancel()
                raise

        return self.run(to_all)

    def query_state(self, workflow_id: str) -> AccountView | None:
        """The live state, or None when the workflow has finished or never started."""
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            view: AccountView = self.run(lambda: handle.query("state", result_type=AccountView))
            return view
        except ProblemError as exc:
            if exc.status == 409:
                return None
            raise

    def live_state(self, workflow_id: str, *, launched: bool) -> tuple[AccountView | None, str]:
        """The live state for an account's page, and why it is missing when it is: `running`,
        `closed` (a finished workflow still answers with its final state), `not_running`,
        `not_launched` or `unavailable` (Temporal cannot be reached: the page shows the facts)."""
        try:
            view = self.query_state(workflow_id)
        except WorkflowQueryFailedError:  # started, but its first turn has not run yet
            return None, "not_running"
        except ProblemError as exc:
            if exc.status == 503:
                return None, "unavailable"
            raise
        if view is not None:
            return view, "running" if view.resolution is None else "closed"
        return None, "not_running" if launched else "not_launched"

    def call(self, call: Callable[[Client], Coroutine[Any, Any, T]]) -> T:
        """Any other client call, with the same error mapping."""
        return self.run(lambda: call(self.client))


def fresh(session: Session) -> None:
    """End the request's transaction before calling the account's workflow. On SQLite every
    transaction takes the write lock when it begins (BEGIN IMMEDIATE, see db/session.py), and an
    update returns only after the workflow has written its turn's record (`record_update`), which
    needs that lock. Nothing has been written yet, so nothing is lost; later reads see the record."""
    session.rollback()


def update_account(
    session: Session, temporal: TemporalGateway, workflow_id: str, update: str, payload: BaseModel
) -> AccountView:
    """Run `update` on the account's workflow outside any database transaction (see `fresh`)."""
    fresh(session)
    return temporal.update(workflow_id, update, payload)


def update_account_if_running(
    session: Session, temporal: TemporalGateway, workflow_id: str, update: str, payload: BaseModel
) -> AccountView | None:
    """`update_account`, or None when the account's workflow has finished."""
    fresh(session)
    return temporal.update_if_running(workflow_id, update, payload)
