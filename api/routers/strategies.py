"""Strategists' strategy endpoints: validate YAML (errors at line and column), publish immutable
versions keyed by content hash, list and read them, diff two versions, and simulate one version
against a scripted scenario on a virtual clock (the same interpreter production runs)."""

from __future__ import annotations

import difflib
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import IdempotencyKeyHeader, NowDep, Planner, SessionDep, Strategist
from api.errors import PROBLEM_JSON, Problem, ProblemError, ProblemItem
from api.openapi import schema_ref
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas.strategies import (
    NamedChanges,
    SimulateRequest,
    SimulationResult,
    SimulationTimelineEntry,
    StrategyDiff,
    StrategySource,
    StrategyVersionDetail,
    StrategyVersionPage,
    StrategyVersionPublic,
    ValidationResult,
)
from db.models import StrategyVersion
from db.repositories import strategies as repo
from domain.errors import DomainError
from domain.policy import HolidayCalendar
from domain.strategy import CompiledStrategy
from simulator.engine import simulate
from simulator.scenario import ScriptedResponder, default_account, parse_start, to_events
from strategies.compiler import Compiled, compile_text
from strategies.limits import MAX_COMPILED_BYTES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_READ_BYTES
from strategies.loader import StrategyInvalid

log = logging.getLogger(__name__)
router = APIRouter(tags=["strategies"])

# Whole request bodies under /strategies (api.app applies it before the body is read): what the
# loader reads at all, far below the app's own limit (an account import is bigger).
MAX_BODY_BYTES = MAX_READ_BYTES
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})
SOURCE_NAME = "strategy.yaml"
YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            'The strategy\'s YAML text, or JSON `{"yaml": "..."}` (StrategySource) for clients that send only '
            f"JSON: at most {MAX_DOCUMENT_BYTES:,} bytes of YAML, nested at most {MAX_DEPTH} levels, in a body of "
            f"at most {MAX_BODY_BYTES:,} bytes (larger bodies get 413 before they are read); compiled, at most "
            f"{MAX_COMPILED_BYTES:,} bytes."
        ),
        "content": {
            "application/json": {"schema": schema_ref(StrategySource.__name__)},
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}
HASH_PATTERN = r"^[0-9a-f]{64}$"
HashPath = Annotated[str, Path(pattern=HASH_PATTERN, description="A published version's hash (64 hex digits).")]


async def _yaml_source(request: Request) -> str:
    """The YAML text of the request, whichever of the accepted media types carries it."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media in YAML_TYPES:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProblemError(400, "The strategy is not UTF-8 text.") from None
    elif media == "application/json":
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProblemError(400, "The body is not JSON.") from None
        except (RecursionError, ValueError):  # nested thousands deep; a number beyond Python's digit limit
            raise ProblemError(400, "The body is JSON too deeply nested or with too long a number to read.") from None
        try:
            text = StrategySource.model_validate(parsed).yaml
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    else:
        raise ProblemError(
            415, f"Send the strategy as application/yaml, text/plain or application/json (got {media or 'none'})."
        )
    if not text.strip():
        raise ProblemError(422, "The strategy is empty.", errors=[ProblemItem(line=1, column=1, detail="empty")])
    return text


YamlSource = Annotated[str, Depends(_yaml_source)]
UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    415: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Not YAML, text or JSON"}
}


def _compile(source: str) -> Compiled:
    try:
        return compile_text(source, SOURCE_NAME)
    except StrategyInvalid as exc:
        errors = [ProblemItem(line=e.line, column=e.col, detail=e.message) for e in exc.errors]
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        raise ProblemError(422, f"The strategy is not valid ({count}).", errors=errors) from None
    except Exception as exc:
        # The compiler reports every expected mistake as StrategyInvalid; this is a safety net
        # so that a document it did not foresee is still a 422 that says something.
        log.warning("compiler failed unexpectedly", exc_info=True)
        raise ProblemError(
            422, f"The strategy cannot be compiled: {exc}", errors=[ProblemItem(line=1, column=1, detail=str(exc))]
        ) from None


def _summary(compiled: dict[str, Any]) -> dict[str, Any]:
    """Summary fields from a compiled strategy's JSON (what the database keeps)."""
    return {
        "strategy_id": compiled["id"],
        "name": compiled["name"],
        "hash": compiled["hash"],
        "currency": compiled["currency"],
        "locale": compiled["locale"],
        "timezone": compiled["timezone"],
        "policy": compiled["policy"]["name"],
        "steps": len(compiled["steps"]),
        "segments": [s["name"] for s in compiled["segments"]],
        "variants": [v["name"] for v in compiled.get("variants", [])],
        "policy_overrides": list(compiled["policy"].get("overrides", [])),
        "holiday_calendar": _calendar_text(compiled["policy"].get("calendar")),
    }


def _calendar_text(calendar: dict[str, Any] | None) -> str | None:
    return HolidayCalendar.model_validate(calendar).describe() if calendar else None


def _public(row: StrategyVersion) -> StrategyVersionPublic:
    return StrategyVersionPublic(
        id=row.id, published_at=row.published_at, published_by=row.published_by, **_summary(row.compiled_json)
    )


def _detail(row: StrategyVersion) -> StrategyVersionDetail:
    return StrategyVersionDetail(**_public(row).model_dump(), source_yaml=row.source_yaml)


def _version(session: SessionDep, strategy_hash: str) -> StrategyVersion:
    row = repo.by_hash(session, strategy_hash)
    if row is None:
        raise ProblemError(404, f"No strategy version with hash {strategy_hash!r} is published.")
    return row


@router.post(
    "/strategies/validate",
    summary="Check a strategy without publishing it",
    response_model=ValidationResult,
    openapi_extra=YAML_BODY,
    responses=UNSUPPORTED,
)
def validate_strategy(_: Strategist, session: SessionDep, source: YamlSource) -> ValidationResult:
    """200 with the compiled summary, or 422 with each error's line and column."""
    compiled = _compile(source)
    body = compiled.strategy.model_dump(mode="json")
    return ValidationResult(
        **_summary(body),
        warnings=list(compiled.warnings),
        published=repo.by_hash(session, compiled.strategy.hash) is not None,
    )


@router.post(
    "/strategies",
    summary="Publish a strategy version",
    status_code=201,
    response_model=StrategyVersionDetail,
    openapi_extra=YAML_BODY,
    responses={
        200: {"description": "The same content was already published: that version", "model": StrategyVersionDetail},
        **UNSUPPORTED,
    },
)
def publish_strategy(
    principal: Strategist,
    session: SessionDep,
    source: YamlSource,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> StrategyVersionDetail:
    """Compile and store an immutable version; identical content returns the existing one (200)."""
    compiled = _compile(source)
    row, created = repo.publish(session, compiled.strategy, source_yaml=source, published_by=principal.subject)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/strategies/{row.hash}"
    return _detail(row)


@router.get("/strategies", summary="List published versions", response_model=StrategyVersionPage)
def list_strategies(
    _: Planner,
    session: SessionDep,
    strategy_id: Annotated[
        str | None,
        Query(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=200, description="Only versions of this strategy."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> StrategyVersionPage:
    rows = repo.list_versions(session, strategy_id=strategy_id, after=decode_cursor(cursor), limit=limit)
    return page_of(StrategyVersionPage, [_public(r) for r in rows], [r.id for r in rows], limit)


@router.get(
    "/strategies/{strategy_hash}", summary="One published version with its source", response_model=StrategyVersionDetail
)
def get_strategy(_: Planner, session: SessionDep, strategy_hash: HashPath) -> StrategyVersionDetail:
    return _detail(_version(session, strategy_hash))


@router.get(
    "/strategies/{strategy_hash}/diff/{other_hash}",
    summary="What changed from one version to another",
    response_model=StrategyDiff,
)
def diff_strategies(_: Planner, session: SessionDep, strategy_hash: HashPath, other_hash: HashPath) -> StrategyDiff:
    """A unified diff of the sources and which steps, templates and settings differ."""
    old, new = _version(session, strategy_hash), _version(session, other_hash)
    a, b = old.compiled_json, new.compiled_json
    lines = difflib.unified_diff(
        old.source_yaml.splitlines(keepends=True),
        new.source_yaml.splitlines(keepends=True),
        fromfile=f"{old.strategy_id}@{old.hash[:12]}",
        tofile=f"{new.strategy_id}@{new.hash[:12]}",
    )
    settings = sorted(k for k in set(a) | set(b) if k not in ("steps", "templates", "hash") and a.get(k) != b.get(k))
    return StrategyDiff(
        from_hash=old.hash,
        to_hash=new.hash,
        identical=old.hash == new.hash,
        steps=_named_changes(a.get("steps", {}), b.get("steps", {})),
        templates=_named_changes(a.get("templates", {}), b.get("templates", {})),
        settings_changed=settings,
        unified_diff="".join(line if line.endswith("\n") else line + "\n" for line in lines),
    )


def _named_changes(a: dict[str, Any], b: dict[str, Any]) -> NamedChanges:
    return NamedChanges(
        added=sorted(set(b) - set(a)),
        removed=sorted(set(a) - set(b)),
        changed=sorted(name for name in set(a) & set(b) if a[name] != b[name]),
    )


@router.post(
    "/strategies/{strategy_hash}/simulate",
    summary="Run one scripted account through a version",
    response_model=SimulationResult,
)
def simulate_strategy(
    _: Strategist, session: SessionDep, strategy_hash: HashPath, scenario: SimulateRequest, now: NowDep
) -> SimulationResult:
    """The account's timeline on a virtual clock, each moment in UTC and in the debtor's zone."""
    row = _version(session, strategy_hash)
    strategy = CompiledStrategy.model_validate(row.compiled_json)
    fallback = now.replace(second=0, microsecond=0)
    try:
        begin = parse_start(scenario.start, strategy.timezone, fallback)
    except (ValueError, KeyError, OverflowError) as exc:
        raise ProblemError(
            422,
            "The start is not a local date and time like '2026-11-02 09:00'.",
            errors=[ProblemItem(pointer="/start", detail=f"cannot read {scenario.start!r}: {exc}")],
        ) from None
    try:
        account = default_account(strategy, begin.date(), scenario.account)
    except OverflowError:
        raise ProblemError(422, "The start is too close to the calendar's limits.") from None
    except ValidationError as exc:
        errors = [
            ProblemItem(pointer="/account/" + "/".join(str(p) for p in e["loc"]), detail=e["msg"]) for e in exc.errors()
        ]
        raise ProblemError(422, "The scenario's account is not valid.", errors=errors) from None
    try:
        zone = ZoneInfo(account.timezone)
        events = to_events(scenario, account, begin)
        run = simulate(
            strategy, account, begin, scenario.days, events, ScriptedResponder(scenario.calls, scenario.approvals)
        )
    except (DomainError, ValueError, KeyError, OverflowError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ProblemError(422, f"The scenario cannot run: {exc}") from None

    def local(at: datetime) -> datetime:
        return at.astimezone(zone)

    timeline = [
        SimulationTimelineEntry(
            at=e.at.astimezone(UTC),
            at_local=local(e.at),
            kind=e.kind,
            step=e.step,
            stage=str(e.stage),
            detail=e.detail,
            channel=str(e.channel) if e.channel else None,
            moved_to=e.moved_to.astimezone(UTC) if e.moved_to else None,
            moved_to_local=local(e.moved_to) if e.moved_to else None,
        )
        for e in run.timeline
    ]
    state = run.state
    return SimulationResult(
        strategy_id=strategy.id,
        hash=strategy.hash,
        account_id=account.account_id,
        timezone=account.timezone,
        start=begin.astimezone(UTC),
        days=scenario.days,
        segment=state.segment,
        variant=state.variant,
        final_step=state.step,
        final_stage=str(state.stage),
        resolution=str(state.resolution) if state.resolution else None,
        balance=state.balance,
        paid_total=state.paid_total,
        currency=account.currency,
        contacts=state.counters.contacts,
        closed_at=run.closed_at.astimezone(UTC) if run.closed_at else None,
        stopped=run.stopped,
        timeline=timeline,
    )
