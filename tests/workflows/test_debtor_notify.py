"""The `notify` action end to end: the real debtor workflow on the time-skipping Temporal server,
the real activity posting to a webhook receiver this test runs on 127.0.0.1, a real database.

The receiver checks what the creditor's developers check (README: "Notifying the creditor's
systems"): the HMAC signature under the campaign's secret, the idempotency key (the same on
every attempt), and the body. A 500 is retried and the retry delivers; a 400 is never retried;
either way the account goes on, and the answer is on the account's timeline. A receiver that is
down does not hold up the account: its payments are applied while the webhook is retried, and the
run neither ends nor continues as new before the webhook is delivered.

To record the notify journeys' histories after an intentional, patched change:
    COLLECT_RECORD_HISTORIES=1 bin/test tests/workflows/test_debtor_notify.py
(give the files new names when the change is patched: the ones older code recorded stay and keep
replaying, as journey-notify.json, recorded with the webhook inside the turn, does.)
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from clock import skip, skip_to
from fakes.serving import serving
from journey import result_of
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_history import HISTORIES, replayer
from test_debtor_journeys import account, journey, next_monday_9
from workers import TASK_QUEUE, secret_box

from activities.notify import EVENT_HEADER
from api.signatures import HMAC_SIGNATURE, HMAC_TIMESTAMP, verify_hmac
from db.models import Account, Campaign, CreditorNotification
from db.repositories.timeline import timeline
from domain import events as ev
from domain.account import AccountSnapshot
from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Resolution
from services.campaign_notify import sealed_secret
from services.secrets_at_rest import SecretBox
from strategies.compiler import compile_file
from workflows import options
from workflows.codec import EncryptionCodec
from workflows.contracts import CampaignInfo, DebtorInput, DebtorResult, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

STRATEGY = Path(__file__).parent / "strategies" / "notify.yaml"
README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "test-notify-secret-0123456789abcdef"
# Recorded with webhooks delivered outside the turn (NOTIFY_APART); journey-notify.json is the
# same journey as recorded before that patch.
NOTIFY_HISTORY = "journey-notify-outside-the-turn.json"
DOWN_HISTORY = "notify-receiver-down-payments-go-on.json"
DOWN = 503
# How long, in real time, a test waits for something the workflow does at once: far below the
# webhook's first retry (10 s) plus its second (30 s), which the account waited for before.
PROMPT_S = 8.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A creditor's webhook endpoint: answers each request with the next scripted status (then 200)."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.received.append(Received(dict(self.headers.items()), body))
                status = state.answers.pop(0) if state.answers else 200
            reply = json.dumps({"ok": status < 300}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/collect"
    with serving(server):
        yield state


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return compile_file(str(STRATEGY)).strategy


def campaign_with_webhook(
    sessions: sessionmaker[Session],
    campaign_id: str,
    strategy: CompiledStrategy,
    url: str,
    stored_secret: str | None = None,
) -> None:
    """The campaign row as the API leaves it after `PUT /campaigns/{id}/notify` (register_account
    keeps it): SECRET sealed with the test keys, unless `stored_secret` says what the column holds."""
    if stored_secret is None:
        stored_secret = sealed_secret(campaign_id, SECRET, secret_box())
    with sessions() as session:
        session.add(
            Campaign(
                id=campaign_id,
                name=campaign_id,
                strategy_hash=strategy.hash,
                creditor_name="Acme",
                status="running",
                notify_url=url,
                notify_secret=stored_secret,
            )
        )
        session.commit()


def verified(request: Received, campaign_id: str) -> dict[str, object]:
    """The body, once its signature holds as a receiver checks it."""
    stamp = request.headers[HMAC_TIMESTAMP]
    verify_hmac(
        SecretStr(SECRET),
        campaign_id,
        request.body,
        request.headers[HMAC_SIGNATURE],
        stamp,
        tolerance_s=300,
        now=datetime.fromtimestamp(int(stamp), UTC),
    )
    body: dict[str, object] = json.loads(request.body)
    return body


def readme_verify() -> Callable[..., dict[str, object]]:
    """The verification snippet the README gives the creditor's developers, as written there."""
    section = README.read_text(encoding="utf-8").split("### Notifying the creditor's systems", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(code, scope)
    verify: Callable[..., dict[str, object]] = scope["verify"]
    return verify


async def replay_and_record(history: WorkflowHistory, name: str, database_url: str) -> None:
    """The history replays on today's code; COLLECT_RECORD_HISTORIES=1 (on SQLite) records it."""
    await replayer().replay_workflow(history)
    if os.environ.get("COLLECT_RECORD_HISTORIES") and database_url.startswith("sqlite"):
        (HISTORIES / name).write_text(history.to_json())


def notifications(sessions: sessionmaker[Session], workflow_id: str) -> list[CreditorNotification]:
    with sessions() as session:
        return list(
            session.scalars(
                select(CreditorNotification)
                .join(Account, Account.id == CreditorNotification.account_id)
                .where(Account.workflow_id == workflow_id)
                .order_by(CreditorNotification.id)
            )
        )


async def test_a_500_is_retried_with_the_same_key_and_body_and_a_payment_restores(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
    database_url: str,
) -> None:
    campaign_with_webhook(sessions, "camp-notify", strategy, receiver.url)
    receiver.answers = [500]
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N1")
    doc = {"days": 8, "events": [{"day": 4, "payment": 150_000, "payment_id": "all"}]}
    real, simulated = await journey(env, strategy, acct, start, doc, campaign="camp-notify", published_in=sessions)

    assert real.state.resolution == Resolution.PAID
    suspend_first, suspend_retry, restore = receiver.received
    key = suspend_first.headers["Idempotency-Key"]
    assert key == f"{real.handle.id}:{2}" == suspend_retry.headers["Idempotency-Key"]
    assert suspend_first.body == suspend_retry.body
    body = verified(suspend_retry, "camp-notify")
    assert verified(suspend_first, "camp-notify") == body
    assert body["event"] == "suspend_service"
    assert body["idempotency_key"] == key
    assert body["account_id"] == "ACC-N1"
    assert body["campaign"] == "camp-notify"
    assert body["strategy"] == {"id": "notify-suspend", "version": strategy.hash}
    assert body["step"] == "remind"
    assert body["balance"] == {"amount": 150_000, "currency": "CLP"}
    assert body["data"] == {"plan": "gold", "level": 2, "final": False}
    # The README's snippet accepts it (the test server's clock is not the machine's: no age check).
    by_readme = readme_verify()(
        SECRET,
        "camp-notify",
        suspend_retry.body,
        suspend_retry.headers[HMAC_SIGNATURE],
        suspend_retry.headers[HMAC_TIMESTAMP],
        tolerance_s=10**12,
    )
    assert by_readme == body
    with pytest.raises(ValueError, match="bad signature"):
        readme_verify()(
            "another-secret",
            "camp-notify",
            suspend_retry.body,
            suspend_retry.headers[HMAC_SIGNATURE],
            suspend_retry.headers[HMAC_TIMESTAMP],
            tolerance_s=10**12,
        )
    restored = verified(restore, "camp-notify")
    assert restored["event"] == "restore_service"
    assert restored["balance"] == {"amount": 0, "currency": "CLP"}
    assert restore.headers["Idempotency-Key"] != key

    rows = notifications(sessions, real.handle.id)
    assert [(n.event, n.status, n.attempts, n.response_status) for n in rows] == [
        ("suspend_service", "delivered", 2, 200),
        ("restore_service", "delivered", 1, 200),
    ]
    with sessions() as session:
        account_id = rows[0].account_id
        entries = [e for e in timeline(session, account_id) if e.kind == "notification"]
    assert [e.summary for e in entries] == [
        "notified suspend_service at step remind: delivered (HTTP 200), 2 attempts",
        "notified restore_service at step restore: delivered (HTTP 200)",
    ]
    # The simulator shows the same notifications (the creditor's systems are not simulated).
    assert [e.detail for e in simulated.timeline if e.kind == "notify"] == [
        "notify suspend_service with balance 150000",
        "notify restore_service with balance 0",
    ]

    history = await real.handle.fetch_history()
    await replay_and_record(history, NOTIFY_HISTORY, database_url)


async def test_a_400_is_not_retried_and_the_account_goes_on(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
) -> None:
    campaign_with_webhook(sessions, "camp-notify-400", strategy, receiver.url)
    receiver.answers = [400]
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N2")
    real, _ = await journey(env, strategy, acct, start, {"days": 14}, campaign="camp-notify-400")

    assert real.state.resolution == Resolution.WRITTEN_OFF
    assert len(receiver.received) == 1
    (row,) = notifications(sessions, real.handle.id)
    assert (row.status, row.attempts, row.response_status, row.error) == ("rejected", 1, 400, "HTTP 400")
    assert row.response_excerpt == '{"ok": false}'


async def test_a_secret_stored_in_clear_before_sealing_still_signs(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
) -> None:
    campaign_with_webhook(sessions, "camp-notify-clear", strategy, receiver.url, stored_secret=SECRET)
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N7")
    real, _ = await journey(env, strategy, acct, start, {"days": 14}, campaign="camp-notify-clear")

    (request,) = receiver.received
    assert verified(request, "camp-notify-clear")["event"] == "suspend_service"
    (row,) = notifications(sessions, real.handle.id)
    assert row.status == "delivered"


async def test_a_secret_sealed_under_a_key_the_worker_lacks_fails_naming_the_key(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
) -> None:
    """E.g. a rotation that reached the API before this worker: each attempt is retried (a worker
    with the key could send it), the last one records the failure, and the account goes on."""
    elsewhere = SecretBox(EncryptionCodec({"2027-01": os.urandom(32)}, "2027-01"))
    stored = sealed_secret("camp-notify-nokey", SECRET, elsewhere)
    campaign_with_webhook(sessions, "camp-notify-nokey", strategy, receiver.url, stored_secret=stored)
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N8")
    handle = await start_account(env, strategy, acct, start, "camp-notify-nokey")
    await skip(env, timedelta(days=15))  # through the retries' backoff, to the write-off
    result = await result_of(handle)

    assert result.resolution == Resolution.WRITTEN_OFF
    assert receiver.received == []
    (row,) = notifications(sessions, handle.id)
    assert (row.status, row.attempts) == ("failed", options.NOTIFY_ATTEMPTS)
    assert row.error is not None
    assert "key id '2027-01', which is not configured" in row.error
    assert SECRET not in row.error


async def test_without_a_url_the_notification_is_recorded_as_not_sent(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
) -> None:
    """A URL removed after the launch (the launch itself refuses a campaign without one)."""
    campaign_with_webhook(sessions, "camp-notify-none", strategy, receiver.url)
    with sessions() as session:
        campaign = session.get(Campaign, "camp-notify-none")
        assert campaign is not None
        campaign.notify_url = None
        session.commit()
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N3")
    real, _ = await journey(env, strategy, acct, start, {"days": 14}, campaign="camp-notify-none")

    assert real.state.resolution == Resolution.WRITTEN_OFF
    assert receiver.received == []
    (row,) = notifications(sessions, real.handle.id)
    assert (row.status, row.error) == ("not_configured", "the campaign has no notify URL")


# ---- a receiver that is down ----------------------------------------------------------------------


async def start_account(
    env: WorkflowEnvironment,
    strategy: CompiledStrategy,
    acct: AccountSnapshot,
    start: datetime,
    campaign: str,
    **extra: Any,
) -> WorkflowHandle[Any, DebtorResult]:
    await skip_to(env, start)
    await env.client.start_workflow(
        DebtorWorkflow.run,
        DebtorInput(campaign=CampaignInfo(id=campaign, creditor_name="Acme"), account=acct, strategy=strategy, **extra),
        id=debtor_workflow_id(campaign, acct.account_id),
        task_queue=TASK_QUEUE,
    )
    return env.client.get_workflow_handle_for(DebtorWorkflow.run, debtor_workflow_id(campaign, acct.account_id))


async def soon(check: Callable[[], bool | Awaitable[bool]], what: str, within_s: float = PROMPT_S) -> None:
    """Wait (in real time, the test server's clock not skipped) until `check()` holds."""
    deadline = time.monotonic() + within_s
    while not await _value(check()):
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.05)


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else result


async def state_of(handle: WorkflowHandle[Any, Any]) -> AccountState:
    return await handle.query(DebtorWorkflow.account_state)


def pay(amount: int, payment_id: str) -> ev.PaymentReceived:
    return ev.PaymentReceived(payment_id=payment_id, amount=amount, currency="CLP")


async def test_payments_are_applied_while_the_receiver_is_down_and_the_run_ends_after_delivering(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
    database_url: str,
) -> None:
    """The suspend webhook is retried (503) while two payments arrive: each is on the account at
    once, not after the webhook's retry budget (it used to hold the turn lock for all of it). The
    second pays in full: the account closes and asks for the restore webhook, yet the run waits,
    still running, until the receiver is back; then suspend is delivered, restore after it."""
    campaign_with_webhook(sessions, "camp-notify-down", strategy, receiver.url)
    receiver.answers = [DOWN] * 1000
    start = next_monday_9()
    handle = await start_account(
        env, strategy, account(strategy, start, account_id="ACC-N4"), start, "camp-notify-down"
    )
    await skip_to(env, start + timedelta(days=2, minutes=1))  # the notify step's turn
    await soon(lambda: len(receiver.received) >= 1, "the first webhook attempt")

    await handle.signal(DebtorWorkflow.payment_received, pay(50_000, "part"))
    await soon(lambda: _paid(handle, 50_000), "the payment on the account while the webhook is retried")
    (row,) = notifications(sessions, handle.id)
    assert (row.event, row.status) == ("suspend_service", "retrying")

    await handle.signal(DebtorWorkflow.payment_received, pay(100_000, "rest"))
    await soon(lambda: _paid(handle, 150_000), "the payment in full while the webhook is retried")
    closed = await state_of(handle)
    assert closed.closed
    assert closed.resolution == Resolution.PAID
    await skip(env, timedelta(minutes=1))  # past the next retry: the receiver is still down
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # restore not sent yet
    assert {r.headers[EVENT_HEADER] for r in receiver.received} == {"suspend_service"}

    receiver.answers = []  # the receiver is back
    result = await result_of(handle)  # the server skips time through the retries' backoff
    assert result.resolution == Resolution.PAID
    events = [r.headers[EVENT_HEADER] for r in receiver.received]
    tries = events.index("restore_service")
    assert events == ["suspend_service"] * tries + ["restore_service"]
    assert tries >= 3
    rows = notifications(sessions, handle.id)
    assert [(n.event, n.status, n.attempts, n.response_status) for n in rows] == [
        ("suspend_service", "delivered", tries, 200),
        ("restore_service", "delivered", 1, 200),
    ]
    # The restore body is what its turn decided: the balance paid off.
    assert verified(receiver.received[-1], "camp-notify-down")["balance"] == {"amount": 0, "currency": "CLP"}

    history = await handle.fetch_history()
    await replay_and_record(history, DOWN_HISTORY, database_url)


async def test_a_run_due_to_continue_as_new_waits_for_the_webhook_and_goes_on_meanwhile(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: sessionmaker[Session],
    strategy: CompiledStrategy,
    receiver: Receiver,
) -> None:
    """Two turns a run: the notify step's turn is the run's last, but a new run would not know of
    the webhook still being retried, so the run goes on (a payment is applied meanwhile) and
    continues as new only once the webhook is delivered."""
    campaign_with_webhook(sessions, "camp-notify-can", strategy, receiver.url)
    receiver.answers = [DOWN] * 1000
    start = next_monday_9()
    acct = account(strategy, start, account_id="ACC-N5")
    handle = await start_account(env, strategy, acct, start, "camp-notify-can", turns_per_run=2)
    first_run = (await handle.describe()).run_id
    await skip_to(env, start + timedelta(days=2, minutes=1))
    await soon(lambda: len(receiver.received) >= 1, "the first webhook attempt")

    await handle.signal(DebtorWorkflow.payment_received, pay(50_000, "part"))
    await soon(lambda: _paid(handle, 50_000), "the payment on the account while the webhook is retried")
    described = await handle.describe()
    assert (described.run_id, described.status) == (first_run, WorkflowExecutionStatus.RUNNING)

    receiver.answers = []
    await skip(env, timedelta(hours=2))  # the retries' backoff; then the run continues as new

    async def continued() -> bool:
        old = env.client.get_workflow_handle(handle.id, run_id=first_run)
        return (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    await soon(continued, "continue as new once the webhook is delivered")
    old_history = await env.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
    kinds = [e.WhichOneof("attributes") for e in old_history.events]
    assert kinds.index("activity_task_completed_event_attributes") < kinds.index(
        "workflow_execution_continued_as_new_event_attributes"
    )
    (row,) = notifications(sessions, handle.id)
    assert (row.event, row.status) == ("suspend_service", "delivered")
    carried = await state_of(handle)
    assert carried.paid_total == 50_000

    await handle.signal(DebtorWorkflow.payment_received, pay(100_000, "rest"))
    assert (await result_of(handle)).resolution == Resolution.PAID
    assert [r.headers[EVENT_HEADER] for r in receiver.received][-2:] == ["suspend_service", "restore_service"]


async def _paid(handle: WorkflowHandle[Any, Any], amount: int) -> bool:
    return (await state_of(handle)).paid_total == amount
