"""Campaign endpoints: create a campaign from a published strategy, import its accounts (CSV or
JSON, with a row-level report), launch them, and pause, resume or stop the whole campaign. The
rules (what each command needs, how the campaign's workflow carries it out) are in
services/campaigns.py, which the console calls too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from api import account_import
from api.deps import (
    IdempotencyKeyHeader,
    NowDep,
    Planner,
    SecretsDep,
    SessionDep,
    SettingsDep,
    Strategist,
    Supervisor,
    TemporalDep,
)
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
    NotifyPublic,
    NotifySettings,
)
from db.models import Campaign
from db.repositories import campaigns as repo
from services import campaign_notify
from services import campaigns as service

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
    campaign = service.create(session, principal.subject, body)
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
    return _public(session, service.get(session, campaign_id))


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
    report = service.import_accounts(session, campaign_id, upload.kind, upload.data, now)
    return ImportReport.model_validate(asdict(report))


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
    settings = body or LaunchRequest()
    campaign = service.launch(
        session,
        temporal,
        campaign_id,
        principal.subject,
        now,
        batch_size=settings.batch_size,
        concurrency=settings.concurrency,
    )
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
    return _public(session, service.command(session, temporal, campaign_id, "pause", principal.subject))


@router.post("/campaigns/{campaign_id}/resume", summary="Resume a paused campaign", status_code=202)
def resume_campaign(
    principal: Planner,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Each launched account resumes, and an unfinished launch continues."""
    return _public(session, service.command(session, temporal, campaign_id, "resume", principal.subject))


@router.post("/campaigns/{campaign_id}/stop", summary="Stop the campaign for good", status_code=202)
def stop_campaign(
    principal: Planner,
    session: SessionDep,
    temporal: TemporalDep,
    campaign_id: CampaignPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CampaignPublic:
    """Each launched account is closed ("campaign stopped") and no more are launched."""
    return _public(session, service.command(session, temporal, campaign_id, "stop", principal.subject))


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
    campaign = service.move(
        session, temporal, campaign_id, principal.subject, strategy_hash=body.strategy_hash, step=body.step
    )
    return _public(session, campaign)


# ---- the creditor's webhook (`notify`) -----------------------------------------------------------


@router.get("/campaigns/{campaign_id}/notify", summary="Where the campaign's notify webhooks go")
def get_notify(_: Planner, session: SessionDep, campaign_id: CampaignPath) -> NotifyPublic:
    """The URL and whether a signing secret exists (the secret itself is never shown again)."""
    return NotifyPublic(**asdict(campaign_notify.config_of(service.get(session, campaign_id))))


@router.put("/campaigns/{campaign_id}/notify", summary="Set where the campaign's notify webhooks go")
def set_notify(
    _: Strategist,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: CampaignPath,
    body: NotifySettings,
    now: NowDep,
    secrets: SecretsDep,
) -> NotifyPublic:
    """The first URL comes with a new signing secret, in this answer only; later URLs keep it.
    422 for a URL that is not http(s), carries credentials, or names a loopback or private address
    (unless `COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES`)."""
    campaign = service.get(session, campaign_id)
    config = campaign_notify.set_url(
        campaign, body.url, now, allow_private=settings.notify_allow_private_addresses, secrets=secrets
    )
    return NotifyPublic(**asdict(config))


@router.post("/campaigns/{campaign_id}/notify/secret", summary="Rotate the campaign's webhook signing secret")
def rotate_notify_secret(
    _: Strategist,
    session: SessionDep,
    campaign_id: CampaignPath,
    now: NowDep,
    secrets: SecretsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NotifyPublic:
    """A new secret, in this answer only: webhooks are signed with it from now on (a retry of a
    webhook sent before is signed with the new one too)."""
    config = campaign_notify.rotate_secret(service.get(session, campaign_id), now, secrets)
    return NotifyPublic(**asdict(config))
