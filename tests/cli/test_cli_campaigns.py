"""`collect campaign create | list | import | launch | pause | resume | stop | status | move | notify
| rotate-secret` against the live API: a row report that exits 1 on rejected rows, a launch
followed until every account started, steering, the notify webhook's URL and secret, and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_stack import Collect, Stack, account_row, csv_of


@pytest.fixture
def version(stack: Stack) -> str:
    return stack.publish(stack.unique("camp"))


def create(collect: Collect, stack: Stack, version: str) -> str:
    campaign = stack.unique("c").replace("_", "-")
    result = collect(
        "campaign", "create", "--id", campaign, "--name", "Consumo", "--strategy", version[:10], "--creditor", "Acme"
    )
    assert result.exit_code == 0, result.output
    return campaign


def accounts_file(folder: Path, campaign: str, balances: list[int], **broken: str) -> Path:
    rows = [account_row(f"{campaign}-{i}", balance) for i, balance in enumerate(balances, start=1)]
    rows[-1].update(broken)
    path = folder / "accounts.csv"
    path.write_bytes(csv_of(rows))
    return path


class TestCreate:
    def test_create_by_prefix_and_list(self, collect: Collect, stack: Stack, version: str) -> None:
        campaign = create(collect, stack, version)
        listed = collect("campaign", "list", "--status", "draft", "--limit", "100")
        assert listed.exit_code == 0, listed.output
        assert campaign in listed.stdout
        page = json.loads(collect("campaign", "list", "--limit", "100", "--json").stdout)
        assert campaign in {c["id"] for c in page["items"]}

    def test_create_json(self, collect: Collect, version: str) -> None:
        result = collect(
            "campaign", "create", "--name", "Sin id", "--strategy", version, "--creditor", "Acme", "--json"
        )
        assert result.exit_code == 0, result.output
        created = json.loads(result.stdout)
        assert (created["status"], created["strategy_hash"], created["launch"]["total"]) == ("draft", version, 0)

    def test_a_taken_id_and_a_bad_phone(self, collect: Collect, stack: Stack, version: str) -> None:
        campaign = create(collect, stack, version)
        taken = collect("campaign", "create", "--id", campaign, "--name", "X", "--strategy", version, "--creditor", "A")
        assert taken.exit_code == 1
        assert f"error: 409 Conflict: A campaign with id '{campaign}' already exists." in taken.stderr
        phone = collect(
            "campaign", "create", "--name", "X", "--strategy", version, "--creditor", "A", "--creditor-phone", "12"
        )
        assert phone.exit_code == 1
        assert "/body/creditor_phone:" in phone.stderr


class TestImport:
    def test_a_clean_file_then_a_row_report(self, collect: Collect, stack: Stack, version: str, tmp_path: Path) -> None:
        campaign = create(collect, stack, version)
        result = collect("campaign", "import", campaign, str(accounts_file(tmp_path, campaign, [150_000, 90_000])))
        assert result.exit_code == 0, result.output
        summary = "2 rows: 2 accepted, 0 updated, 0 unchanged, 0 skipped (already launched), 0 rejected"
        assert f"{summary}; campaign {campaign} now has 2 accounts" in result.stdout
        again = collect("campaign", "import", campaign, str(tmp_path / "accounts.csv"), "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["unchanged"] == 2

    def test_rejected_rows_are_a_table_and_exit_1(
        self, collect: Collect, stack: Stack, version: str, tmp_path: Path
    ) -> None:
        campaign = create(collect, stack, version)
        path = accounts_file(tmp_path, campaign, [150_000, 90_000, 10], due_date="yesterday")
        result = collect("campaign", "import", campaign, str(path))
        assert result.exit_code == 1
        assert "2 accepted" in result.stdout
        assert "1 rejected" in result.stdout
        assert "rejected rows" in result.stdout
        assert f"{campaign}-3" in result.stdout
        assert "due_date" in result.stdout
        report = json.loads(collect("campaign", "import", campaign, str(path), "--json").stdout)
        assert [(r["row"], r["field"]) for r in report["rejected"]] == [(3, "due_date")]

    def test_a_missing_file_and_an_unknown_campaign(self, collect: Collect, tmp_path: Path) -> None:
        missing = collect("campaign", "import", "nope", str(tmp_path / "none.csv"))
        assert missing.exit_code == 2
        assert "cannot read file" in missing.stderr
        path = accounts_file(tmp_path, "x", [1000])
        unknown = collect("campaign", "import", "no-such-campaign", str(path))
        assert unknown.exit_code == 1
        assert "error: 404 Not found: No campaign 'no-such-campaign'." in unknown.stderr


class TestLaunchAndSteer:
    def test_launch_follows_until_every_account_started(
        self, collect: Collect, stack: Stack, version: str, tmp_path: Path
    ) -> None:
        campaign = create(collect, stack, version)
        assert (
            collect("campaign", "import", campaign, str(accounts_file(tmp_path, campaign, [100_000] * 5))).exit_code
            == 0
        )
        result = collect("campaign", "launch", campaign, "--batch-size", "2", "--json")
        assert result.exit_code == 0, result.output
        state = json.loads(result.stdout)
        assert (state["launch"]["status"], state["launch"]["launched"], state["launch"]["total"]) == ("done", 5, 5)

        status = collect("campaign", "status", campaign)
        assert status.exit_code == 0, status.output
        assert "done: 5 of 5 accounts started" in status.stdout
        assert json.loads(collect("campaign", "status", campaign, "--json").stdout)["launched"] == 5

        paused = collect("campaign", "pause", campaign)
        assert paused.exit_code == 0, paused.output
        assert f"campaign {campaign} is paused" in paused.stdout
        again = collect("campaign", "pause", campaign)
        assert again.exit_code == 1
        assert "409 Conflict: Only a running campaign can be paused" in again.stderr
        resumed = collect("campaign", "resume", campaign, "--json")
        assert json.loads(resumed.stdout)["status"] == "running"
        stopped = collect("campaign", "stop", campaign)
        assert f"campaign {campaign} is stopped" in stopped.stdout
        assert json.loads(collect("campaign", "stop", campaign, "--json").stdout)["status"] == 409

    def test_launch_prints_the_campaign_when_done(
        self, collect: Collect, stack: Stack, version: str, tmp_path: Path
    ) -> None:
        campaign = create(collect, stack, version)
        assert collect("campaign", "import", campaign, str(accounts_file(tmp_path, campaign, [100_000]))).exit_code == 0
        result = collect("campaign", "launch", campaign)
        assert result.exit_code == 0, result.output
        assert "done: 1 of 1 accounts started" in result.stdout

    def test_nothing_to_launch(self, collect: Collect, stack: Stack, version: str) -> None:
        campaign = create(collect, stack, version)
        result = collect("campaign", "launch", campaign)
        assert result.exit_code == 1
        assert f"error: 409 Conflict: Campaign {campaign} has no accounts; import some first." in result.stderr
        assert collect("campaign", "status", "no-such-campaign").exit_code == 1


class TestMove:
    def test_move_to_another_version(self, collect: Collect, stack: Stack) -> None:
        launched = stack.campaign([150_000])
        target = stack.publish(stack.unique("target"))
        result = collect("campaign", "move", launched.id, "--to", target[:12], as_="supervisor")
        assert result.exit_code == 0, result.output
        assert f"campaign {launched.id} moves to strategy version {target}" in result.stdout
        back = collect("campaign", "move", launched.id, "--to", launched.strategy_hash, "--json", as_="supervisor")
        assert json.loads(back.stdout)["strategy_hash"] == launched.strategy_hash

    def test_a_bad_step_name_and_a_strategist(self, collect: Collect, stack: Stack, version: str) -> None:
        campaign = create(collect, stack, version)
        bad = collect("campaign", "move", campaign, "--to", version, "--step", "No Such", as_="supervisor")
        assert bad.exit_code == 1
        assert "/body/step:" in bad.stderr
        refused = collect("campaign", "move", campaign, "--to", version)
        assert refused.exit_code == 1
        assert "403 Forbidden" in refused.stderr


class TestNotify:
    def test_set_show_rotate_and_refuse(self, collect: Collect, stack: Stack, version: str) -> None:
        campaign = create(collect, stack, version)
        before = collect("campaign", "notify", campaign)
        assert before.exit_code == 0, before.output
        assert "none (notify actions are recorded as not sent)" in before.stdout

        made = collect("campaign", "notify", campaign, "--url", "https://hooks.acme.example/collect", "--json")
        assert made.exit_code == 0, made.output
        first = json.loads(made.stdout)
        assert (first["url"], first["secret_set"]) == ("https://hooks.acme.example/collect", True)
        assert first["secret"]

        rotated = collect("campaign", "rotate-secret", campaign)
        assert rotated.exit_code == 0, rotated.output
        assert "signing secret (shown this once" in rotated.stdout
        assert first["secret"] not in rotated.stdout
        shown = collect("campaign", "notify", campaign)
        assert "https://hooks.acme.example/collect" in shown.stdout
        assert "signing secret" not in shown.stdout

        private = collect("campaign", "notify", campaign, "--url", "http://10.0.0.8/hook")
        assert private.exit_code == 1
        assert "422" in private.stderr
        assert "not a public address" in private.stderr
        both = collect("campaign", "notify", campaign, "--url", "https://x.example", "--clear")
        assert both.exit_code == 2
