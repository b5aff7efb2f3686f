"""Running accounts for API tests, without the import endpoint or the launcher: publish a strategy
version, write the campaign, debtor and account rows as an import would, start each account's
real DebtorWorkflow on the test worker and wait until it has settled (its first turn done, its
tasks and read-model row written).

    started = await start_accounts(api, CALLS, 2)
    started[0].id            # accounts.id, for /accounts/{id}
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from api_harness import Api
from clock import TEST_NOW
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from workers import TASK_QUEUE
from workers import settle as settle_handle

from db.models import Account, Campaign, ContactPoint, Debtor
from db.repositories import strategies as strategies_repo
from domain.account import AccountSnapshot
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_file
from workflows.contracts import AccountView, CampaignInfo, DebtorInput, debtor_workflow_id
from workflows.debtor import DebtorWorkflow

STRATEGIES = Path(__file__).parent / "strategies"
CALLS = STRATEGIES / "calls.yaml"  # starts with a call in the `calls` queue; >= 5,000,000 goes to legal
ZONE = "America/Santiago"


@dataclass(frozen=True)
class StartedAccount:
    id: int  # accounts.id: what the API's paths take
    external_id: str
    workflow_id: str
    campaign_id: str
    strategy_hash: str


def publish(sessions: sessionmaker[Session], path: Path, by: str = "sofia") -> CompiledStrategy:
    """Compile the strategy at `path` and store its version row (once per hash)."""
    strategy = compile_file(str(path)).strategy
    with sessions() as session:
        strategies_repo.publish(session, strategy, source_yaml=path.read_text(encoding="utf-8"), published_by=by)
        session.commit()
    return strategy


def snapshot(external_id: str, due_date: date, **overrides: Any) -> AccountSnapshot:
    """A Chilean consumer account reachable by email and phone."""
    values: dict[str, Any] = {
        "account_id": external_id,
        "debtor_name": "Ana Pérez",
        "country": "CL",
        "timezone": ZONE,
        "locale": "es-CL",
        "currency": "CLP",
        "balance": 150_000,
        "original_amount": 150_000,
        "due_date": due_date,
        "email": f"{external_id.lower()}@example.com",
        "phone": "+56912345678",
    }
    values.update(overrides)
    if "original_amount" not in overrides:
        values["original_amount"] = values["balance"]
    return AccountSnapshot.model_validate(values)


def write_rows(
    session: Session, strategy: CompiledStrategy, campaign_id: str, snap: AccountSnapshot, debtor_key: str | None
) -> Account:
    """The campaign (once), debtor, contact points and account rows an import writes."""
    if session.get(Campaign, campaign_id) is None:
        session.add(
            Campaign(
                id=campaign_id,
                name=f"Campaign {campaign_id}",
                strategy_hash=strategy.hash,
                creditor_name="Acme",
                status="running",
            )
        )
        session.flush()
    key = debtor_key or f"{campaign_id}:{snap.account_id}"
    debtor = session.scalar(select(Debtor).where(Debtor.external_id == key))
    if debtor is None:
        debtor = Debtor(
            external_id=key, name=snap.debtor_name, country=snap.country, timezone=snap.timezone, locale="es-CL"
        )
        session.add(debtor)
        session.flush()
        for channel, address in (("email", snap.email), ("sms", snap.phone), ("voice", snap.phone)):
            if address:
                session.add(ContactPoint(debtor_id=debtor.id, channel=channel, address=address))
    account = Account(
        campaign_id=campaign_id,
        external_id=snap.account_id,
        debtor_id=debtor.id,
        workflow_id=debtor_workflow_id(campaign_id, snap.account_id),
        currency=snap.currency,
        balance=snap.balance,
        original_amount=snap.original_amount,
        due_date=snap.due_date,
        snapshot_json=snap.model_dump(mode="json"),
        launched_at=TEST_NOW,
    )
    session.add(account)
    session.flush()
    return account


async def start_accounts(
    api: Api,
    strategy_path: Path,
    n: int,
    *,
    campaign_id: str = "camp-api",
    prefix: str = "ACC",
    balances: list[int] | None = None,
    days_past_due: int = 15,
    debtor_key: str | None = None,
    **overrides: Any,
) -> list[StartedAccount]:
    """Start `n` accounts of `campaign_id` under the strategy at `strategy_path` and wait until each
    has settled. `balances` gives each account's balance; `debtor_key` makes them one debtor's."""
    strategy = publish(api.sessions, strategy_path)
    now = await api.env.get_current_time()
    due = now.astimezone(ZoneInfo(ZONE)).date() - timedelta(days=days_past_due)
    started: list[StartedAccount] = []
    with api.sessions() as session:
        snaps = []
        for i in range(n):
            extra = dict(overrides)
            if balances is not None:
                extra["balance"] = balances[i]
            snap = snapshot(f"{prefix}-{i + 1}", due, **extra)
            account = write_rows(session, strategy, campaign_id, snap, debtor_key)
            snaps.append(snap)
            started.append(
                StartedAccount(
                    id=account.id,
                    external_id=snap.account_id,
                    workflow_id=account.workflow_id,
                    campaign_id=campaign_id,
                    strategy_hash=strategy.hash,
                )
            )
        session.commit()
    campaign = CampaignInfo(id=campaign_id, creditor_name="Acme")
    for snap, account in zip(snaps, started, strict=True):
        await api.env.client.start_workflow(
            DebtorWorkflow.run,
            DebtorInput(campaign=campaign, account=snap, strategy=strategy),
            id=account.workflow_id,
            task_queue=TASK_QUEUE,
        )
    for account in started:
        await settle(api, account.workflow_id)
    return started


async def settle(api: Api, workflow_id: str) -> WorkflowExecutionStatus | None:
    """Wait until the workflow waits for time or for the outside world (or has ended)."""
    return (await settle_handle(api.env.client.get_workflow_handle(workflow_id))).status


async def ended(api: Api, workflow_id: str) -> WorkflowExecutionStatus | None:
    """Wait until the workflow's run has ended (a closed account's turn is written before the
    run returns, so `settle` alone may still see it running)."""
    handle: WorkflowHandle[Any, Any] = api.env.client.get_workflow_handle(workflow_id)
    for _ in range(3000):
        status = (await handle.describe()).status
        if status != WorkflowExecutionStatus.RUNNING:
            return status
        await asyncio.sleep(0.01)
    raise AssertionError(f"{workflow_id} never ended")


async def live_state(api: Api, workflow_id: str) -> AccountView:
    """The workflow's own answer to the `state` query, after it has settled."""
    await settle(api, workflow_id)
    handle: WorkflowHandle[Any, Any] = api.env.client.get_workflow_handle(workflow_id)
    view: AccountView = await handle.query(DebtorWorkflow.state)
    return view
