"""The supervisors' pages: the portfolio overview of a campaign (funnel, KPI cards, amount collected
per day, champion versus challenger, roll and cure rates), the account list with the API's filters
and keyset paging, one account (facts, live workflow state, timeline, steering), the approvals
queue and the agents' leaderboard.

Each page authorizes as the matching API endpoint does (console/auth.py), calls the same services
and repositories (services/kpis.py, services/access.py, services/steering.py, db/repositories) and
renders. Steering forms post here and come back to the page they were sent from (303), with a
`done` flag the page turns into a message.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api import auth
from api.deps import NowDep, SessionDep, SettingsDep, TemporalDep
from api.pagination import decode_cursor, encode_cursor
from api.routers.agents import AccountId, TaskId
from console.amounts import minor_of
from console.auth import Planner, Steerer, Worker
from console.i18n import Formats
from console.pages.session import safe_next
from console.templating import language, render
from db.models import Campaign
from db.repositories import accounts, approvals, campaigns, tasks
from db.repositories import strategies as strategy_versions
from db.repositories import timeline as history
from domain.events import REFERENCE_MAX
from domain.money import minor_digits, to_major
from domain.types import Stage
from services import accounts_view, kpis, refunds, steering
from services.access import account_for, task_for, who_of

router = APIRouter()

PAGE = 25
# The funnel's order: not yet started, then the lifecycle, then the side and end states.
FUNNEL = ("not_launched", *(str(stage) for stage in Stage))
EPOCH = date(1970, 1, 1)
CampaignQuery = Annotated[str | None, Query(max_length=64)]
# The API's filter values (api/routers/supervisors.FilterQuery), or blank: a form sends every field.
TextQuery = Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
ReasonForm = Annotated[str, Form(max_length=500)]


def _strategy_locale(session: Session, campaign_id: str) -> str | None:
    """The locale of the campaign's strategy: its messages' language where a debtor names none."""
    campaign = campaigns.get(session, campaign_id)
    version = strategy_versions.by_hash(session, campaign.strategy_hash) if campaign is not None else None
    return str(version.compiled_json.get("locale")) if version is not None else None


def _locales(session: Session, campaign_ids: set[str]) -> dict[str, str | None]:
    """Each campaign's strategy locale, for lists whose rows name no locale of their own."""
    return {campaign_id: _strategy_locale(session, campaign_id) for campaign_id in campaign_ids}


def _campaign_formats(session: Session, lang: str, campaign: Campaign) -> Formats:
    """Money in the campaign's strategy's locale (the one its messages use), times in UTC."""
    return Formats(lang, money_locale=_strategy_locale(session, campaign.id))


def _in_declared_order(session: Session, campaign: Campaign, found: list[kpis.VariantKpis]) -> list[kpis.VariantKpis]:
    """Variants as the strategy declares them (its champion first), then any other."""
    version = strategy_versions.by_hash(session, campaign.strategy_hash)
    declared = [str(v["name"]) for v in (version.compiled_json.get("variants") or [])] if version is not None else []
    return sorted(found, key=lambda v: declared.index(v.variant) if v.variant in declared else len(declared))


def _seconds(day: date) -> int:
    return (day - EPOCH).days * 86400


def _campaign(session: Session, campaign_id: str) -> Campaign:
    found = campaigns.get(session, campaign_id)
    if found is None:
        raise kpis.CampaignNotFound(f"There is no campaign {campaign_id!r}.")
    return found


def _all_campaigns(session: Session) -> list[Campaign]:
    return campaigns.list_campaigns(session, status=None, offset=0, limit=200)[:200]


# ---- overview ------------------------------------------------------------------------------------


@router.get("/overview")
def overview(request: Request, session: SessionDep, principal: Planner) -> Response:
    """Every campaign with its accounts per stage; pick one for its KPIs."""
    rows = [(c, campaigns.progress(session, c.id)) for c in _all_campaigns(session)]
    return render(request, "supervisors/overview.html", {"campaigns": rows}, current="overview")


@router.get("/overview/{campaign_id}")
def campaign_overview(
    request: Request,
    campaign_id: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: Planner,
    now: NowDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> Response:
    campaign = _campaign(session, campaign_id)
    report = kpis.campaign_kpis(
        session, campaign_id, start=from_, end=to, currency=currency, now=now, channel_costs=settings.channel_costs
    )
    progress = campaigns.progress(session, campaign_id)
    stages = [("not_launched", progress.not_launched)] + [(s, progress.by_stage.get(s, 0)) for s in FUNNEL[1:]]
    formats = _campaign_formats(session, language(request), campaign)
    per_day = report.overall.collected_per_day.days
    # uPlot's x axis is Unix seconds; amounts stay integer minor units (the script scales them).
    chart = {
        "days": [_seconds(d.day) for d in per_day],
        "amounts": [d.amount for d in per_day],
        "start": _seconds(report.from_date),
        "end": _seconds(report.to_date),
        "currency": report.currency,
        "digits": minor_digits(report.currency) if report.currency else 0,
        "locale": formats.money_locale.replace("_", "-"),
    }
    context: dict[str, Any] = {
        "campaign": campaign,
        "report": report,
        "variants": _in_declared_order(session, campaign, report.variants),
        "funnel": stages,
        "funnel_total": max([progress.total, 1]),
        "chart": chart,
        "periods": report.overall.roll_rates[-3:],
        "window": {"from": from_, "to": to},
    }
    return render(request, "supervisors/campaign.html", context, current="overview", formats=formats)


# ---- accounts ------------------------------------------------------------------------------------


@router.get("/accounts")
def account_list(
    request: Request,
    session: SessionDep,
    principal: Worker,
    now: NowDep,
    campaign_id: TextQuery = "",
    stage: Annotated[str, Query(pattern=f"^({'|'.join(Stage)})?$")] = "",
    segment: TextQuery = "",
    variant: TextQuery = "",
    agent: TextQuery = "",
    dpd_bucket: Annotated[str, Query(pattern=f"^({'|'.join(re.escape(b) for b in accounts.DPD_BUCKETS)})?$")] = "",
    overpaid: Annotated[str, Query(pattern="^(1)?$")] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The API's account list (GET /accounts): the same filters, the same keyset pages. A filter
    left blank in the form is no filter."""
    filters = accounts.AccountFilters(
        campaign_id=campaign_id or None,
        stage=stage or None,
        segment=segment or None,
        variant=variant or None,
        agent=agent or None,
        dpd_bucket=dpd_bucket or None,
        overpaid=overpaid == "1",
    )
    rows = accounts.listing(
        session,
        filters,
        today=accounts_view.debtors_today(now),
        who=who_of(principal),
        after=decode_cursor(cursor),
        limit=PAGE,
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    next_query = {**query, "cursor": encode_cursor(rows[-1][0].id)} if more else None
    fallback = _locales(session, {a.campaign_id for a, _ in rows})
    context = {
        "rows": [
            (a, r, accounts_view.days_past_due(a, r, now), a.snapshot_json.get("locale") or fallback[a.campaign_id])
            for a, r in rows
        ],
        "filters": filters,
        "query": query,
        "next_query": next_query,
        "stages": [str(s) for s in Stage],
        "buckets": list(accounts.DPD_BUCKETS),
        "campaigns": _all_campaigns(session) if not principal.is_agent else [],
    }
    return render(request, "supervisors/accounts.html", context, current="accounts")


def _account_context(
    request: Request, session: Session, temporal: TemporalDep, principal: auth.Principal, account_id: int
) -> tuple[dict[str, Any], Formats]:
    """What the account page and its live panel show, and how: money in the account's (debtor's)
    locale, times in the debtor's zone."""
    account = account_for(session, principal, account_id)
    live, live_status = temporal.live_state(account.workflow_id, launched=account.launched_at is not None)
    session.rollback()  # read the facts as of after the query, not as of before it
    account = account_for(session, principal, account_id)
    debtor = accounts.debtor(session, account.debtor_id)
    row = accounts.state(session, account.id)
    context = {
        "account": account,
        "row": row,
        "debtor": debtor,
        "live": refunds.with_refunds(live, row),
        "live_status": live_status,
        "can_steer": auth.admits(principal, auth.STEERERS),
    }
    locale = accounts.money_locale(session, account)
    return context, Formats(language(request), money_locale=locale, zone_name=debtor.timezone)


@router.get("/accounts/{account_id}")
def account_page(
    request: Request,
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Worker,
    now: NowDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    context, formats = _account_context(request, session, temporal, principal, account_id)
    account = context["account"]
    context.update(
        {
            "days_past_due": accounts_view.days_past_due(account, context["row"], now),
            "timeline": history.timeline(session, account.id),
            "tasks": tasks.active_for_account(session, account.id),
            "versions": _versions_for(session, account.currency) if context["can_steer"] else [],
            "amount_step": str(to_major(1, account.currency)),
            "refund_max": to_major(context["row"].overpaid, account.currency) if context["row"] else 0,
            "reference_max": REFERENCE_MAX,
            "done": done,
        }
    )
    return render(request, "supervisors/account.html", context, current="accounts", formats=formats)


@router.get("/accounts/{account_id}/live")
def account_live(
    request: Request, account_id: AccountId, session: SessionDep, temporal: TemporalDep, principal: Worker
) -> Response:
    """The live-state panel alone: the account page refreshes it with HTMX."""
    context, formats = _account_context(request, session, temporal, principal, account_id)
    return render(request, "partials/live_state.html", context, formats=formats)


def _versions_for(session: Session, currency: str) -> list[Any]:
    """Published versions an account in `currency` may move to, newest first."""
    found = strategy_versions.list_versions(session, strategy_id=None, after=None, limit=200)
    return [v for v in reversed(found) if v.compiled_json.get("currency") == currency]


def _back_to_account(account_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/accounts/{account_id}?done={done}", status_code=303)


@router.post("/accounts/{account_id}/pause")
def pause(
    account_id: AccountId, session: SessionDep, temporal: TemporalDep, principal: Steerer, reason: ReasonForm = ""
) -> Response:
    account = account_for(session, principal, account_id)
    steering.pause(session, temporal, account, principal.subject, reason.strip())
    return _back_to_account(account_id, "paused")


@router.post("/accounts/{account_id}/resume")
def resume(
    account_id: AccountId, session: SessionDep, temporal: TemporalDep, principal: Steerer, reason: ReasonForm = ""
) -> Response:
    account = account_for(session, principal, account_id)
    steering.resume(session, temporal, account, principal.subject, reason.strip())
    return _back_to_account(account_id, "resumed")


@router.post("/accounts/{account_id}/close")
def close(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    account = account_for(session, principal, account_id)
    steering.close(session, temporal, account, principal.subject, reason.strip())
    return _back_to_account(account_id, "closed")


@router.post("/accounts/{account_id}/refund")
def record_refund(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    now: NowDep,
    amount: Annotated[str, Form(max_length=40)],
    reference: Annotated[str, Form(min_length=1, max_length=REFERENCE_MAX, pattern=r"^[^\x00-\x1f]+$")],
    kind: Annotated[Literal["refund", "credit"], Form()] = "refund",
) -> Response:
    """A refund or credit of the account's overpayment, its amount typed in major units."""
    account = account_for(session, principal, account_id)
    minor = minor_of(amount, account.currency, "/body/amount")
    refunds.record_refund(
        session,
        temporal,
        account,
        principal.subject,
        amount=minor,
        currency=account.currency,
        method=kind,
        reference=reference.strip(),
        now=now,
    )
    return _back_to_account(account_id, "refunded")


@router.post("/accounts/{account_id}/strategy")
def move_strategy(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    strategy_hash: Annotated[str, Form(pattern=r"^[0-9a-f]{64}$")],
    step: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    account = account_for(session, principal, account_id)
    steering.move_strategy(
        session, temporal, account, principal.subject, strategy_hash=strategy_hash, step=step.strip() or None
    )
    return _back_to_account(account_id, "moved")


@router.post("/accounts/{account_id}/approval")
def decide_approval(
    account_id: AccountId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    approved: Annotated[bool, Form()],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    account = account_for(session, principal, account_id)
    steering.decide_approval(session, temporal, account, principal.subject, approved=approved)
    done = "approved" if approved else "rejected"
    target = safe_next(back)
    if target is not None:
        return RedirectResponse(f"{target}{'&' if '?' in target else '?'}done={done}", status_code=303)
    return _back_to_account(account_id, done)


@router.post("/tasks/{task_id}/reassign")
def reassign(
    task_id: TaskId,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    agent: Annotated[str, Form(max_length=200)] = "",
    queue: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Blank agent: release the task to its queue; blank queue: keep it."""
    row = task_for(session, principal, task_id)
    account_id = row.task.account_id
    given = {"agent"} | ({"queue"} if queue.strip() else set())
    steering.reassign(
        session, temporal, row, principal.subject, agent=agent.strip() or None, queue=queue.strip() or None, given=given
    )
    return _back_to_account(account_id, "reassigned")


# ---- approvals and agents ------------------------------------------------------------------------


@router.get("/approvals")
def approval_queue(
    request: Request,
    session: SessionDep,
    principal: Steerer,
    campaign_id: CampaignQuery = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    rows = approvals.listing(
        session, status="pending", campaign_id=campaign_id or None, after=decode_cursor(cursor), limit=PAGE
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    query = {"campaign_id": campaign_id} if campaign_id else {}
    fallback = _locales(session, {r.campaign_id for r in rows})
    context = {
        "rows": [(r, r.debtor_locale or fallback[r.campaign_id]) for r in rows],
        "campaign_id": campaign_id or "",
        "campaigns": _all_campaigns(session),
        "query": query,
        "next_query": {**query, "cursor": encode_cursor(rows[-1].approval.id)} if more else None,
        "done": done,
    }
    return render(request, "supervisors/approvals.html", context, current="approvals")


@router.get("/leaderboard")
def leaderboard(
    request: Request, session: SessionDep, principal: Planner, now: NowDep, campaign_id: CampaignQuery = None
) -> Response:
    """Agents of one campaign ranked by amount collected on their promises, then promises kept."""
    every = _all_campaigns(session)
    chosen = campaign_id or (every[-1].id if every else None)
    report, formats = None, None
    if chosen is not None:
        campaign = _campaign(session, chosen)
        report = kpis.campaign_agent_kpis(session, chosen, start=None, end=None, currency=None, now=now)
        formats = _campaign_formats(session, language(request), campaign)
    ranked = sorted(report.agents, key=lambda a: (-a.amount_collected, -a.promises_kept, a.agent)) if report else []
    context = {"campaigns": every, "chosen": chosen, "report": report, "ranked": ranked}
    return render(request, "supervisors/leaderboard.html", context, current="leaderboard", formats=formats)
