"""The product behind a real socket for the CLI tests: the API app served by uvicorn, a worker
running every workflow with the real activities, and Temporal's time-skipping test server (its
clock starting on the suite's day), all on one event loop in a background thread, so that the
tests' thread can run `collect` commands (typer's CliRunner, in process) that block on HTTP.

Setting up a campaign goes through the API as a strategist would (publish, create, import,
launch) and waits until every account's workflow has taken its first turn, so the CLI is tested
against what the API really holds, never against rows written behind its back.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from clock import TEST_TODAY, async_server_clock
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result
from workers import TASK_QUEUE, payload_settings, product_converter, running_worker

from api.app import create_app
from api.auth import issue_key
from config import Settings
from stack import portfolio
from workflows import search_attributes

T = TypeVar("T")
Collect = Callable[..., Result]  # the `collect` fixture: collect(*args, as_="agent", env={...})

PAYMENT_PROVIDER = "khipu"
PAYMENT_SECRETS = {PAYMENT_PROVIDER: "khipu-webhook-secret", "stripe": "stripe-webhook-secret"}
# Who calls: name -> (subject, role, queues).
CALLERS = {
    "admin": ("root", "admin", []),
    "strategist": ("sofia", "strategist", []),
    "supervisor": ("marta", "supervisor", []),
    "agent": ("ana", "agent", ["calls"]),
}
STRATEGY = Path(__file__).resolve().parents[1] / "api" / "strategies" / "calls.yaml"
LEGAL_BALANCE = 6_000_000  # calls.yaml sends balances from 5,000,000 to a legal referral that waits for approval
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Campaign:
    """A launched campaign: ids of its accounts (the API's), by external id, and its queue."""

    id: str
    strategy_hash: str
    queue: str
    accounts: dict[str, int]


@dataclass
class Stack:
    url: str
    sessions: sessionmaker[Session]
    loop: asyncio.AbstractEventLoop
    env: WorkflowEnvironment
    keys: dict[str, str] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the stack's loop (where the Temporal client lives)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=120)

    def unique(self, prefix: str) -> str:
        """A name no other test of this stack uses (lower_snake_case, so it can name a queue)."""
        return f"{prefix}_{next(self._names)}"

    def http(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=30)

    def key(self, subject: str, role: str, queues: Sequence[str] = ()) -> str:
        """A new API key (as `collect api-key create` makes them)."""
        with self.sessions() as session:
            issued = issue_key(session, subject, role, list(queues))
            session.commit()
        return issued.key

    def publish(self, queue: str) -> str:
        """Publish the calls strategy with its agent queue renamed (its own version and queue)."""
        with self.http("strategist") as http:
            response = http.post(
                "/strategies", content=strategy_source(queue), headers={"Content-Type": "application/yaml"}
            )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["hash"])

    def campaign(self, balances: Sequence[int] = (150_000,), *, queue: str | None = None) -> Campaign:
        """A campaign of one account per balance, launched, each account settled: a task waiting
        in `queue` (or, from LEGAL_BALANCE, a legal referral waiting for approval)."""
        queue = queue or self.unique("q")
        campaign_id = self.unique("camp").replace("_", "-")
        strategy_hash = self.publish(queue)
        rows = [account_row(f"{campaign_id}-{i + 1}", balance) for i, balance in enumerate(balances)]
        with self.http("strategist") as http:
            created = http.post(
                "/campaigns",
                json={
                    "id": campaign_id,
                    "name": f"CLI {campaign_id}",
                    "strategy_hash": strategy_hash,
                    "creditor_name": "Acme",
                },
            )
            assert created.status_code == 201, created.text
            imported = http.post(
                f"/campaigns/{campaign_id}/accounts", content=csv_of(rows), headers={"Content-Type": "text/csv"}
            )
            assert imported.status_code == 200, imported.text
            assert not imported.json()["rejected"], imported.text
            launched = http.post(f"/campaigns/{campaign_id}/launch")
            assert launched.status_code == 202, launched.text
        return Campaign(campaign_id, strategy_hash, queue, self.settled(campaign_id, queue, len(rows)))

    def settled(self, campaign_id: str, queue: str, count: int) -> dict[str, int]:
        """Wait until the campaign's `count` accounts have each taken their first turn (a task or an
        approval waits); their ids by external id."""

        def ready() -> dict[str, int] | None:
            with self.http("supervisor") as http:
                rows = http.get("/accounts", params={"campaign_id": campaign_id, "limit": 100}).json()["items"]
                tasks = http.get("/agent/tasks", params={"queue": queue, "limit": 100}).json()["items"]
                pending = http.get("/approvals", params={"campaign_id": campaign_id, "status": "pending"}).json()
            waiting = {t["account_id"] for t in tasks}
            approvals = {a["account_id"] for a in pending["items"]}
            if len(rows) == count and all(a["id"] in waiting or a["id"] in approvals for a in rows):
                return {a["external_id"]: a["id"] for a in rows}
            return None

        return eventually(ready, f"campaign {campaign_id}'s accounts to settle")

    def task_of(self, account_id: int) -> dict[str, Any]:
        """The account's open or claimed task."""
        with self.http("supervisor") as http:
            detail = http.get(f"/accounts/{account_id}").json()
        (task,) = detail["tasks"]
        return dict(task)


@dataclass(frozen=True)
class Desk:
    """A campaign whose calls wait in a queue only this test's agent works."""

    campaign: Campaign
    name: str  # the agent's, this test's only
    agent: str  # the agent's key

    def account(self, n: int) -> int:
        return self.campaign.accounts[f"{self.campaign.id}-{n}"]


def open_desk(stack: Stack, balances: list[int]) -> Desk:
    """A campaign of one account per balance and an agent (of this desk alone) for its queue."""
    campaign = stack.campaign(balances)
    name = stack.unique("agent")
    return Desk(campaign, name, stack.key(name, "agent", [campaign.queue]))


def strategy_source(queue: str) -> str:
    """The API tests' calls strategy (tests/api/strategies/calls.yaml) handing its calls to `queue`."""
    return (
        STRATEGY.read_text(encoding="utf-8")
        .replace("id: api-calls", f"id: cli-{queue.replace('_', '-')}")
        .replace("queues: [calls]", f"queues: [{queue}]")
        .replace("queue: calls", f"queue: {queue}")
    )


def account_row(external_id: str, balance: int) -> dict[str, str]:
    """A Chilean account 15 days past due on the suite's day, reachable by email and phone."""
    return {
        "account_id": external_id,
        "debtor_name": "Ana Pérez",
        "country": "CL",
        "currency": "CLP",
        "balance": str(balance),
        "due_date": (TEST_TODAY - timedelta(days=15)).isoformat(),
        "email": f"{external_id.lower()}@example.cl",
        "phone": "9 81234567",
        "consent": "sí",
    }


def csv_of(rows: list[dict[str, str]]) -> bytes:
    return portfolio.to_csv(rows, []).encode()


def eventually(check: Callable[[], T | None], what: str, seconds: float = SETTLE_SECONDS) -> T:
    """Poll `check` until it answers something truthy (a bound, not a timed assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)  # each look is three requests to the API that shares this machine with the worker
    raise AssertionError(f"gave up waiting for {what}")


def suite_day(days: int) -> date:
    """A day relative to the suite's fixed day (never the machine's)."""
    return TEST_TODAY + timedelta(days=days)


@contextmanager
def served_stack(sessions: sessionmaker[Session], test_server: str) -> Iterator[Stack]:
    """The API, a worker and the time-skipping server on a background event loop; the API on a
    free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready: Future[Stack] = Future()
    stop = threading.Event()

    async def main() -> None:
        try:
            async with await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=test_server, data_converter=product_converter()
            ) as env:
                await search_attributes.ensure_registered(env.client, "default")
                async with running_worker(env, sessions, {}):
                    settings = Settings(
                        temporal_task_queue=TASK_QUEUE,
                        payment_webhook_secrets=PAYMENT_SECRETS,  # type: ignore[arg-type]
                        **payload_settings(),  # type: ignore[arg-type]
                    )
                    app = create_app(settings, sessions=sessions, client=env.client, clock=async_server_clock(env))
                    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
                    serving = asyncio.create_task(server.serve(sockets=[sock]))
                    while not server.started:
                        if serving.done():
                            serving.result()  # raises why it could not start
                        await asyncio.sleep(0.01)
                    ready.set_result(
                        Stack(
                            url=f"http://127.0.0.1:{port}", sessions=sessions, loop=asyncio.get_running_loop(), env=env
                        )
                    )
                    while not stop.is_set():
                        await asyncio.sleep(0.05)
                    server.should_exit = True
                    await serving
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="cli-stack", daemon=True)
    thread.start()
    try:
        stack = ready.result(timeout=120)
        with sessions() as session:
            for who, (subject, role, queues) in CALLERS.items():
                stack.keys[who] = issue_key(session, subject, role, queues).key
            session.commit()
        yield stack
    finally:
        stop.set()
        thread.join(timeout=60)
        sock.close()
