"""The workflow sandbox every worker and replayer uses. The pure domain and the libraries it
leans on are passed through: they are deterministic, and re-importing them per run is slow and
breaks (`holidays` imports `dateutil`, which reads the local clock at import time). Only
strategies compiled before holiday dates were frozen into them still read `holidays` here."""

from __future__ import annotations

import importlib
import pkgutil

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from domain.zone_rules import use_pinned_zone_rules

# workflows.shared_strategies must be one module for the whole process (not re-imported per run):
# it is the registry that lets all workflows of a worker hold one copy of each strategy.
PASSED_THROUGH = (
    "domain",
    "workflows.contracts",
    "workflows.shared_strategies",
    "cel",
    "holidays",
    "dateutil",
    "zoneinfo",
)


def _preload_holiday_calendars() -> None:
    """Import every country module of `holidays` now: the package loads them lazily, and a
    pass-through module first imported inside a workflow run costs time on that run's task."""
    import holidays.countries

    for module in pkgutil.iter_modules(holidays.countries.__path__):
        importlib.import_module(f"holidays.countries.{module.name}")


def workflow_runner() -> SandboxedWorkflowRunner:
    # Every worker and replayer builds its runner here: workflow code then reads zone rules from
    # the locked tzdata package whatever the process did first (see domain.zone_rules).
    use_pinned_zone_rules()
    _preload_holiday_calendars()
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))
