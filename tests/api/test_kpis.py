"""Campaign KPIs against a small campaign whose facts are written straight into the database, so
every figure can be computed by hand (the hand computation is spelled out next to each assertion).

The campaign `kpi` (CLP) has four accounts placed on 2025-01-10:

| account | variant    | placed  | due date   | Jan 31 bucket | Feb 28 bucket                        |
|---------|------------|---------|------------|---------------|--------------------------------------|
| A1      | champion   | 100,000 | 2025-01-01 | 30-59 (30 d)  | paid (100,000 on Feb 10)             |
| A2      | champion   | 200,000 | 2024-12-25 | 30-59 (37 d)  | 60-89 (65 d): +10,000 fee, -50,000   |
| A3      | challenger | 300,000 | 2025-01-20 | 1-29 (11 d)   | 30-59 (39 d); 20,000 paid Mar 10     |
| A4      | (none yet) |  50,000 | 2025-02-15 | current       | 1-29 (13 d)                          |

The window is 2025-01-01 to 2025-03-05; facts dated after it (A3's March payment, a March
outcome, a March email, a task done in March) must not count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from api_harness import Api, api_settings
from clock import async_server_clock
from sqlalchemy import select

from api.app import create_app
from db.models import (
    Account,
    AccountState,
    AgentTask,
    Campaign,
    Communication,
    Debtor,
    Fee,
    OutcomeRecord,
    Payment,
    Promise,
)
from db.repositories import kpi_counters

PROBLEM = "application/problem+json"
CAMPAIGN = "kpi"
WINDOW = {"from": "2025-01-01", "to": "2025-03-05"}
COSTS = {"email": 1, "sms": 30, "whatsapp": 20, "voice": 50, "letter": 0}


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class Campaigns:
    """Writes a campaign's facts as the workflow's activities and the API would have."""

    def __init__(self, api: Api) -> None:
        self.session = api.sessions()
        self.ids: dict[str, int] = {}
        self.seq = 0

    def campaign(self, campaign_id: str = CAMPAIGN) -> None:
        self.session.add(Campaign(id=campaign_id, name=campaign_id, strategy_hash="h" * 64, creditor_name="Acme"))
        self.session.flush()

    def account(
        self,
        name: str,
        placed: int,
        due: str,
        variant: str | None,
        *,
        campaign_id: str = CAMPAIGN,
        currency: str = "CLP",
        balance_now: int | None = None,
    ) -> int:
        debtor = Debtor(external_id=f"d-{name}", name=name, country="CL", timezone="America/Santiago", locale="es-CL")
        self.session.add(debtor)
        self.session.flush()
        workflow_id = f"debtor:{campaign_id}:{name}"
        account = Account(
            campaign_id=campaign_id,
            external_id=name,
            debtor_id=debtor.id,
            workflow_id=workflow_id,
            currency=currency,
            balance=placed if balance_now is None else balance_now,  # moves with payments; placement is the snapshot
            original_amount=placed * 2,
            due_date=date.fromisoformat(due),
            snapshot_json={"account_id": name, "balance": placed, "currency": currency},
            created_at=at("2025-01-10", 9),
        )
        self.session.add(account)
        self.session.flush()
        if variant is not None:
            self.session.add(
                AccountState(
                    account_id=account.id,
                    workflow_id=workflow_id,
                    campaign_id=campaign_id,
                    stage="contact",
                    step="llamada",
                    segment="general",
                    variant=variant,
                    strategy_hash="h" * 64,
                    balance=account.balance,
                    paid_total=0,
                    currency=currency,
                    days_past_due=30,
                    contacts=0,
                    version=1,
                )
            )
        self.ids[name] = account.id
        return account.id

    def payment(self, name: str, amount: int, day: str, allocated_to: str | None = None) -> None:
        self.seq += 1
        self.session.add(
            Payment(
                account_id=self.ids[name],
                provider="khipu",
                provider_payment_id=f"p-{self.seq}",
                amount=amount,
                currency="CLP",
                received_at=at(day),
                allocated_to=allocated_to or "balance",
            )
        )

    def fee(self, name: str, amount: int, day: str) -> None:
        self.seq += 1
        self.session.add(
            Fee(
                key=f"fee-{self.seq}",
                account_id=self.ids[name],
                amount=amount,
                requested=amount,
                currency="CLP",
                step="mora",
                applied_at=at(day),
            )
        )

    def outcome(self, name: str, agent: str, code: str, day: str) -> None:
        self.seq += 1
        self.session.add(
            OutcomeRecord(key=f"o-{self.seq}", account_id=self.ids[name], code=code, agent=agent, recorded_at=at(day))
        )

    def promise(self, name: str, agent: str, amount: int, status: str, made: str) -> str:
        self.seq += 1
        key = f"debtor:{CAMPAIGN}:{name}:promise:{self.seq}"
        self.session.add(
            Promise(
                key=key,
                account_id=self.ids[name],
                amount=amount,
                currency="CLP",
                due_date=date.fromisoformat(made),
                status=status,
                agent=agent,
                made_at=at(made),
            )
        )
        return key

    def message(self, name: str, channel: str, status: str, day: str, provider: str = "sandbox") -> None:
        self.seq += 1
        self.session.add(
            Communication(
                key=f"c-{self.seq}",
                account_id=self.ids[name],
                workflow_id=f"debtor:{CAMPAIGN}:{name}",
                seq=self.seq,
                step="paso",
                channel=channel,
                status=status,
                provider=provider,
                planned_at=at(day),
            )
        )

    def task(self, name: str, agent: str | None, status: str, done: str | None) -> None:
        self.seq += 1
        self.session.add(
            AgentTask(
                key=f"t-{self.seq}",
                account_id=self.ids[name],
                workflow_id=f"debtor:{CAMPAIGN}:{name}",
                seq=self.seq,
                step="llamada",
                queue="calls",
                attempt=1,
                allowed_outcomes=["right_party_contact"],
                status=status,
                assigned_agent=agent,
                due_at=at("2025-02-01"),
                completed_at=at(done) if done else None,
            )
        )


def build(api: Api) -> None:
    c = Campaigns(api)
    c.campaign()
    c.account("A1", 100_000, "2025-01-01", "champion")
    c.account("A2", 200_000, "2024-12-25", "champion")
    c.account("A3", 300_000, "2025-01-20", "challenger")
    c.account("A4", 50_000, "2025-02-15", None)

    kept = c.promise("A1", "ana", 100_000, "kept", "2025-02-03")
    c.promise("A1", "ana", 120_000, "cancelled", "2025-02-01")
    broken = c.promise("A2", "beto", 80_000, "broken", "2025-02-02")
    c.promise("A2", "beto", 40_000, "open", "2025-02-20")
    c.promise("A3", "ana", 10_000, "kept", "2025-03-20")  # after the window

    c.payment("A1", 100_000, "2025-02-10", f"promise:{kept}")
    c.payment("A2", 50_000, "2025-02-05", f"promise:{broken}")
    c.payment("A3", 20_000, "2025-03-10")  # after the window
    c.fee("A2", 10_000, "2025-02-01")

    for code in ("no_answer", "right_party_contact", "promise_to_pay", "promise_to_pay"):
        c.outcome("A1", "ana", code, "2025-02-01")
    for code in ("wrong_party", "promise_to_pay", "promise_to_pay"):
        c.outcome("A2", "beto", code, "2025-02-02")
    c.outcome("A3", "ana", "no_answer", "2025-02-03")
    c.outcome("A3", "ana", "refusal", "2025-02-04")
    c.outcome("A4", "beto", "no_answer", "2025-02-20")
    c.outcome("A3", "ana", "right_party_contact", "2025-03-20")  # after the window

    c.message("A1", "email", "sent", "2025-01-12")
    c.message("A1", "email", "delivered", "2025-01-15")
    c.message("A1", "sms", "sent", "2025-01-13")
    c.message("A1", "voice", "sent", "2025-02-01", provider="agent")  # agent calls: contacts, but no channel fee
    c.message("A1", "voice", "sent", "2025-02-01", provider="agent")
    c.message("A1", "email", "blocked", "2025-01-14", provider="sandbox")  # never sent
    c.message("A2", "sms", "unknown", "2025-01-12")
    c.message("A2", "sms", "failed", "2025-01-13")  # never reached the debtor
    c.message("A3", "email", "opened", "2025-01-12")
    c.message("A3", "whatsapp", "bounced", "2025-01-12")
    c.message("A3", "email", "pending", "2025-01-12")  # outcome not known yet
    c.message("A4", "email", "sent", "2025-03-10")  # after the window

    for _ in range(3):
        c.task("A1", "ana", "done", "2025-02-01")
    c.task("A3", "ana", "done", "2025-03-20")  # after the window
    c.task("A3", "ana", "claimed", None)
    c.task("A2", "beto", "done", "2025-02-02")
    c.task("A4", "beto", "done", "2025-02-20")
    # Facts written straight into the tables bypass the writers that keep the KPI counters.
    kpi_counters.rebuild(c.session, CAMPAIGN)
    c.session.commit()
    c.session.close()


def r(value: str | None, numerator: int, denominator: int) -> dict[str, Any]:
    return {"value": value, "numerator": numerator, "denominator": denominator}


@pytest.fixture
async def kpi(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """The app with known channel costs, over the campaign above."""
    build(api)
    app = create_app(
        api_settings(channel_costs=COSTS),
        sessions=api.sessions,
        client=api.env.client,
        clock=async_server_clock(api.env),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


class TestCampaignKpis:
    async def test_every_kpi_matches_the_hand_computation(self, api: Api, kpi: httpx.AsyncClient) -> None:
        answer = await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", params=WINDOW, headers=api.as_("supervisor"))
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["currency"], report["from_date"], report["to_date"]) == ("CLP", "2025-01-01", "2025-03-05")
        k = report["overall"]

        assert k["accounts"] == 4
        assert k["placed_amount"] == 650_000  # 100,000 + 200,000 + 300,000 + 50,000 (the snapshots)
        assert k["collected_amount"] == 150_000  # Feb 10 100,000 + Feb 5 50,000 (Mar 10 is outside)
        assert k["recovery_rate"] == r("0.230769", 150_000, 650_000)
        # Attempts: A1 4 + A2 3 + A3 2 + A4 1 = 10; conversations: all but 3 no_answer and 1 wrong_party = 6.
        assert (k["dial_attempts"], k["right_party_contacts"]) == (10, 6)
        assert k["right_party_contact_rate"] == r("0.6", 6, 10)
        assert k["promises"] == {"made": 4, "open": 1, "kept": 1, "broken": 1, "cancelled": 1}
        assert k["promise_rate"] == r("0.666667", 4, 6)
        assert k["promise_kept_rate"] == r("0.5", 1, 2)  # open and cancelled promises are not due
        assert k["promise_kept_amount_rate"] == r("0.555556", 100_000, 180_000)
        # Sent: A1 email 2 + sms 1 + 2 agent calls; A2 sms 1 (unknown); A3 email 1 + whatsapp 1 (bounced).
        assert k["contacts"] == 8
        assert k["contacts_per_account"] == r("2", 8, 4)

        per_day = k["collected_per_day"]
        assert per_day["days"] == [{"day": "2025-02-05", "amount": 50_000}, {"day": "2025-02-10", "amount": 100_000}]
        assert per_day["days_in_window"] == 64  # Jan 31 + Feb 28 + Mar 5
        assert per_day["average"] == r("2343.75", 150_000, 64)

        cost = k["cost"]
        assert cost["by_channel"] == [
            {"channel": "email", "messages": 3, "unit_cost": 1, "cost": 3},
            {"channel": "sms", "messages": 2, "unit_cost": 30, "cost": 60},
            {"channel": "whatsapp", "messages": 1, "unit_cost": 20, "cost": 20},
        ]
        assert cost["total"] == 83
        assert cost["per_amount_collected"] == r("0.000553", 83, 150_000)

        [period] = k["roll_rates"]
        assert (period["start"], period["end"]) == ("2025-01-31", "2025-02-28")
        rates = {(t["from_bucket"], t["to_bucket"]): (t["accounts"], t["balance"]) for t in period["transitions"]}
        assert rates == {
            ("current", "1-29"): (r("1", 1, 1), r("1", 50_000, 50_000)),  # A4
            ("current", "paid"): (r("0", 0, 1), r("0", 0, 50_000)),
            ("1-29", "30-59"): (r("1", 1, 1), r("1", 300_000, 300_000)),  # A3
            ("1-29", "paid"): (r("0", 0, 1), r("0", 0, 300_000)),
            # A1 and A2 (300,000 on Jan 31): A2 rolls with 200,000 + 10,000 - 50,000 = 160,000 on Feb 28.
            ("30-59", "60-89"): (r("0.5", 1, 2), r("0.533333", 160_000, 300_000)),
            # A1 cures: its 100,000 of Jan 31 is paid.
            ("30-59", "paid"): (r("0.5", 1, 2), r("0.333333", 100_000, 300_000)),
        }

    async def test_variants_split_the_same_facts(self, api: Api, kpi: httpx.AsyncClient) -> None:
        report = (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", params=WINDOW, headers=api.as_("strategist"))).json()
        variants = {v["variant"]: v for v in report["variants"]}
        assert list(variants) == ["challenger", "champion", None]
        champion, challenger, unknown = variants["champion"], variants["challenger"], variants[None]

        assert (champion["accounts"], champion["placed_amount"], champion["collected_amount"]) == (2, 300_000, 150_000)
        assert champion["recovery_rate"] == r("0.5", 150_000, 300_000)
        assert champion["right_party_contact_rate"] == r("0.714286", 5, 7)
        assert champion["promise_rate"] == r("0.8", 4, 5)
        assert champion["promise_kept_rate"] == r("0.5", 1, 2)
        assert champion["contacts_per_account"] == r("3", 6, 2)
        assert champion["cost"]["total"] == 2 * 1 + 2 * 30
        assert [(t["from_bucket"], t["to_bucket"]) for t in champion["roll_rates"][0]["transitions"]] == [
            ("30-59", "60-89"),
            ("30-59", "paid"),
        ]

        assert challenger["recovery_rate"] == r("0", 0, 300_000)
        assert challenger["promise_rate"] == r("0", 0, 1)
        assert challenger["promise_kept_rate"] == r(None, 0, 0)  # no promise fell due: no rate, not zero
        assert challenger["cost"]["per_amount_collected"] == r(None, 21, 0)

        assert unknown["accounts"] == 1
        assert unknown["dial_attempts"] == 1
        assert sum(v["collected_amount"] for v in report["variants"]) == report["overall"]["collected_amount"]

    async def test_the_default_window_runs_from_the_first_placement_to_today(
        self, api: Api, kpi: httpx.AsyncClient
    ) -> None:
        report = (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", headers=api.as_("supervisor"))).json()
        assert report["from_date"] == "2025-01-10"
        assert report["to_date"] == (await api.env.get_current_time()).date().isoformat()
        assert report["overall"]["collected_amount"] == 170_000  # March's 20,000 now counts
        assert report["overall"]["promises"]["made"] == 5
        # Month ends from Jan 31 to today: one period per month; by the end everyone is 90+ or paid.
        periods = report["overall"]["roll_rates"]
        assert periods[0]["start"] == "2025-01-31"
        last = {(t["from_bucket"], t["to_bucket"]) for t in periods[-1]["transitions"]}
        assert last == {("90+", "paid")}

    async def test_a_campaign_in_two_currencies_asks_which(self, api: Api, kpi: httpx.AsyncClient) -> None:
        c = Campaigns(api)
        c.account("U1", 9_999, "2025-01-05", "champion", currency="USD")
        kpi_counters.rebuild(c.session, CAMPAIGN)
        c.session.commit()
        c.session.close()
        answer = await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", params=WINDOW, headers=api.as_("supervisor"))
        assert answer.status_code == 422
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["errors"][0]["pointer"] == "/query/currency"
        usd = await kpi.get(
            f"/kpis/campaigns/{CAMPAIGN}", params={**WINDOW, "currency": "USD"}, headers=api.as_("supervisor")
        )
        assert usd.status_code == 200
        assert (usd.json()["overall"]["accounts"], usd.json()["overall"]["placed_amount"]) == (1, 9_999)
        clp = await kpi.get(
            f"/kpis/campaigns/{CAMPAIGN}", params={**WINDOW, "currency": "CLP"}, headers=api.as_("supervisor")
        )
        assert clp.json()["overall"]["accounts"] == 4

    async def test_unknown_campaign_bad_window_and_roles(self, api: Api, kpi: httpx.AsyncClient) -> None:
        assert (await kpi.get("/kpis/campaigns/nope", headers=api.as_("supervisor"))).status_code == 404
        backwards = await kpi.get(
            f"/kpis/campaigns/{CAMPAIGN}", params={"from": "2025-03-01", "to": "2025-02-01"}, headers=api.as_("admin")
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["pointer"] == "/query/from"
        far = await kpi.get(f"/kpis/campaigns/{CAMPAIGN}?to=9999-12-31", headers=api.as_("supervisor"))
        assert far.status_code == 422
        assert far.json()["errors"][0]["pointer"] == "/query/to"
        not_a_date = await kpi.get(f"/kpis/campaigns/{CAMPAIGN}?from=yesterday", headers=api.as_("supervisor"))
        assert not_a_date.status_code == 422
        assert (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", headers=api.as_("agent"))).status_code == 403
        assert (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}/agents", headers=api.as_("agent"))).status_code == 403
        assert (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}")).status_code == 401

    async def test_a_campaign_without_accounts_has_empty_kpis(self, api: Api, kpi: httpx.AsyncClient) -> None:
        c = Campaigns(api)
        c.campaign("empty")
        c.session.commit()
        c.session.close()
        report = (await kpi.get("/kpis/campaigns/empty", headers=api.as_("supervisor"))).json()
        assert report["currency"] is None
        assert report["variants"] == []
        assert report["overall"]["accounts"] == 0
        assert report["overall"]["recovery_rate"] == r(None, 0, 0)


class TestAgentKpis:
    async def test_per_agent_figures(self, api: Api, kpi: httpx.AsyncClient) -> None:
        answer = await kpi.get(f"/kpis/campaigns/{CAMPAIGN}/agents", params=WINDOW, headers=api.as_("supervisor"))
        assert answer.status_code == 200, answer.text
        agents = {a["agent"]: a for a in answer.json()["agents"]}
        assert list(agents) == ["ana", "beto"]
        assert agents["ana"] == {
            "agent": "ana",
            "tasks_done": 3,  # the March task is outside the window, the claimed one is not done
            "dial_attempts": 6,  # A1 4 + A3 2
            "right_party_contacts": 4,  # A1 3 + A3 refusal
            "right_party_contact_rate": r("0.666667", 4, 6),
            "outcomes": {"no_answer": 2, "promise_to_pay": 2, "refusal": 1, "right_party_contact": 1},
            "promises_taken": 2,  # kept + cancelled on A1
            "promises_kept": 1,
            "promises_broken": 0,
            "promise_rate": r("0.5", 2, 4),
            "promise_kept_rate": r("1", 1, 1),
            "amount_collected": 100_000,  # A1's payment, allocated to her kept promise
        }
        assert agents["beto"] == {
            "agent": "beto",
            "tasks_done": 2,
            "dial_attempts": 4,  # A2 3 + A4 1
            "right_party_contacts": 2,
            "right_party_contact_rate": r("0.5", 2, 4),
            "outcomes": {"no_answer": 1, "promise_to_pay": 2, "wrong_party": 1},
            "promises_taken": 2,  # broken + open on A2
            "promises_kept": 0,
            "promises_broken": 1,
            "promise_rate": r("1", 2, 2),
            "promise_kept_rate": r("0", 0, 1),
            "amount_collected": 50_000,  # paid towards his promise, though it was broken
        }

    async def test_a_strategys_own_codes_count_per_code_and_as_declared(self, api: Api, kpi: httpx.AsyncClient) -> None:
        """Beto records two codes a strategy declared (deceased: no conversation; third_party_paying:
        one) through the outcome's writer, which counts the right-party contact as recorded."""
        with api.sessions() as session:
            for seq, (code, spoke) in enumerate((("deceased", False), ("third_party_paying", True))):
                row = OutcomeRecord(
                    key=f"custom-{seq}",
                    account_id=session.scalars(select(Account.id).where(Account.external_id == "A4")).one(),
                    code=code,
                    right_party_contact=spoke,
                    agent="beto",
                    recorded_at=at("2025-02-21"),
                )
                session.add(row)
                session.flush()
                kpi_counters.outcome(session, row)
            session.commit()
            assert kpi_counters.stored(session, CAMPAIGN) == kpi_counters.recount(session, CAMPAIGN)

        agents = (
            await kpi.get(f"/kpis/campaigns/{CAMPAIGN}/agents", params=WINDOW, headers=api.as_("supervisor"))
        ).json()
        beto = next(a for a in agents["agents"] if a["agent"] == "beto")
        assert (beto["dial_attempts"], beto["right_party_contacts"]) == (6, 3)  # 4 + 2; 2 + third_party_paying
        assert beto["outcomes"] == {
            "deceased": 1,
            "no_answer": 1,
            "promise_to_pay": 2,
            "third_party_paying": 1,
            "wrong_party": 1,
        }
        report = (await kpi.get(f"/kpis/campaigns/{CAMPAIGN}", params=WINDOW, headers=api.as_("supervisor"))).json()
        overall = report["overall"]
        assert (overall["dial_attempts"], overall["right_party_contacts"]) == (12, 7)
        assert overall["right_party_contact_rate"] == r("0.583333", 7, 12)
        assert (overall["outcomes"]["deceased"], overall["outcomes"]["third_party_paying"]) == (1, 1)
        [unknown] = [v for v in report["variants"] if v["variant"] is None]  # A4 has not run yet
        assert unknown["outcomes"] == {"deceased": 1, "no_answer": 1, "third_party_paying": 1}
