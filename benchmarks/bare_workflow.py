"""The bare baseline of benchmarks/bench_worker.py: a workflow that does nothing but hold its input
(a string as large as a debtor workflow's input) and answer an update at once. Sandboxed like the
product's workflows; its own module, so the sandbox re-imports nothing but temporalio."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    def __init__(self) -> None:
        self._touched = 0
        self._payload = ""

    @workflow.run
    async def run(self, payload: str) -> int:
        self._payload = payload  # held for the workflow's life, as the debtor workflow holds its input
        await workflow.wait_condition(lambda: self._touched < 0)
        return self._touched

    @workflow.update(name="touch")
    async def touch(self, n: int) -> int:
        self._touched += n
        return self._touched
