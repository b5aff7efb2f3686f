"""`collect accounts list` and `collect account show | pause | resume | close` against the live
API: filters, keyset paging with the next page's command, one account in full, steering."""

from __future__ import annotations

import json

from cli_stack import Collect, Desk, Stack, eventually


class TestList:
    def test_filters_and_paging(self, collect: Collect, shared: Desk) -> None:
        campaign = shared.campaign
        first = collect(
            "accounts", "list", "--campaign", campaign.id, "--stage", "contact", "--limit", "1", as_="supervisor"
        )
        assert first.exit_code == 0, first.output
        assert f"{campaign.id}-1" in first.stdout
        assert "CLP 150,000" in first.stdout
        assert f"{campaign.id}-2" not in first.stdout
        prefix = f"more: collect accounts list --campaign {campaign.id} --stage contact --limit 1 --cursor "
        assert prefix in first.stderr
        cursor = first.stderr.split(prefix)[1].split()[0]
        second = collect(
            "accounts",
            "list",
            "--campaign",
            campaign.id,
            "--stage",
            "contact",
            "--limit",
            "1",
            "--cursor",
            cursor,
            "--json",
            as_="supervisor",
        )
        page = json.loads(second.stdout)
        assert [a["external_id"] for a in page["items"]] == [f"{campaign.id}-2"]
        assert page["next_cursor"] is None
        legal = json.loads(
            collect(
                "accounts", "list", "--campaign", campaign.id, "--stage", "legal", "--json", as_="supervisor"
            ).stdout
        )
        assert [a["balance"] for a in legal["items"]] == [6_000_000]

    def test_an_unknown_bucket(self, collect: Collect) -> None:
        result = collect("accounts", "list", "--dpd", "100+", as_="supervisor")
        assert result.exit_code == 1
        assert "/query/dpd_bucket:" in result.stderr


class TestShow:
    def test_facts_live_state_tasks_and_timeline(self, collect: Collect, shared: Desk) -> None:
        campaign = shared.campaign
        account = campaign.accounts[f"{campaign.id}-1"]
        result = collect("account", "show", str(account), as_="supervisor")
        assert result.exit_code == 0, result.output
        for expected in (
            f"account {account}",
            f"debtor:{campaign.id}:{campaign.id}-1",
            "CLP 150,000 of CLP 150,000",
            "15 days past due (1-29)",
            "+56981234567",
            "live state (running)",
            "contact / llamada",
            "open tasks",
            "timeline",
        ):
            assert expected in result.stdout, expected
        detail = json.loads(collect("account", "show", str(account), "--json", as_="supervisor").stdout)
        assert (detail["live_status"], detail["live"]["step"]) == ("running", "llamada")

    def test_an_unknown_account(self, collect: Collect) -> None:
        result = collect("account", "show", "999999", as_="supervisor")
        assert result.exit_code == 1
        assert "error: 404 Not found: Account 999999 does not exist or is not one of yours." in result.stderr
        assert collect("account", "show", "abc", as_="supervisor").exit_code == 2


class TestSteer:
    def test_pause_resume_close(self, collect: Collect, stack: Stack) -> None:
        steered = stack.campaign([90_000])
        account = str(steered.accounts[f"{steered.id}-1"])
        paused = collect("account", "pause", account, "--reason", "llamó su abogado", as_="supervisor")
        assert paused.exit_code == 0, paused.output
        assert f"account {account} paused (note " in paused.stdout

        def held() -> bool:
            return (
                json.loads(collect("account", "show", account, "--json", as_="supervisor").stdout)["live"]["hold"]
                == "paused"
            )

        eventually(held, "the pause to reach the workflow")
        resumed = collect("account", "resume", account, "--json", as_="supervisor")
        assert json.loads(resumed.stdout)["action"] == "resume"
        closed = collect("account", "close", account, "--reason", "deuda vendida", as_="supervisor")
        assert closed.exit_code == 0, closed.output
        assert f"account {account} closed" in closed.stdout
        timeline = collect("account", "timeline", account, as_="supervisor").stdout
        assert "llamó su abogado" in timeline
        assert "deuda vendida" in timeline

    def test_refusals(self, collect: Collect, shared: Desk) -> None:
        campaign = shared.campaign
        account = str(campaign.accounts[f"{campaign.id}-1"])
        not_paused = collect("account", "resume", account, as_="supervisor")
        assert not_paused.exit_code == 1
        assert f"409 Conflict: Account {account} is not paused." in not_paused.stderr
        assert collect("account", "close", account, as_="supervisor").exit_code == 2  # --reason is required
        assert "403 Forbidden" in collect("account", "pause", account, as_="agent").stderr
