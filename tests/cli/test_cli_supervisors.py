"""`collect kpis` and `collect approvals list | approve | reject` against the live API."""

from __future__ import annotations

import json

import pytest
from cli_stack import LEGAL_BALANCE, Campaign, Collect, Desk, Stack, suite_day


@pytest.fixture
def campaign(stack: Stack) -> Campaign:
    return stack.campaign([150_000, LEGAL_BALANCE, LEGAL_BALANCE + 1])


class TestKpis:
    def test_tables_per_variant_and_per_agent_with_counts(
        self, collect: Collect, stack: Stack, campaign: Campaign
    ) -> None:
        agent = stack.key(stack.unique("agent"), "agent", [campaign.queue])
        task = stack.task_of(campaign.accounts[f"{campaign.id}-1"])
        promised = collect(
            "tasks", "outcome", str(task["id"]), "promise_to_pay", "--promise", f"50000@{suite_day(3)}", as_=agent
        )
        assert promised.exit_code == 0, promised.output
        result = collect("kpis", campaign.id, "--to", suite_day(1).isoformat(), as_="supervisor")
        assert result.exit_code == 0, result.output
        assert "KPIs per variant" in result.stdout
        assert "CLP 12,150,001" in result.stdout  # placed
        assert "100.00% (1 / 1)" in result.stdout  # right-party contacts and promises: one call, one promise
        assert "0.00% (0 / 12,150,001)" in result.stdout  # nothing collected yet
        assert "KPIs per agent" in result.stdout
        assert "agent_" in result.stdout
        both = json.loads(collect("kpis", campaign.id, "--json", as_="strategist").stdout)
        assert both["campaign"]["overall"]["accounts"] == 3
        assert [a["promises_taken"] for a in both["agents"]["agents"]] == [1]

    def test_an_unknown_campaign_and_a_bad_window(self, collect: Collect) -> None:
        unknown = collect("kpis", "no-such-campaign", as_="supervisor")
        assert unknown.exit_code == 1
        assert "404 Not found" in unknown.stderr
        bad = collect("kpis", "no-such-campaign", "--from", "someday", as_="supervisor")
        assert bad.exit_code == 1
        assert "/query/from:" in bad.stderr


class TestApprovals:
    def test_list_approve_and_reject(self, collect: Collect, campaign: Campaign) -> None:
        listed = collect("approvals", "list", "--campaign", campaign.id, as_="supervisor")
        assert listed.exit_code == 0, listed.output
        assert "legal: judicial" in listed.stdout
        assert "CLP 6,000,000" in listed.stdout
        waiting = json.loads(collect("approvals", "list", "--campaign", campaign.id, "--json", as_="supervisor").stdout)
        first, second = (a["account_id"] for a in waiting["items"])
        approved = collect("approvals", "approve", str(first), as_="supervisor")
        assert approved.exit_code == 0, approved.output
        assert f"account {first}: approved" in approved.stdout
        rejected = json.loads(collect("approvals", "reject", str(second), "--json", as_="supervisor").stdout)
        assert (rejected["step"], rejected["resolution"]) == ("recordatorio", None)
        decided = collect("approvals", "list", "--campaign", campaign.id, "--status", "all", "--json", as_="supervisor")
        assert sorted(a["status"] for a in json.loads(decided.stdout)["items"]) == ["approved", "rejected"]
        assert (
            "marta"
            in collect("approvals", "list", "--campaign", campaign.id, "--status", "rejected", as_="supervisor").stdout
        )

    def test_nothing_waits_and_a_bad_status(self, collect: Collect, shared: Desk) -> None:
        calling = str(shared.account(1))
        nothing = collect("approvals", "approve", calling, as_="supervisor")
        assert nothing.exit_code == 1
        assert "409 Conflict" in nothing.stderr
        assert "nothing waits for approval" in nothing.stderr
        bad = collect("approvals", "list", "--status", "maybe", as_="supervisor")
        assert bad.exit_code == 1
        assert "/query/status:" in bad.stderr
