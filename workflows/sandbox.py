"""The workflow sandbox every worker and replayer uses. The pure domain and the libraries it
leans on are passed through: they are deterministic, and re-importing them per run is slow and
breaks (`holidays` imports `dateutil`, which reads the local clock at import time). Only
strategies compiled before holiday dates were frozen into them still read `holidays` here.

The sandbox imports each workflow's own module (`workflows.debtor`, `workflows.campaign`) afresh
for every workflow it creates. Python normally loads that module from its cached bytecode, but a
process started with PYTHONDONTWRITEBYTECODE=1 (common in container images, and set on this
project's machines) has none, and compiled workflows/debtor.py from source on every new workflow:
12-30 ms of the worker's one core each, most of what creating a workflow cost in the launch
profile (docs/benchmarks.md). `compiled_once` keeps each compiled module in memory instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import pkgutil
import sys
import threading
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import Any

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
# The packages whose modules the sandbox imports afresh for each workflow.
REIMPORTED = ("workflows",)


class _CompiledOnceLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose compiled code comes from a process-wide table keyed by the source's
    bytes: the same source compiles once, and a changed file compiles again (a code object is
    immutable, and each import still runs it in a fresh module, exactly as loading a .pyc does)."""

    def __init__(self, fullname: str, path: str, finder: CompiledOnceFinder) -> None:
        super().__init__(fullname, path)
        self._finder = finder

    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> CodeType:  # type: ignore[override]
        return self._finder.code(data, path, lambda: super(_CompiledOnceLoader, self).source_to_code(data, path))


class CompiledOnceFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of `packages` as the normal path finder does, with a loader that compiles
    each source once per process (only used where no valid .pyc exists)."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = frozenset(packages)
        self.compiled = 0  # sources compiled (what a test counts)
        self._code: dict[tuple[str, bytes], CodeType] = {}
        self._lock = threading.Lock()  # workflows are created on several threads

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _CompiledOnceLoader(fullname, spec.loader.path, self)
        return spec

    def code(self, data: Any, path: Any, compile_source: Any) -> CodeType:
        key = (str(path), bytes(data))
        with self._lock:
            found = self._code.get(key)
        if found is None:
            found = compile_source()
            with self._lock:
                self._code[key] = found
                self.compiled += 1
        return found


def compiled_once() -> CompiledOnceFinder:
    """The process's finder for REIMPORTED packages, installed first on `sys.meta_path` once."""
    for finder in sys.meta_path:
        if isinstance(finder, CompiledOnceFinder):
            return finder
    finder = CompiledOnceFinder(REIMPORTED)
    sys.meta_path.insert(0, finder)
    return finder


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
    compiled_once()
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))
