"""The workflow sandbox every worker and replayer uses. The pure domain and the libraries it
leans on are passed through: they are deterministic, and re-importing them per run is slow and
breaks (`holidays` imports `dateutil`, which reads the local clock at import time)."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("domain", "workflows.contracts", "cel", "holidays", "dateutil", "zoneinfo")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))
