"""Strategists' strategy endpoints: validate YAML (errors at line and column), publish immutable
versions keyed by content hash, list and read them, diff two versions, simulate one version
against a scripted scenario on a virtual clock (the same interpreter production runs), and run a
what-if analysis of many accounts (services/whatif.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import IdempotencyKeyHeader, NowDep, Planner, SessionDep, SettingsDep, Strategist
from api.errors import PROBLEM_JSON, Problem, ProblemError
from api.openapi import schema_ref
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas.strategies import (
    SimulateRequest,
    SimulationResult,
    SimulationTimelineEntry,
    StrategyDiff,
    StrategySource,
    StrategyVersionDetail,
    StrategyVersionPage,
    StrategyVersionPublic,
    ValidationResult,
    WhatIfRequest,
    WhatIfResult,
)
from db.models import StrategyVersion
from db.repositories import strategies as repo
from domain.policy import HolidayCalendar
from domain.strategy import CompiledStrategy
from services import strategies as service
from services import whatif
from strategies.limits import MAX_COMPILED_BYTES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_READ_BYTES

router = APIRouter(tags=["strategies"])

# Whole request bodies under /strategies (api.app applies it before the body is read): what the
# loader reads at all, far below the app's own limit (an account import is bigger).
MAX_BODY_BYTES = MAX_READ_BYTES
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})
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
    return text


YamlSource = Annotated[str, Depends(_yaml_source)]
UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    415: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Not YAML, text or JSON"}
}


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


@router.post(
    "/strategies/validate",
    summary="Check a strategy without publishing it",
    response_model=ValidationResult,
    openapi_extra=YAML_BODY,
    responses=UNSUPPORTED,
)
def validate_strategy(_: Strategist, session: SessionDep, source: YamlSource) -> ValidationResult:
    """200 with the compiled summary, or 422 with each error's line and column."""
    compiled = service.compile_source(source)
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
    row, created = service.publish(session, source, principal.subject)
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
    return _detail(service.version(session, strategy_hash))


@router.get(
    "/strategies/{strategy_hash}/diff/{other_hash}",
    summary="What changed from one version to another",
    response_model=StrategyDiff,
)
def diff_strategies(_: Planner, session: SessionDep, strategy_hash: HashPath, other_hash: HashPath) -> StrategyDiff:
    """A unified diff of the sources and which steps, templates and settings differ."""
    found = service.diff(service.version(session, strategy_hash), service.version(session, other_hash))
    return StrategyDiff.model_validate(asdict(found))


@router.post(
    "/strategies/{strategy_hash}/simulate",
    summary="Run one scripted account through a version",
    response_model=SimulationResult,
)
def simulate_strategy(
    _: Strategist, session: SessionDep, strategy_hash: HashPath, scenario: SimulateRequest, now: NowDep
) -> SimulationResult:
    """The account's timeline on a virtual clock, each moment in UTC and in the debtor's zone."""
    row = service.version(session, strategy_hash)
    strategy = CompiledStrategy.model_validate(row.compiled_json)
    simulated = service.simulate(strategy, scenario, now)
    account, zone, run = simulated.account, simulated.zone, simulated.run
    begin = simulated.start

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
            preview=e.preview,
            fallback_for=e.fallback_for,
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


@router.post(
    "/strategies/{strategy_hash}/what-if",
    summary="What-if analysis: many accounts through a version, by variant and segment, beside no contact",
    response_model=WhatIfResult,
)
def what_if(
    _: Strategist,
    session: SessionDep,
    settings: SettingsDep,
    strategy_hash: HashPath,
    asked: WhatIfRequest,
    now: NowDep,
) -> WhatIfResult:
    """A synthetic portfolio (or an import file's accounts) run through the version: recovery,
    a recovery curve, costs (the configured channel costs) and the share reaching legal, overall,
    by variant and by segment; the self-cure baseline; and with `compare_with`, another published
    version on the same accounts and draws with the difference and its 95% confidence interval.
    The same seed gives the same report."""
    found = whatif.for_version(
        session,
        strategy_hash,
        whatif.Request(**asked.model_dump(exclude={"portfolio"}), portfolio=asked.portfolio),
        now,
        settings.channel_costs,
    )
    return WhatIfResult.model_validate(asdict(found))
