"""Campaign KPIs for supervisors and strategists, overall, per champion/challenger variant and per
agent: the endpoints parse the query, authorize, and render what services/kpis.py (the formulas of
commercial-and-compliance.md §1.4, and where the figures come from) computes; its refusals (no
such campaign, an unclear window or currency) become problems in api/errors.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import NowDep, Planner, SessionDep, SettingsDep
from api.schemas.dates import Day
from api.schemas.kpis import CampaignAgentKpis, CampaignKpis
from services import kpis as service

router = APIRouter(prefix="/kpis", tags=["kpis"])

CampaignPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]*$", description="The campaign's id.")
]
FromQuery = Annotated[
    Day | None, Query(alias="from", description="First day of the window (UTC), default: the first placement.")
]
ToQuery = Annotated[Day | None, Query(description="Last day of the window (UTC), inclusive; default: today.")]
CurrencyQuery = Annotated[
    str | None,
    Query(pattern=r"^[A-Z]{3}$", description="Which currency to report; needed only when the campaign mixes them."),
]


@router.get("/campaigns/{campaign_id}", summary="A campaign's KPIs, overall and per variant")
def campaign_kpis(
    campaign_id: CampaignPath,
    session: SessionDep,
    settings: SettingsDep,
    who: Planner,
    now: NowDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    currency: CurrencyQuery = None,
) -> CampaignKpis:
    """Recovery rate, promise rate, promise-kept rate, right-party-contact rate, contacts per
    account, roll rates between past-due buckets, amount collected per day and cost per amount
    collected (commercial-and-compliance.md §1.4), for the campaign and for each
    champion/challenger variant. Every rate shows its numerator and denominator."""
    report = service.campaign_kpis(
        session, campaign_id, start=from_, end=to, currency=currency, now=now, channel_costs=settings.channel_costs
    )
    return CampaignKpis.model_validate(report, from_attributes=True)


@router.get("/campaigns/{campaign_id}/agents", summary="Per-agent figures of a campaign")
def campaign_agent_kpis(
    campaign_id: CampaignPath,
    session: SessionDep,
    who: Planner,
    now: NowDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    currency: CurrencyQuery = None,
) -> CampaignAgentKpis:
    """For each agent who worked the campaign in the window: tasks done, dial attempts,
    right-party contacts, promises taken, kept and broken, and the amount collected on their
    promises (§1.4 agent KPIs)."""
    report = service.campaign_agent_kpis(session, campaign_id, start=from_, end=to, currency=currency, now=now)
    return CampaignAgentKpis.model_validate(report, from_attributes=True)
