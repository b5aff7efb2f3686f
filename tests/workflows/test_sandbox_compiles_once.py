"""The workflow sandbox imports each workflow's module afresh for every workflow it creates; with
no bytecode cache (PYTHONDONTWRITEBYTECODE=1, as on this project's machines and in many container
images) that meant compiling workflows/debtor.py from source for every account. These tests run
the real sandbox with no .pyc to be found and count what the Python compiler is asked to compile."""

from __future__ import annotations

import builtins
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow

from workflows.campaign import CampaignWorkflow
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner


def source_of(defn: type) -> Path:
    return Path(sys.modules[defn.__module__].__file__ or "").resolve()


WORKFLOW_SOURCES = {source_of(DebtorWorkflow), source_of(CampaignWorkflow)}


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Counter[Path]:
    """Every compile of a workflow module's source from here on; no .pyc is read or written."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))  # an empty cache: nothing to load
    counts: Counter[Path] = Counter()
    real = builtins.compile

    def counting(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        path = Path(str(filename)).resolve()
        if path in WORKFLOW_SOURCES:
            counts[path] += 1
        return real(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    return counts


@pytest.mark.parametrize("defn", [DebtorWorkflow, CampaignWorkflow], ids=["debtor", "campaign"])
async def test_a_workflow_module_compiles_at_most_once_however_many_workflows_the_sandbox_creates(
    compiled: Counter[Path], defn: type
) -> None:
    runner = workflow_runner()
    definition = workflow._Definition.must_from_class(defn)
    for _ in range(5):
        runner.prepare_workflow(definition)  # creates a sandboxed instance, importing the module afresh
    source = source_of(defn)
    assert compiled[source] <= 1, f"{source.name} compiled {compiled[source]} times for 5 workflows"
