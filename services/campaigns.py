"""Campaigns, for every door (API, console): create one from a published strategy, import its
accounts (a row-level report), launch them, pause, resume or stop the whole campaign, and move it
to another published version.

Launching and the pause/resume/stop/move fan-outs are carried out by the campaign's own workflow
(`workflows/campaign.py`), reached with signal-with-start: the command is durable once the request
answers, and runs in order with the campaign's other commands. The campaign's status changes in
the database in the same request, so reads and later commands see it at once.

Command rules: launch needs imported accounts not yet launched, and a campaign that is neither
paused nor stopped; launching again after another import launches only the new accounts. Pause
needs a running campaign, resume a paused one; stop is final (a Conflict for anything after it, a
second stop included).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session
from temporalio.client import Client

from api.account_import import FileUnreadable, ImportedAccount, ParsedRows, parse_csv, parse_json
from api.schemas.campaigns import CampaignCreate
from api.temporal import TemporalGateway
from db.models import Campaign
from db.repositories import campaigns as repo
from db.repositories import strategies as strategy_repo
from domain import interpreter
from domain.errors import DomainError
from domain.strategy import CompiledStrategy
from services import campaign_notify
from services.errors import Conflict, NotFound, ServiceError
from workflows.contracts import CampaignCommand, CampaignInput, campaign_workflow_id

Command = Literal["pause", "resume", "stop"]


class Unreadable(ServiceError):
    """The accounts file as a whole cannot be read (no header, not JSON, wrong encoding)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class Rejected:
    row: int  # 1 for the first account (a CSV header is not counted)
    external_id: str | None
    field: str | None  # the column at fault; None for the row as a whole
    detail: str


@dataclass(frozen=True)
class Skipped:
    row: int
    external_id: str
    detail: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    accepted: int
    updated: int
    unchanged: int
    skipped: list[Skipped]
    rejected: list[Rejected]
    ignored_columns: list[str]
    total_accounts: int


def get(session: Session, campaign_id: str) -> Campaign:
    """The campaign; NotFound otherwise."""
    campaign = repo.get(session, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id!r}.")
    return campaign


def create(session: Session, by: str, body: CampaignCreate) -> Campaign:
    """A draft campaign of a published version, as the API's body describes it (checked by its
    schema); NotFound for an unpublished hash, Conflict when the id is taken. With no id, one is
    made up."""
    if strategy_repo.by_hash(session, body.strategy_hash) is None:
        raise NotFound(f"No strategy version with hash {body.strategy_hash!r} is published; publish it first.")
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
        created_by=by,
    )
    if not repo.create(session, campaign):
        raise Conflict(f"A campaign with id {campaign.id!r} already exists.")
    return campaign


def import_accounts(
    session: Session, campaign_id: str, kind: Literal["csv", "json"], data: bytes, now: datetime
) -> ImportReport:
    """Write the file's valid rows (new, updated or unchanged) and report the rest by row and
    field. Idempotent by account id: a launched account is reported as skipped."""
    campaign = get(session, campaign_id)
    if campaign.status == "stopped":
        raise Conflict(f"Campaign {campaign.id} is stopped; it takes no more accounts.")
    version = strategy_repo.by_hash(session, campaign.strategy_hash)
    if version is None:
        raise Conflict(f"The campaign's strategy {campaign.strategy_hash} is not published.")
    strategy = CompiledStrategy.model_validate(version.compiled_json)
    try:
        parse = parse_csv if kind == "csv" else parse_json
        parsed = parse(data, strategy.currency, today=now.date())
    except FileUnreadable as exc:
        raise Unreadable(exc.status, exc.detail) from None
    rejected = [Rejected(p.row, p.external_id, p.field, p.detail) for p in parsed.problems]
    valid = _admitted(parsed, strategy, rejected, now)
    outcomes = repo.write_accounts(session, campaign.id, [item.record for item in valid])
    rejected.extend(
        Rejected(item.row, item.external_id, column, detail)
        for item, outcome in zip(valid, outcomes, strict=True)
        if isinstance(outcome, repo.Refused)
        for column, detail in outcome.problems
    )
    skipped = [
        Skipped(item.row, item.external_id, "already launched; its workflow owns it")
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
    parsed: ParsedRows, strategy: CompiledStrategy, rejected: list[Rejected], now: datetime
) -> list[ImportedAccount]:
    """The rows to write: each account once, and only those the strategy can start (at `now`)."""
    first: dict[str, int] = {}
    catch_all = any(segment.when is None for segment in strategy.segments)
    out: list[ImportedAccount] = []
    for item in parsed.accounts:
        if item.external_id in first:
            detail = f"the file repeats this account (first at row {first[item.external_id]})"
            rejected.append(Rejected(item.row, item.external_id, "account_id", detail))
            continue
        first[item.external_id] = item.row
        if not catch_all:
            try:
                interpreter.start(strategy, item.record.snapshot, now)
            except DomainError as exc:
                rejected.append(Rejected(item.row, item.external_id, None, str(exc)))
                continue
        out.append(item)
    return out


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


def launch(
    session: Session,
    temporal: TemporalGateway,
    campaign_id: str,
    by: str,
    now: datetime,
    *,
    batch_size: int,
    concurrency: int,
) -> Campaign:
    """Launch every imported account not yet launched, in batches (follow `launched` / total)."""
    campaign = get(session, campaign_id)
    if campaign.status == "stopped":
        raise Conflict(f"Campaign {campaign.id} is stopped; stopping is final.")
    if campaign.status == "paused":
        raise Conflict(f"Campaign {campaign.id} is paused; resume it to continue launching.")
    progress = repo.progress(session, campaign.id)
    if progress.total == 0:
        raise Conflict(f"Campaign {campaign.id} has no accounts; import some first.")
    if progress.not_launched == 0 and campaign.launch_status != "running":
        raise Conflict(f"All {progress.total} accounts of campaign {campaign.id} are already launched.")
    version = strategy_repo.by_hash(session, campaign.strategy_hash)
    if version is not None:
        campaign_notify.require_url(campaign, version.compiled_json, "launch")
    if campaign.launch_status != "running":
        repo.begin_launch(session, campaign, now)
    session.flush()
    # Signalled before the commit: if Temporal refuses, the request fails and nothing changes.
    command = CampaignCommand(action="launch", by=by, batch_size=batch_size, concurrency=concurrency)
    _send(temporal, campaign.id, command)
    return campaign


def command(session: Session, temporal: TemporalGateway, campaign_id: str, action: Command, by: str) -> Campaign:
    """Pause, resume or stop every account of the campaign (and its launch)."""
    campaign = get(session, campaign_id)
    if campaign.status == "stopped":
        raise Conflict(f"Campaign {campaign.id} is stopped; stopping is final.")
    if action == "pause" and campaign.status != "running":
        raise Conflict(f"Only a running campaign can be paused; {campaign.id} is {campaign.status}.")
    if action == "resume" and campaign.status != "paused":
        raise Conflict(f"Only a paused campaign can be resumed; {campaign.id} is {campaign.status}.")
    campaign.status = {"pause": "paused", "resume": "running", "stop": "stopped"}[action]
    session.flush()
    _send(temporal, campaign.id, CampaignCommand(action=action, by=by))
    return campaign


def move(
    session: Session, temporal: TemporalGateway, campaign_id: str, by: str, *, strategy_hash: str, step: str | None
) -> Campaign:
    """Accounts launched from now on start on the version; each launched account moves at its next
    safe point. NotFound for an unknown version, Conflict for a stopped campaign or a version in
    another currency."""
    campaign = get(session, campaign_id)
    if campaign.status == "stopped":
        raise Conflict(f"Campaign {campaign.id} is stopped; its accounts are closed.")
    version = strategy_repo.by_hash(session, strategy_hash)
    if version is None:
        raise NotFound(f"No strategy version with hash {strategy_hash} is published.")
    current = strategy_repo.by_hash(session, campaign.strategy_hash)
    new_currency = version.compiled_json.get("currency")
    if current is not None and current.compiled_json.get("currency") != new_currency:
        raise Conflict(f"Version {strategy_hash[:12]} works in {new_currency}; campaign {campaign.id} does not.")
    campaign_notify.require_url(campaign, version.compiled_json, "move to that version")
    campaign.strategy_hash = strategy_hash
    session.flush()
    _send(temporal, campaign.id, CampaignCommand(action="move", by=by, strategy_hash=strategy_hash, step=step))
    return campaign
