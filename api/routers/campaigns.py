"""Campaign endpoints: create a campaign from a published strategy, import its accounts (CSV or
JSON, with a row-level report), launch them, and pause, resume or stop the whole campaign.

Launching and the pause/resume/stop fan-outs are carried out by the campaign's own workflow
(`workflows/campaign.py`), which the API reaches with signal-with-start: the command is durable
once the request answers, and runs in order with the campaign's other commands. The campaign's
status changes in the database in the same request, so reads and later commands see it at once.

Command rules: launch needs imported accounts not yet launched, and a campaign that is neither
paused nor stopped (409 otherwise); launching again after another import launches only the new
accounts. Pause needs a running campaign, resume a paused one; stop is final (409 for anything
after it, a second stop included).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from temporalio.client import Client

from api import account_import
from api.account_import import FileUnreadable, ImportedAccount, ParsedRows, parse_csv, parse_json
from api.deps import IdempotencyKeyHeader, NowDep, Planner, SessionDep, Strategist, Supervisor, TemporalDep
from api.errors import PROBLEM_JSON, Problem, ProblemError
from api.openapi import schema_ref
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas.account_rows import AccountRow
from api.schemas.campaigns import (
    CAMPAIGN_ID_PATTERN,
    CampaignCreate,
    CampaignMove,
    CampaignPage,
    CampaignPublic,
    CampaignSummary,
    ImportReport,
    LaunchProgress,
    LaunchRequest,
    RejectedRow,
    SkippedRow,
)
from api.temporal import TemporalGateway
from db.models import Campaign
from db.repositories import campaigns as repo
from db.repositories import strategies as strategy_repo
from domain import interpreter
from domain.errors import DomainError
from domain.strategy import CompiledStrategy
from workflows.contracts import CampaignCommand, CampaignInput, campaign_workflow_id

router = APIRouter(tags=["campaigns"])

CSV_TYPES = frozenset({"text/csv", "application/csv"})
CampaignPath = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN, description="The campaign's id.")]
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Accounts as CSV with a header row, or as JSON: a list of AccountRow objects with the same "
        "columns, read and reported the same way (see the columns in the operation's description). Either body "
        "may be as large as the API's request limit (`COLLECT_API_MAX_BODY_BYTES`, 20 MiB unless configured); "
        "a larger one gets 413 before it is read.",
        "content": {
            "application/json": {"schema": {"type": "array", "items": schema_ref(AccountRow.__name__)}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@dataclass(frozen=True)
class AccountFile:
    kind: Literal["csv", "json"]
    data: bytes


async def _account_file(request: Request) -> AccountFile:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return AccountFile("csv", await request.body())
    if media == "application/json":
        return AccountFile("json", await request.body())
    raise ProblemError(415, f"Send accounts as text/csv or application/json (got {media or 'none'}).")


AccountFileDep = Annotated[AccountFile, Depends(_account_file)]


def _campaign(session: SessionDep, campaign_id: str) -> Campaign:
    campaign = repo.get(session, campaign_id)
    if campaign is None:
        raise ProblemError(404, f"No campaign {campaign_id!r}.")
    return campaign


def _summary(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "strategy_hash": c.strategy_hash,
        "creditor_name": c.creditor_name,
        "creditor_phone": c.creditor_phone,
        "creditor_email": c.creditor_email,
        "payment_link_base": c.payment_link_base,
        "status": c.status,
        "created_at": c.created_at,
        "created_by": c.created_by,
        "launch_status": c.launch_status,
        "launched": c.launched,
        "launch_error": c.launch_error,
    }


def _public(session: SessionDep, c: Campaign) -> CampaignPublic:
    progress = repo.progress(session, c.id)
    return CampaignPublic(
        **_summary(c),
        launch=LaunchProgress(
            status=c.launch_status,
            launched=c.launched,
            total=progress.total,
            not_launched=progress.not_launched,
            started_at=c.launch_started_at,
            finished_at=c.launch_finished_at,
        ),
        accounts_by_stage=progress.by_stage,
    )


def _send(temporal: TemporalGateway, campaign_id: str, command: CampaignCommand) -> None:
    """Hand the command to the campaign's workflow, starting one if none is running."""

    async def send(client: Client) -> None:
        await client.start_workflow(
            "CampaignWorkflow",
            CampaignInput(campaign_id=campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=temporal.task_queue,
            start_signal="command",
            start_signal_args=[command],
        )

    temporal.call(send)


# ---- campaigns ---------------------------------------------------------------------------------


@router.post("/campaigns", summary="Create a campaign from a published strategy", status_code=201)
def create_campaign(
    principal: Strategist,
    session: SessionDep,
    body: CampaignCreate,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """404 when the strategy hash is not published; 409 when the id is taken."""
    if strategy_repo.by_hash(session, body.strategy_hash) is None:
        raise ProblemError(404, f"No strategy version with hash {body.strategy_hash!r} is published; publish it first.")
    campaign = Campaign(
        id=body.id or f"camp-{uuid.uuid4().hex[:12]}",
        name=body.name,
        strategy_hash=body.strategy_hash,
        creditor_name=body.creditor_name,
        creditor_phone=body.creditor_phone,
        creditor_email=body.creditor_email,
        payment_link_base=body.payment_link_base,
        status="draft",
        launch_status="not_started",
        launched=0,
        created_by=principal.subject,
    )
    if not repo.create(session, campaign):
        raise ProblemError(409, f"A campaign with id {campaign.id!r} already exists.")
    response.headers["Location"] = f"/campaigns/{campaign.id}"
    return _public(session, campaign)


@router.get("/campaigns", summary="List campaigns, oldest first")
def list_campaigns(
    _: Planner,
    session: SessionDep,
    status: Annotated[Literal["draft", "running", "paused", "stopped"] | None, Query()] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> CampaignPage:
    # Campaign ids are the creditor's strings, so the cursor counts the campaigns already listed.
    offset = decode_cursor(cursor) or 0
    if not 0 <= offset < 2**31:
        raise ProblemError(400, "The cursor is not one this API issued; start again without it.")
    rows = repo.list_campaigns(session, status=status, offset=offset, limit=limit)
    items = [CampaignSummary(**_summary(c)) for c in rows]
    return page_of(CampaignPage, items, list(range(offset + 1, offset + len(rows) + 1)), limit)


@router.get("/campaigns/{campaign_id}", summary="A campaign with its launch progress")
def get_campaign(_: Planner, session: SessionDep, campaign_id: CampaignPath) -> CampaignPublic:
    return _public(session, _campaign(session, campaign_id))


# ---- accounts ----------------------------------------------------------------------------------


@router.post(
    "/campaigns/{campaign_id}/accounts",
    summary="Import accounts (CSV or JSON) with a row-level report",
    openapi_extra=IMPORT_BODY,
    responses={415: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Neither CSV nor JSON"}},
    description=account_import.__doc__,
)
def import_accounts(
    _: Strategist,
    session: SessionDep,
    campaign_id: CampaignPath,
    upload: AccountFileDep,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ImportReport:
    """Valid rows are written (new, updated or unchanged); the rest are reported by row and field.
    Idempotent by `account_id`: a launched account is reported as skipped."""
    campaign = _campaign(session, campaign_id)
    if campaign.status == "stopped":
        raise ProblemError(409, f"Campaign {campaign.id} is stopped; it takes no more accounts.")
    version = strategy_repo.by_hash(session, campaign.strategy_hash)
    if version is None:
        raise ProblemError(409, f"The campaign's strategy {campaign.strategy_hash} is not published.")
    strategy = CompiledStrategy.model_validate(version.compiled_json)
    try:
        parse = parse_csv if upload.kind == "csv" else parse_json
        parsed = parse(upload.data, strategy.currency, today=now.date())
    except FileUnreadable as exc:
        raise ProblemError(exc.status, exc.detail) from None
    rejected = [
        RejectedRow(row=p.row, external_id=p.external_id, field=p.field, detail=p.detail) for p in parsed.problems
    ]
    valid = _admitted(parsed, strategy, rejected, now)
    outcomes = repo.write_accounts(session, campaign.id, [item.record for item in valid])
    rejected.extend(
        RejectedRow(row=item.row, external_id=item.external_id, field=column, detail=detail)
        for item, outcome in zip(valid, outcomes, strict=True)
        if isinstance(outcome, repo.Refused)
        for column, detail in outcome.problems
    )
    skipped = [
        SkippedRow(row=item.row, external_id=item.external_id, detail="already launched; its workflow owns it")
        for item, outcome in zip(valid, outcomes, strict=True)
        if outcome == "skipped"
    ]
    return ImportReport(
        rows=parsed.rows,
        accepted=outcomes.count("accepted"),
        updated=outcomes.count("updated"),
        unchanged=outcomes.count("unchanged"),
        skipped=skipped,
        rejected=sorted(rejected, key=lambda r: r.row),
        ignored_columns=parsed.ignored_columns,
        total_accounts=repo.progress(session, campaign.id).total,
    )


def _admitted(
    parsed: ParsedRows, strategy: CompiledStrategy, rejected: list[RejectedRow], now: datetime
) -> list[ImportedAccount]:
    """The rows to write: each account once, and only those the strategy can start (at `now`)."""
    first: dict[str, int] = {}
    catch_all = any(segment.when is None for segment in strategy.segments)
    out: list[ImportedAccount] = []
    for item in parsed.accounts:
        if item.external_id in first:
            rejected.append(
                RejectedRow(
                    row=item.row,
                    external_id=item.external_id,
                    field="account_id",
                    detail=f"the file repeats this account (first at row {first[item.external_id]})",
                )
            )
            continue
        first[item.external_id] = item.row
        if not catch_all:
            try:
                interpreter.start(strategy, item.record.snapshot, now)
            except DomainError as exc:
                rejected.append(RejectedRow(row=item.row, external_id=item.external_id, field=None, detail=str(exc)))
                continue
        out.append(item)
    return out


# ---- commands ----------------------------------------------------------------------------------


@router.post("/campaigns/{campaign_id}/launch", summary="Start the accounts' workflows", status_code=202)
def launch_campaign(
    principal: Strategist,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    now: NowDep,
    body: Annotated[LaunchRequest | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Launch every imported account not yet launched, in batches; follow progress with GET."""
    campaign = _campaign(session, campaign_id)
    if campaign.status == "stopped":
        raise ProblemError(409, f"Campaign {campaign.id} is stopped; stopping is final.")
    if campaign.status == "paused":
        raise ProblemError(409, f"Campaign {campaign.id} is paused; resume it to continue launching.")
    progress = repo.progress(session, campaign.id)
    if progress.total == 0:
        raise ProblemError(409, f"Campaign {campaign.id} has no accounts; import some first.")
    if progress.not_launched == 0 and campaign.launch_status != "running":
        raise ProblemError(409, f"All {progress.total} accounts of campaign {campaign.id} are already launched.")
    settings = body or LaunchRequest()
    if campaign.launch_status != "running":
        repo.begin_launch(session, campaign, now)
    session.flush()
    # Signalled before the commit: if Temporal refuses, the request fails and nothing changes.
    _send(
        temporal,
        campaign.id,
        CampaignCommand(
            action="launch", by=principal.subject, batch_size=settings.batch_size, concurrency=settings.concurrency
        ),
    )
    return _public(session, campaign)


def _steer(
    session: SessionDep,
    temporal: TemporalGateway,
    campaign_id: str,
    action: Literal["pause", "resume", "stop"],
    by: str,
) -> CampaignPublic:
    campaign = _campaign(session, campaign_id)
    if campaign.status == "stopped":
        raise ProblemError(409, f"Campaign {campaign.id} is stopped; stopping is final.")
    if action == "pause" and campaign.status != "running":
        raise ProblemError(409, f"Only a running campaign can be paused; {campaign.id} is {campaign.status}.")
    if action == "resume" and campaign.status != "paused":
        raise ProblemError(409, f"Only a paused campaign can be resumed; {campaign.id} is {campaign.status}.")
    campaign.status = {"pause": "paused", "resume": "running", "stop": "stopped"}[action]
    session.flush()
    _send(temporal, campaign.id, CampaignCommand(action=action, by=by))
    return _public(session, campaign)


@router.post("/campaigns/{campaign_id}/pause", summary="Pause every account of the campaign", status_code=202)
def pause_campaign(
    principal: Planner,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """The launcher holds and each launched account's workflow is paused."""
    return _steer(session, temporal, campaign_id, "pause", principal.subject)


@router.post("/campaigns/{campaign_id}/resume", summary="Resume a paused campaign", status_code=202)
def resume_campaign(
    principal: Planner,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Each launched account resumes, and an unfinished launch continues."""
    return _steer(session, temporal, campaign_id, "resume", principal.subject)


@router.post("/campaigns/{campaign_id}/stop", summary="Stop the campaign for good", status_code=202)
def stop_campaign(
    principal: Planner,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Each launched account is closed ("campaign stopped") and no more are launched."""
    return _steer(session, temporal, campaign_id, "stop", principal.subject)


@router.post(
    "/campaigns/{campaign_id}/strategy",
    summary="Move every launched account to another strategy version",
    status_code=202,
)
def move_campaign(
    principal: Supervisor,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    body: CampaignMove,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Accounts launched from now on start on the new version; each launched account moves at its
    next safe point (the `change_strategy` update), keeping its promises, plans, counters and
    contact history. The campaign's workflow does the moving, in batches, durably; an account whose
    workflow refuses (no step of that name, say) stays where it is. 404 for an unknown version,
    409 for a stopped campaign or a version in another currency."""
    campaign = _campaign(session, campaign_id)
    if campaign.status == "stopped":
        raise ProblemError(409, f"Campaign {campaign.id} is stopped; its accounts are closed.")
    version = strategy_repo.by_hash(session, body.strategy_hash)
    if version is None:
        raise ProblemError(404, f"No strategy version with hash {body.strategy_hash} is published.")
    current = strategy_repo.by_hash(session, campaign.strategy_hash)
    new_currency = version.compiled_json.get("currency")
    if current is not None and current.compiled_json.get("currency") != new_currency:
        raise ProblemError(
            409, f"Version {body.strategy_hash[:12]} works in {new_currency}; campaign {campaign.id} does not."
        )
    campaign.strategy_hash = body.strategy_hash
    session.flush()
    command = CampaignCommand(action="move", by=principal.subject, strategy_hash=body.strategy_hash, step=body.step)
    _send(temporal, campaign.id, command)
    return _public(session, campaign)
