"""The campaign workflow and its activities on the time-skipping Temporal server with a real
database: a launch interrupted after some workflows started (but before they were marked) starts
each account exactly once when it runs again; a worker shut down in the middle of a launch is
replaced and the launch finishes; a paused campaign's launcher starts nothing until resumed; stop
closes every launched account."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from journey import result_of
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from workers import TASK_QUEUE, product_converter, running_worker

from activities.campaigns import CampaignActivities
from api.account_import import parse_csv
from db.models import Account, Campaign
from db.repositories import campaigns as campaigns_repo
from db.repositories import strategies as strategies_repo
from domain.account import AccountSnapshot
from domain.strategy import CompiledStrategy
from strategies.compiler import compile_file
from workflows.campaign import CampaignWorkflow
from workflows.contracts import (
    CampaignCommand,
    CampaignInfo,
    CampaignInput,
    DebtorInput,
    LaunchBatchInput,
    campaign_workflow_id,
)
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "histories" / "campaign"
CAMPAIGN = "cl-launch"
T = TypeVar("T")


def campaign_replayer() -> Replayer:
    return Replayer(workflows=[CampaignWorkflow], workflow_runner=workflow_runner(), data_converter=product_converter())


@pytest.mark.parametrize("name", ["paused-launch", "stop"])
async def test_recorded_campaign_histories_replay(name: str) -> None:
    """Histories recorded from the paused-launch test (COLLECT_RECORD_HISTORIES=1 re-records them):
    a change to the campaign workflow that would break running campaigns fails here."""
    history = WorkflowHistory.from_json(campaign_workflow_id(CAMPAIGN), (HISTORIES / f"{name}.json").read_text())
    await campaign_replayer().replay_workflow(history)


def prepare(sessions: sessionmaker[Session], accounts: int, status: str = "running") -> CompiledStrategy:
    """A published cl-consumer version, a campaign and `accounts` imported Chilean accounts."""
    strategy = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    lines = ["account_id,country,currency,balance,due_date,phone,consent"]
    lines += [f"A-{n:03d},CL,CLP,{100000 + n},2026-10-15,+5698{n:07d},yes" for n in range(1, accounts + 1)]
    parsed = parse_csv("\n".join(lines).encode(), "CLP", today=date(2026, 11, 30))
    assert not parsed.problems
    with sessions() as session:
        strategies_repo.publish(session, strategy, source_yaml="", published_by="test")
        campaign = Campaign(
            id=CAMPAIGN,
            name="Launch",
            strategy_hash=strategy.hash,
            creditor_name="Andes",
            status=status,
            launch_status="running",
            launched=0,
        )
        assert campaigns_repo.create(session, campaign)
        campaigns_repo.write_accounts(session, CAMPAIGN, [a.record for a in parsed.accounts])
        session.commit()
    return strategy


def rows(sessions: sessionmaker[Session]) -> tuple[Campaign, list[Account]]:
    with sessions() as session:
        campaign = session.get(Campaign, CAMPAIGN)
        assert campaign is not None
        accounts = list(session.scalars(select(Account).where(Account.campaign_id == CAMPAIGN).order_by(Account.id)))
        return campaign, accounts


def set_status(sessions: sessionmaker[Session], status: str) -> None:
    with sessions() as session:
        session.execute(update(Campaign).where(Campaign.id == CAMPAIGN).values(status=status))
        session.commit()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def command(client: Client, action: Literal["launch", "pause", "resume", "stop"]) -> None:
    """What the API does: signal-with-start the campaign's workflow."""
    await client.start_workflow(
        CampaignWorkflow.run,
        CampaignInput(campaign_id=CAMPAIGN),
        id=campaign_workflow_id(CAMPAIGN),
        task_queue=TASK_QUEUE,
        start_signal="command",
        start_signal_args=[CampaignCommand(action=action, batch_size=2, concurrency=2)],
    )


async def launch_done(sessions: sessionmaker[Session]) -> Campaign | None:
    campaign, _ = rows(sessions)
    return campaign if campaign.launch_status == "done" else None


class TestLaunchActivity:
    async def test_a_batch_run_again_after_a_crash_starts_each_account_once(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker
    ) -> None:
        strategy = prepare(sessions, 7)
        _, accounts = rows(sessions)
        # The crashed attempt had started the first three workflows but never marked them.
        info = CampaignInfo(id=CAMPAIGN, creditor_name="Andes")
        earlier = {}
        for account in accounts[:3]:
            handle = await env.client.start_workflow(
                DebtorWorkflow.run,
                DebtorInput(
                    campaign=info, account=AccountSnapshot.model_validate(account.snapshot_json), strategy=strategy
                ),
                id=account.workflow_id,
                task_queue=TASK_QUEUE,
            )
            earlier[account.workflow_id] = handle.result_run_id

        activity_env = ActivityEnvironment(client=env.client)
        activity_env.info = dataclasses.replace(activity_env.info, task_queue=TASK_QUEUE)
        launch = CampaignActivities(sessions).launch_accounts
        batch = LaunchBatchInput(campaign_id=CAMPAIGN, batch_size=4, concurrency=2)
        results = [await activity_env.run(launch, batch) for _ in range(4)]
        assert [(r.status, r.started, r.done) for r in results] == [
            ("running", 4, False),
            ("running", 3, False),
            ("running", 0, True),
            ("running", 0, True),
        ]

        campaign, accounts = rows(sessions)
        assert (campaign.launched, campaign.launch_status) == (7, "done")
        assert all(a.launched_at is not None for a in accounts)
        for account in accounts:
            described = await env.client.get_workflow_handle(account.workflow_id).describe()
            assert described.status == WorkflowExecutionStatus.RUNNING
            if account.workflow_id in earlier:
                assert described.run_id == earlier[account.workflow_id], "the earlier run is reused, not replaced"

    async def test_accounts_start_on_the_account_queue_with_the_input_a_debtor_workflow_reads(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker
    ) -> None:
        """The launcher serializes each input once and hands Temporal those bytes: what the history
        holds must decode to the very input, sealed once (no worker polls the account queue here,
        so the accounts only wait there)."""
        strategy = prepare(sessions, 3)
        activity_env = ActivityEnvironment(client=env.client)
        activity_env.info = dataclasses.replace(activity_env.info, task_queue=TASK_QUEUE)
        launch = CampaignActivities(sessions, account_task_queue="accounts-elsewhere").launch_accounts
        for _ in range(2):  # two batches: the second uses the strategy the first one read
            await activity_env.run(launch, LaunchBatchInput(campaign_id=CAMPAIGN, batch_size=2, concurrency=2))
        campaign, accounts = rows(sessions)
        assert campaign.launched == 3
        for account in accounts:
            handle = env.client.get_workflow_handle(account.workflow_id)
            described = await handle.describe()
            assert described.raw_description.execution_config.task_queue.name == "accounts-elsewhere"
            history = await handle.fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            (decoded,) = await product_converter().decode(started.input.payloads, [DebtorInput])
            expected = DebtorInput(
                campaign=CampaignInfo(id=CAMPAIGN, creditor_name="Andes"),
                account=AccountSnapshot.model_validate(account.snapshot_json),
                strategy=strategy,
                strategy_published=True,  # a launch's accounts' sends name the published version
            )
            assert decoded == expected
            await handle.terminate("test over")

    async def test_a_paused_or_stopped_campaign_starts_nothing(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker
    ) -> None:
        prepare(sessions, 2, status="paused")
        activity_env = ActivityEnvironment(client=env.client)
        launch = CampaignActivities(sessions).launch_accounts
        result = await activity_env.run(launch, LaunchBatchInput(campaign_id=CAMPAIGN, batch_size=5, concurrency=1))
        assert (result.status, result.started, result.done) == ("paused", 0, False)
        campaign, accounts = rows(sessions)
        assert campaign.launched == 0
        assert all(a.launched_at is None for a in accounts)


class TestCampaignWorkflow:
    async def test_a_paused_launcher_waits_for_resume_then_stop_closes_every_account(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], worker: Worker
    ) -> None:
        prepare(sessions, 5, status="paused")
        await command(env.client, "pause")
        await command(env.client, "launch")
        handle = env.client.get_workflow_handle_for(CampaignWorkflow.run, campaign_workflow_id(CAMPAIGN))

        async def holding() -> bool:
            status = await handle.query(CampaignWorkflow.status)
            return not status.pending and status.paused and status.launching is not None

        await eventually(holding, "the launcher to hold")
        campaign, accounts = rows(sessions)
        assert campaign.launched == 0
        assert all(a.launched_at is None for a in accounts)

        set_status(sessions, "running")  # what the API's resume does as it signals
        await command(env.client, "resume")
        campaign = await eventually(lambda: launch_done(sessions), "the launch to finish")
        assert campaign.launched == 5
        # With nothing left to do the run ends; the next command starts a new one.
        launch_run = await result_of(handle)
        assert (launch_run.launched, launch_run.signalled) == (5, 0)  # pause and resume found none launched
        launch_history = await handle.fetch_history()

        set_status(sessions, "stopped")
        await command(env.client, "stop")
        stop_run = await result_of(
            env.client.get_workflow_handle_for(CampaignWorkflow.run, campaign_workflow_id(CAMPAIGN))
        )
        assert (stop_run.launched, stop_run.signalled) == (0, 5)
        stop_history = await env.client.get_workflow_handle(campaign_workflow_id(CAMPAIGN)).fetch_history()
        for history in (launch_history, stop_history):
            await campaign_replayer().replay_workflow(history)
        if os.environ.get("COLLECT_RECORD_HISTORIES") and sessions.kw["bind"].dialect.name == "sqlite":
            (HISTORIES / "paused-launch.json").write_text(launch_history.to_json())
            (HISTORIES / "stop.json").write_text(stop_history.to_json())
        for account in rows(sessions)[1]:
            debtor = env.client.get_workflow_handle(account.workflow_id)

            async def closed(h: Any = debtor) -> bool:
                return bool((await h.describe()).status == WorkflowExecutionStatus.COMPLETED)

            await eventually(closed, f"{account.workflow_id} to close")

    async def test_a_worker_stopped_mid_launch_is_replaced_and_the_launch_finishes(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session]
    ) -> None:
        prepare(sessions, 40)

        async def some_launched() -> int | None:
            launched = rows(sessions)[0].launched
            return launched if launched >= 4 else None

        async with running_worker(env, sessions, {}, cached=False):
            await command(env.client, "launch")
            await eventually(some_launched, "the first batches")
        at_stop = rows(sessions)[0].launched
        assert at_stop < 40, "the launch finished before the worker stopped: nothing was interrupted"

        async with running_worker(env, sessions, {}, cached=False):
            campaign = await eventually(lambda: launch_done(sessions), "the launch to finish after the restart")
            _, accounts = rows(sessions)
            assert campaign.launched == len(accounts) == 40
            assert all(a.launched_at is not None for a in accounts)
            for account in accounts:
                described = await env.client.get_workflow_handle(account.workflow_id).describe()
                assert described.status == WorkflowExecutionStatus.RUNNING
