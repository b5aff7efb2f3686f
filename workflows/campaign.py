"""The campaign workflow: one per campaign (`campaign:<id>`), running the campaign's commands in
the order they arrive: launch its accounts in batches, and fan pause, resume and close out to
every launched account's workflow.

The API sends each command as the `command` signal with signal-with-start, so a command is
durable once the API answers, whether or not a run was under way. A run ends when no command is
left and no launch is unfinished; the next command starts a new one. While paused, the launcher
starts nothing and the run waits for `resume` or `stop`. Both activities are idempotent (a
workflow already started is reused; marking an account launched counts it once), so a worker
killed mid-batch loses nothing: the batch runs again and only the rest is started.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        CampaignCommand,
        CampaignInput,
        CampaignResult,
        FanOutInput,
        FanOutResult,
        LaunchBatchInput,
        LaunchBatchResult,
        MoveInput,
        MoveResult,
    )

# Batches start many workflows; a worker that dies mid-batch is noticed by the missing heartbeat.
BATCH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
    ),
}
FINISH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
# Accounts signalled per fan-out activity (more per call than launches: a signal is cheap).
FAN_OUT_BATCH = 500
# Activities per run before continuing as new (each adds three events to the history).
ACTIVITIES_PER_RUN = 500
# How long to wait before asking again when the database does not yet show the campaign running
# (the API signals before it commits) or shows it paused before the pause signal is handled.
RECHECK = timedelta(seconds=5)
MAX_RECHECKS = 12
# A launch batch that can never succeed (activities.campaigns raises it non-retryable, having
# written the reason on the campaign) ends the launch instead of failing the campaign's workflow.
LAUNCH_IMPOSSIBLE = "LaunchImpossible"
LAUNCH_STOPS_PATCH = "launch-stops-when-it-cannot-succeed"
# Command -> (the debtor workflow's signal, its reason).
SIGNALS: dict[str, tuple[Literal["pause", "resume", "close"], str]] = {
    "pause": ("pause", ""),
    "resume": ("resume", ""),
    "stop": ("close", "campaign stopped"),
}


@workflow.defn(name="CampaignWorkflow")
class CampaignWorkflow:
    @workflow.init
    def __init__(self, input: CampaignInput) -> None:
        self._campaign_id = input.campaign_id
        self._commands: list[CampaignCommand] = list(input.pending)
        self._launching = input.launching
        self._paused = input.paused
        self._stopped = input.stopped
        self._activities = 0
        self._rechecks = 0
        self._launched = 0
        self._signalled = 0
        self._moved = 0
        self._refused = 0

    @workflow.signal(name="command")
    def command(self, command: CampaignCommand) -> None:
        self._commands.append(command)

    @workflow.query(name="status")
    def status(self) -> CampaignInput:
        """What the run still has to do: pending commands, the launch in progress, paused, stopped."""
        return self._carried()

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignResult:
        while True:
            if self._commands:
                await self._apply(self._commands.pop(0))
            elif self._launching is not None and not self._paused and not self._stopped:
                await self._launch_batch(self._launching)
            elif self._launching is not None and not self._stopped:
                await workflow.wait_condition(lambda: bool(self._commands))  # paused: until resume or stop
            else:
                break
            if self._activities >= ACTIVITIES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CampaignResult(
            campaign_id=self._campaign_id,
            launched=self._launched,
            signalled=self._signalled,
            moved=self._moved,
            refused=self._refused,
        )

    def _carried(self) -> CampaignInput:
        return CampaignInput(
            campaign_id=self._campaign_id,
            pending=tuple(self._commands),
            launching=self._launching,
            paused=self._paused,
            stopped=self._stopped,
        )

    async def _apply(self, command: CampaignCommand) -> None:
        # "move" came after the first histories were recorded; checking it first leaves the path
        # of every older command as it was, so their histories replay unchanged.
        if command.action == "move":
            if not self._stopped and command.strategy_hash is not None:
                await self._move(command, command.strategy_hash)
            return
        if command.action == "launch":
            if not self._stopped:
                self._launching = command  # a second launch only refreshes the batch settings
            return
        if command.action == "pause":
            self._paused = True
        elif command.action == "resume":
            if self._stopped:
                return
            self._paused = False
        else:
            self._stopped, self._launching = True, None
            await workflow.execute_activity("finish_launch", self._campaign_id, **FINISH)
            self._activities += 1
        signal, reason = SIGNALS[command.action]
        await self._fan_out(signal, reason, command.concurrency)

    async def _launch_batch(self, launch: CampaignCommand) -> None:
        try:
            result = await workflow.execute_activity(
                "launch_accounts",
                LaunchBatchInput(
                    campaign_id=self._campaign_id, batch_size=launch.batch_size, concurrency=launch.concurrency
                ),
                result_type=LaunchBatchResult,
                **BATCH,
            )
        except ActivityError as exc:
            cause = exc.cause
            impossible = isinstance(cause, ApplicationError) and cause.type == LAUNCH_IMPOSSIBLE
            if not impossible or not workflow.patched(LAUNCH_STOPS_PATCH):
                raise
            self._activities += 1
            self._launching = None  # the campaign says why; a new launch command starts over
            return
        self._activities += 1
        self._launched += result.started
        if result.status == "running":
            self._rechecks = 0
            if result.done:
                self._launching = None
        elif result.status == "stopped":
            self._launching = None
        elif self._rechecks < MAX_RECHECKS:
            self._rechecks += 1
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._commands), timeout=RECHECK)
        elif result.status == "paused":
            self._paused = True  # the database has said so for longer than any commit takes: wait for resume
        else:
            self._launching = None  # still a draft: the request that launched it never committed

    async def _fan_out(self, signal: Literal["pause", "resume", "close"], reason: str, concurrency: int) -> None:
        after = 0
        while True:
            result = await workflow.execute_activity(
                "signal_accounts",
                FanOutInput(
                    campaign_id=self._campaign_id,
                    signal=signal,
                    reason=reason,
                    after_id=after,
                    batch_size=FAN_OUT_BATCH,
                    concurrency=concurrency,
                ),
                result_type=FanOutResult,
                **BATCH,
            )
            self._activities += 1
            self._signalled += result.signalled
            if result.next_after is None:
                return
            after = result.next_after

    async def _move(self, command: CampaignCommand, strategy_hash: str) -> None:
        after = 0
        while True:
            result = await workflow.execute_activity(
                "move_accounts",
                MoveInput(
                    campaign_id=self._campaign_id,
                    strategy_hash=strategy_hash,
                    step=command.step,
                    by=command.by,
                    after_id=after,
                    batch_size=FAN_OUT_BATCH,
                    concurrency=command.concurrency,
                ),
                result_type=MoveResult,
                **BATCH,
            )
            self._activities += 1
            self._moved += result.moved
            self._refused += result.refused
            if result.next_after is None:
                return
            after = result.next_after
