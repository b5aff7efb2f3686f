"""The bare Temporal baselines of benchmarks/bench_day.py: workflows that do what the product's do
on an account's first turn, without the product. Imported by the sandbox like the product's own
workflow module, so this file imports only temporalio and the standard library.

`BareTurn`: takes an input the size of a debtor workflow's (a string), runs three activities in
turn (the product's first turn: register the account, send, record the turn), each one database
transaction, then sleeps 30 days as an account waits for its next step; its `poke` update answers
at once (the baseline of an agent's outcome)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

ACTIVITY_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name="BareTurn")
class BareTurn:
    def __init__(self) -> None:
        self._pokes = 0

    @workflow.run
    async def run(self, payload: str) -> int:
        key = workflow.info().workflow_id
        for kind in ("register", "send", "turn"):
            await workflow.execute_activity("bare_write", args=[kind, key], start_to_close_timeout=ACTIVITY_TIMEOUT)
        await workflow.sleep(timedelta(days=30))
        return len(payload) + self._pokes

    @workflow.update(name="poke")
    def poke(self, note: str) -> int:
        self._pokes += 1
        return self._pokes
