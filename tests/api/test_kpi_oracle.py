"""The KPI endpoints answer exactly what the implementation they replaced answered.

The expected values are computed, in the test, by the old implementation itself
(tests/api/kpi_oracle.py, a frozen copy of it) over the same rows: a varied campaign from
tests/kpi_dataset.py asked for many windows and both currencies, and random small campaigns
from Hypothesis. Every body must be equal as JSON, field for field, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from api_harness import api_settings
from clock import TEST_NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_dataset import WINDOWS, day, edge_windows, write_campaign
from kpi_oracle import Refused, agent_report, campaign_report
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_key
from db.models import Campaign
from db.repositories import kpi_counters

COSTS = {"email": 1, "sms": 30, "whatsapp": 20, "voice": 50, "letter": 0}


async def fixed_clock() -> datetime:
    return TEST_NOW


class Kpis:
    """The app (without Temporal: the KPIs never call it) and a supervisor's key."""

    def __init__(self, http: httpx.AsyncClient, sessions: sessionmaker[Session], key: str) -> None:
        self.http, self.sessions, self.headers = http, sessions, {"X-API-Key": key}

    async def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        response = await self.http.get(path, params=params, headers=self.headers)
        body = response.json()
        if response.status_code != 200:
            return response.status_code, (body.get("errors") or [{}])[0].get("pointer")
        return 200, body

    def expected(self, report: Callable[..., dict[str, Any]], campaign_id: str, params: dict[str, str]) -> Any:
        extra = {"channel_costs": COSTS} if report is campaign_report else {}
        with self.sessions() as session:
            try:
                return 200, report(
                    session,
                    campaign_id,
                    now=TEST_NOW,
                    from_=day(params.get("from")),
                    to=day(params.get("to")),
                    currency=params.get("currency"),
                    **extra,
                )
            except Refused as refused:
                return refused.status, refused.pointer

    async def assert_same(self, campaign_id: str, params: dict[str, str]) -> None:
        for path, report in (
            (f"/kpis/campaigns/{campaign_id}", campaign_report),
            (f"/kpis/campaigns/{campaign_id}/agents", agent_report),
        ):
            got = await self.answer(path, params)
            assert got == self.expected(report, campaign_id, params), f"{path} {params}"


@pytest.fixture
async def kpis(sessions: sessionmaker[Session]) -> AsyncIterator[Kpis]:
    with sessions() as session:
        key = issue_key(session, "marta", "supervisor").key
        session.commit()
    app = create_app(api_settings(channel_costs=COSTS), sessions=sessions, clock=fixed_clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield Kpis(http, sessions, key)


def write(sessions: sessionmaker[Session], campaign_id: str, seed: int, accounts: dict[str, int]) -> None:
    """Write a campaign's facts straight into the tables; they bypass the writers that keep the KPI
    counters, so the counters are recounted from them (tests/db/test_kpi_counters.py holds the
    writers to the same recount)."""
    with sessions() as session:
        write_campaign(session, campaign_id, seed=seed, accounts=accounts)
        kpi_counters.rebuild(session, campaign_id)
        session.commit()


class TestSameAnswersAsTheOldImplementation:
    async def test_a_varied_campaign_in_every_window_and_currency(
        self, kpis: Kpis, sessions: sessionmaker[Session]
    ) -> None:
        write(sessions, "mix", seed=20250101, accounts={"CLP": 40, "USD": 8})
        write(sessions, "other", seed=7, accounts={"CLP": 10})
        with sessions() as session:
            session.add(Campaign(id="empty", name="empty", strategy_hash="h" * 64, creditor_name="Acme"))
            session.commit()
        with sessions() as session:
            edges = edge_windows(session, "mix")
        for window, currency in itertools.product([*WINDOWS, *edges], ("CLP", "USD")):
            await kpis.assert_same("mix", {**window, "currency": currency})
        for window in WINDOWS:
            await kpis.assert_same("other", window)
            await kpis.assert_same("empty", window)

    async def test_refusals_are_the_same(self, kpis: Kpis, sessions: sessionmaker[Session]) -> None:
        write(sessions, "mix", seed=3, accounts={"CLP": 3, "USD": 2})
        for campaign_id, params in (
            ("mix", {}),  # two currencies: which one?
            ("nope", {}),
            ("mix", {"currency": "CLP", "from": "2025-03-01", "to": "2025-02-01"}),
            ("mix", {"currency": "CLP", "to": "2025-01-01", "from": "2025-01-02"}),
            ("mix", {"currency": "CLP", "from": "1969-12-31"}),
            ("mix", {"currency": "EUR"}),
        ):
            await kpis.assert_same(campaign_id, params)


WINDOW_DAYS = st.dates(min_value=date(2024, 12, 1), max_value=date(2026, 3, 1))


@st.composite
def windows(draw: st.DrawFn) -> dict[str, str]:
    bounds = sorted([draw(WINDOW_DAYS), draw(WINDOW_DAYS)])
    window = {}
    if draw(st.booleans()):
        window["from"] = bounds[0].isoformat()
    if draw(st.booleans()):
        window["to"] = bounds[1].isoformat()
    return window


class TestRandomCampaigns:
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 2**32), size=st.integers(1, 12), window=windows())
    async def test_random_campaigns_and_windows(
        self, kpis: Kpis, sessions: sessionmaker[Session], seed: int, size: int, window: dict[str, str]
    ) -> None:
        campaign_id = f"r{seed}-{size}"
        with sessions() as session:
            fresh = session.get(Campaign, campaign_id) is None
        if fresh:
            write(sessions, campaign_id, seed=seed, accounts={"CLP": size})
        await kpis.assert_same(campaign_id, window)
