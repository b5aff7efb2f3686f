"""The campaign workflow's activities: launch a batch of accounts (start each one's debtor
workflow, then mark it launched), signal the launched accounts (pause, resume, close), and end a
launch. Async, because starting and signalling workflows is Temporal client I/O done many at a
time under a semaphore; the database work runs in threads (`asyncio.to_thread`).

A retry is harmless: a workflow already running is reused (`USE_EXISTING`), one that already
finished is not started again (`REJECT_DUPLICATE`), and an account is counted as launched once.
A start that can never succeed (the input is bigger than Temporal accepts, or the server refuses
the request itself) is not retried: the launch stops, and the campaign says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db.repositories import campaigns as repo
from db.repositories import strategies as strategies_repo
from db.session import session_scope
from domain.account import AccountSnapshot
from domain.events import Close, Pause, Resume
from domain.strategy import CompiledStrategy
from workflows.contracts import (
    CampaignInfo,
    ChangeStrategy,
    DebtorInput,
    FanOutInput,
    FanOutResult,
    LaunchBatchInput,
    LaunchBatchResult,
    MoveInput,
    MoveResult,
)

# Temporal refuses a payload over 2 MiB (its default blob size limit); the workflow input carries
# the compiled strategy and the account, so it is measured before the start is sent.
MAX_WORKFLOW_INPUT_BYTES = 2 * 1024 * 1024
LAUNCH_IMPOSSIBLE = "LaunchImpossible"
# How often a batch reports progress (its heartbeat timeout is 30 s).
HEARTBEAT_EVERY_S = 1.0
# Compiled strategies a launcher keeps parsed between batches (one per campaign launching at once).
KEPT_STRATEGIES = 8


async def _bounded(limit: int, jobs: list[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs with at most `limit` in flight, heartbeating the count finished at most once
    a second (a heartbeat per job cost each start an encoded heartbeat and a call into the SDK's
    core; the timeout is 30 s) and when the last one finishes."""
    gate = asyncio.Semaphore(limit)
    finished = 0
    last = time.monotonic()

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        nonlocal finished, last
        async with gate:
            await job()
        finished += 1
        if finished == len(jobs) or time.monotonic() - last >= HEARTBEAT_EVERY_S:
            last = time.monotonic()
            activity.heartbeat(finished)

    await asyncio.gather(*(run(job) for job in jobs))


async def _each(limit: int, workflow_ids: list[str], call: Callable[[str], Awaitable[str]]) -> Counter[str]:
    """Call `call` on each workflow, at most `limit` at a time; count the outcomes it names."""
    outcomes: Counter[str] = Counter()

    def job(workflow_id: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            outcomes[await call(workflow_id)] += 1

        return run

    await _bounded(limit, [job(wf) for wf in workflow_ids])
    return outcomes


def _next_after(rows: list[tuple[int, str]], batch_size: int) -> int | None:
    """Where the next fan-out batch starts; None when this batch was the last (a short one)."""
    return rows[-1][0] if len(rows) == batch_size else None


class CampaignActivities:
    """`account_task_queue`: where account workflows start; by default the launching worker's own
    queue (a deployment may give accounts their own workers)."""

    def __init__(self, sessions: sessionmaker[Session], account_task_queue: str | None = None) -> None:
        self._sessions = sessions
        self._account_task_queue = account_task_queue
        self._strategies: dict[str, CompiledStrategy] = {}

    # ---- launching -----------------------------------------------------------------------------

    @activity.defn(name="launch_accounts")
    async def launch_accounts(self, input: LaunchBatchInput) -> LaunchBatchResult:
        """Start the next `batch_size` accounts' workflows; `done` once none is left."""
        batch = await asyncio.to_thread(self._next_batch, input)
        if batch.status != "running" or not batch.accounts:
            return LaunchBatchResult(status=batch.status, done=batch.status == "running")
        campaign = batch.campaign
        try:
            strategy = self._strategy(campaign.strategy_hash, batch.compiled)
            accounts = [(id_, wf, AccountSnapshot.model_validate(snap)) for id_, wf, snap in batch.accounts]
        except ValidationError as exc:  # written by our own import: a bug, not a passing fault
            raise ApplicationError(f"cannot read a stored account or strategy: {exc}", non_retryable=True) from exc
        info = CampaignInfo(
            id=campaign.id,
            creditor_name=campaign.creditor_name,
            creditor_phone=campaign.creditor_phone,
            creditor_email=campaign.creditor_email,
            payment_link_base=campaign.payment_link_base,
        )
        client = activity.client()
        converter = client.data_converter
        queue = self._account_task_queue or activity.info().task_queue
        started: list[int] = []
        impossible: list[str] = []

        def starter(id_: int, workflow_id: str, account: AccountSnapshot) -> Callable[[], Awaitable[None]]:
            async def start() -> None:
                # Serialized once: the size check and the start share the payload (the codec seals
                # it again on the way out, which costs microseconds; the serialization did not).
                plain = converter.payload_converter.to_payloads(
                    [DebtorInput(campaign=info, account=account, strategy=strategy, strategy_published=True)]
                )
                sealed = await converter.payload_codec.encode(plain) if converter.payload_codec else plain
                size = sum(p.ByteSize() for p in sealed)
                if size > MAX_WORKFLOW_INPUT_BYTES:
                    impossible.append(
                        f"account {account.account_id} cannot start: its workflow input is {size:,} bytes, more "
                        f"than the {MAX_WORKFLOW_INPUT_BYTES:,} Temporal accepts (the strategy version "
                        f"{campaign.strategy_hash[:12]} is most of it); publish a smaller version and launch again"
                    )
                    return
                try:
                    # A finished workflow (the account closed before a crash hid that from us) stays finished.
                    with contextlib.suppress(WorkflowAlreadyStartedError):
                        await client.start_workflow(
                            "DebtorWorkflow",
                            RawValue(plain[0]),
                            id=workflow_id,
                            task_queue=queue,
                            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        )
                except RPCError as exc:
                    if exc.status != RPCStatusCode.INVALID_ARGUMENT:
                        raise  # unavailable, deadline, throttled...: passing, so the batch is retried
                    impossible.append(f"account {account.account_id} cannot start: Temporal refused it: {exc.message}")
                    return
                started.append(id_)

            return start

        await _bounded(input.concurrency, [starter(id_, wf, account) for id_, wf, account in accounts])
        marked = await asyncio.to_thread(self._mark_launched, input.campaign_id, started)
        if impossible:
            more = f" (and {len(impossible) - 1} more accounts)" if len(impossible) > 1 else ""
            reason = impossible[0] + more
            await asyncio.to_thread(self._fail_launch, input.campaign_id, reason)
            raise ApplicationError(reason, type=LAUNCH_IMPOSSIBLE, non_retryable=True)
        return LaunchBatchResult(status="running", started=marked)

    def _strategy(self, strategy_hash: str, compiled: dict[str, Any] | None) -> CompiledStrategy:
        """The campaign's compiled strategy: read and parsed on the first batch that needs it, then
        kept (a version is immutable and named by its content hash)."""
        strategy = self._strategies.get(strategy_hash)
        if strategy is None:
            assert compiled is not None  # the repository read it: it was not kept
            strategy = CompiledStrategy.model_validate(compiled)
            while len(self._strategies) >= KEPT_STRATEGIES:
                self._strategies.pop(next(iter(self._strategies)))
            self._strategies[strategy_hash] = strategy
        return strategy

    def _fail_launch(self, campaign_id: str, reason: str) -> None:
        with session_scope(self._sessions) as session:
            repo.fail_launch(session, campaign_id, reason, datetime.now(UTC))

    def _next_batch(self, input: LaunchBatchInput) -> repo.LaunchBatch:
        with session_scope(self._sessions) as session:
            try:
                return repo.launch_batch(
                    session, input.campaign_id, input.batch_size, datetime.now(UTC), kept=frozenset(self._strategies)
                )
            except LookupError as exc:
                raise ApplicationError(str(exc), type="CampaignMissing", non_retryable=True) from exc

    def _mark_launched(self, campaign_id: str, ids: list[int]) -> int:
        with session_scope(self._sessions) as session:
            return repo.mark_launched(session, campaign_id, ids, datetime.now(UTC))

    @activity.defn(name="finish_launch")
    async def finish_launch(self, campaign_id: str) -> None:
        """The campaign stopped: its launch, if under way, ends here."""
        await asyncio.to_thread(self._finish_launch, campaign_id)

    def _finish_launch(self, campaign_id: str) -> None:
        with session_scope(self._sessions) as session:
            repo.finish_launch(session, campaign_id, datetime.now(UTC))

    # ---- fan-out -------------------------------------------------------------------------------

    @activity.defn(name="signal_accounts")
    async def signal_accounts(self, input: FanOutInput) -> FanOutResult:
        """Signal up to `batch_size` launched accounts after `after_id`; finished workflows are counted, not errors."""
        rows = await asyncio.to_thread(self._launched_after, input)
        payload: BaseModel = {"pause": Pause(), "resume": Resume(), "close": Close(reason=input.reason)}[input.signal]
        client: Client = activity.client()

        async def signal(workflow_id: str) -> str:
            try:
                await client.get_workflow_handle(workflow_id).signal(input.signal, payload)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                return "finished"
            return "signalled"

        counts = await _each(input.concurrency, [wf for _, wf in rows], signal)
        return FanOutResult(
            signalled=counts["signalled"], finished=counts["finished"], next_after=_next_after(rows, input.batch_size)
        )

    @activity.defn(name="move_accounts")
    async def move_accounts(self, input: MoveInput) -> MoveResult:
        """Move up to `batch_size` launched accounts after `after_id` to a strategy version, each by
        the `change_strategy` update; a refusal (no such step) is counted, not raised."""
        rows, strategy = await asyncio.to_thread(self._move_batch, input)
        change = ChangeStrategy(strategy=strategy, step=input.step, by=input.by, published=True)
        client: Client = activity.client()

        async def move(workflow_id: str) -> str:
            try:
                await client.get_workflow_handle(workflow_id).execute_update("change_strategy", change)
            except WorkflowUpdateFailedError:
                return "refused"
            except RPCError as exc:
                if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                    # Temporal refuses this update for good (a payload over its limits): asking
                    # again would retry the batch forever; the account stays where it is.
                    activity.logger.warning("change_strategy refused for %s: %s", workflow_id, exc.message)
                    return "refused"
                if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                    raise
                return "finished"
            return "moved"

        counts = await _each(input.concurrency, [wf for _, wf in rows], move)
        return MoveResult(
            moved=counts["moved"],
            refused=counts["refused"],
            finished=counts["finished"],
            next_after=_next_after(rows, input.batch_size),
        )

    def _move_batch(self, input: MoveInput) -> tuple[list[tuple[int, str]], CompiledStrategy]:
        with session_scope(self._sessions) as session:
            version = strategies_repo.by_hash(session, input.strategy_hash)
            if version is None:
                raise ApplicationError(
                    f"no published strategy version {input.strategy_hash}", type="StrategyMissing", non_retryable=True
                )
            strategy = CompiledStrategy.model_validate(version.compiled_json)
            return repo.launched_after(session, input.campaign_id, input.after_id, input.batch_size), strategy

    def _launched_after(self, input: FanOutInput) -> list[tuple[int, str]]:
        with session_scope(self._sessions) as session:
            return repo.launched_after(session, input.campaign_id, input.after_id, input.batch_size)
