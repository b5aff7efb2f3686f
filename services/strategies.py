"""Strategy versions, for every door (API, console, CLI): compile a YAML source (every error at its
line and column), publish it as an immutable version, find one, compare two, and run one scripted
account through a strategy on a virtual clock (the same interpreter production runs).

A strategist may simulate a source that is not published yet: `simulate` takes the compiled
strategy, whichever way it came.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from db.models import StrategyVersion
from db.repositories import strategies as repo
from domain.account import AccountSnapshot
from domain.errors import DomainError
from domain.strategy import CompiledStrategy
from services.errors import Field, Invalid, NotFound
from simulator.engine import Run
from simulator.engine import simulate as run_simulation
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, parse_start, to_events
from strategies.compiler import Compiled, compile_text
from strategies.loader import StrategyInvalid, parse, translate

log = logging.getLogger(__name__)

SOURCE_NAME = "strategy.yaml"
SCENARIO_NAME = "scenario.yaml"


def compile_source(source: str) -> Compiled:
    """The compiled strategy; Invalid with each error's line and column otherwise."""
    if not source.strip():
        raise Invalid("The strategy is empty.", fields=[Field(None, "empty", line=1, column=1)])
    try:
        return compile_text(source, SOURCE_NAME)
    except StrategyInvalid as exc:
        fields = [Field(None, e.message, line=e.line, column=e.col) for e in exc.errors]
        count = f"{len(fields)} error{'s' if len(fields) != 1 else ''}"
        raise Invalid(f"The strategy is not valid ({count}).", fields=fields) from None
    except Exception as exc:
        # The compiler reports every expected mistake as StrategyInvalid; this is a safety net
        # so that a document it did not foresee is still refused with something to read.
        log.warning("compiler failed unexpectedly", exc_info=True)
        raise Invalid(
            f"The strategy cannot be compiled: {exc}", fields=[Field(None, str(exc), line=1, column=1)]
        ) from None


def publish(session: Session, source: str, by: str) -> tuple[StrategyVersion, bool]:
    """Compile and store an immutable version; the same content again is the existing version
    (created False)."""
    compiled = compile_source(source)
    return repo.publish(session, compiled.strategy, source_yaml=source, published_by=by)


def version(session: Session, strategy_hash: str) -> StrategyVersion:
    """The published version with this hash; NotFound otherwise."""
    row = repo.by_hash(session, strategy_hash)
    if row is None:
        raise NotFound(f"No strategy version with hash {strategy_hash!r} is published.")
    return row


@dataclass(frozen=True)
class Changes:
    added: list[str]
    removed: list[str]
    changed: list[str]


@dataclass(frozen=True)
class Diff:
    from_hash: str
    to_hash: str
    identical: bool
    steps: Changes
    templates: Changes
    settings_changed: list[str]  # top-level parts that differ: policy, segments, promises...
    unified_diff: str  # of the two YAML sources


def diff(old: StrategyVersion, new: StrategyVersion) -> Diff:
    """What changed from `old` to `new`: the sources line by line, and which steps, templates and
    settings of the compiled strategies differ."""
    a, b = old.compiled_json, new.compiled_json
    lines = difflib.unified_diff(
        old.source_yaml.splitlines(keepends=True),
        new.source_yaml.splitlines(keepends=True),
        fromfile=f"{old.strategy_id}@{old.hash[:12]}",
        tofile=f"{new.strategy_id}@{new.hash[:12]}",
    )
    settings = sorted(k for k in set(a) | set(b) if k not in ("steps", "templates", "hash") and a.get(k) != b.get(k))
    return Diff(
        from_hash=old.hash,
        to_hash=new.hash,
        identical=old.hash == new.hash,
        steps=_named_changes(a.get("steps", {}), b.get("steps", {})),
        templates=_named_changes(a.get("templates", {}), b.get("templates", {})),
        settings_changed=settings,
        unified_diff="".join(line if line.endswith("\n") else line + "\n" for line in lines),
    )


def _named_changes(a: dict[str, Any], b: dict[str, Any]) -> Changes:
    return Changes(
        added=sorted(set(b) - set(a)),
        removed=sorted(set(a) - set(b)),
        changed=sorted(name for name in set(a) & set(b) if a[name] != b[name]),
    )


def read_scenario(text: str) -> ScenarioDoc:
    """A scenario written as YAML (as `collect strategy simulate --scenario` reads it); Invalid
    with each error's line and column otherwise. Blank: the default scenario."""
    if not text.strip():
        return ScenarioDoc()
    try:
        src = parse(text, SCENARIO_NAME)
        return ScenarioDoc.model_validate(src.data if src.data is not None else {})
    except StrategyInvalid as exc:
        errors = exc.errors
    except ValidationError as exc:
        errors = translate(src, exc)
    fields = [Field(None, e.message, line=e.line, column=e.col) for e in errors]
    raise Invalid(f"The scenario is not valid ({len(fields)} error{'s' if len(fields) != 1 else ''}).", fields=fields)


@dataclass(frozen=True)
class Simulated:
    """One scripted account's run: its snapshot, the local start, the debtor's zone and the run
    (timeline and final state)."""

    strategy: CompiledStrategy
    account: AccountSnapshot
    start: datetime
    zone: ZoneInfo
    days: int
    run: Run


def simulate(strategy: CompiledStrategy, scenario: ScenarioDoc, now: datetime) -> Simulated:
    """Run the scenario's account through `strategy` from its start (the debtor's local time;
    `now` when it names none); Invalid when the scenario cannot run, saying why."""
    fallback = now.replace(second=0, microsecond=0)
    try:
        begin = parse_start(scenario.start, strategy.timezone, fallback)
    except (ValueError, KeyError, OverflowError) as exc:
        raise Invalid(
            "The start is not a local date and time like '2026-11-02 09:00'.",
            fields=[Field("/start", f"cannot read {scenario.start!r}: {exc}")],
        ) from None
    try:
        account = default_account(strategy, begin.date(), scenario.account)
    except OverflowError:
        raise Invalid("The start is too close to the calendar's limits.") from None
    except ValidationError as exc:
        fields = [Field("/account/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise Invalid("The scenario's account is not valid.", fields=fields) from None
    try:
        zone = ZoneInfo(account.timezone)
        events = to_events(scenario, account, begin)
        run = run_simulation(
            strategy, account, begin, scenario.days, events, ScriptedResponder(scenario.calls, scenario.approvals)
        )
    except (DomainError, ValueError, KeyError, OverflowError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise Invalid(f"The scenario cannot run: {exc}") from None
    return Simulated(strategy=strategy, account=account, start=begin, zone=zone, days=scenario.days, run=run)
