"""The main job end to end, as a person runs it: `bin/run` on a throwaway data folder brings up
Temporal's dev server, the worker and the API, seeds the demo and reports ready; an agent records
an outcome with the `collect` CLI that a supervisor sees in `collect account show`; Ctrl-C
(SIGINT) stops every process; a second start (`collect up`) resumes the same stack without a
second campaign, without launching any account again and with the same keys. And a part that dies
is reported with the end of its log while the others are stopped."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from up_process import ROOT, Up, running, running_in_group

pytestmark = [pytest.mark.isolated, pytest.mark.slow]
DEMO_ACCOUNTS = 80


def launched_accounts(data_dir: Path) -> list[tuple[str, str, str]]:
    """Each account's id, workflow id and launch time, straight from the stack's database."""
    with sqlite3.connect(f"file:{data_dir / 'collect.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT external_id, workflow_id, launched_at FROM accounts ORDER BY external_id").fetchall()


def campaign(up: Up) -> dict[str, Any]:
    with up.api("supervisor") as api:
        answer = api.get("/campaigns/demo")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def assert_all_stopped(up: Up, pids: dict[str, int]) -> None:
    assert set(pids) == {"temporal", "worker", "api"}
    left = {name: running_in_group(pid) for name, pid in pids.items() if running(pid) or running_in_group(pid)}
    assert left == {}, up.output()
    assert "no process left" in up.output()


def move_to_an_edited_demo(up: Up) -> str:
    """Publish an edited copy of strategies/demo.yaml (its name changed), move the demo campaign to
    it and return its hash, as the README's tour does."""
    shipped = (ROOT / "strategies" / "demo.yaml").read_text()
    edited = shipped.replace("\nname: ", "\nname: v2 de ", 1)
    assert edited != shipped
    with up.api("strategist") as strategist:
        published = strategist.post("/strategies", content=edited, headers={"Content-Type": "application/yaml"})
    assert published.status_code == 201, published.text
    new_hash: str = published.json()["hash"]
    with up.api("supervisor") as supervisor:
        moved = supervisor.post("/campaigns/demo/strategy", json={"strategy_hash": new_hash})
    assert moved.is_success, moved.text
    assert campaign(up)["strategy_hash"] == new_hash
    return new_hash


@pytest.mark.timeout(420)
def test_bin_run_starts_the_demo_stops_on_sigint_and_resumes(tmp_path: Path) -> None:
    up = Up(tmp_path / "data")
    try:
        up.start("--demo-accounts", str(DEMO_ACCOUNTS), via_bin_run=True)
        up.wait_ready()
        first_output = up.output()
        assert "sandbox for email, sms, whatsapp, voice, letter" in first_output
        assert "policy NONE" in first_output
        keys = up.keys()
        assert stat.S_IMODE((up.data_dir / "keys.json").stat().st_mode) == 0o600
        assert {entry["role"] for entry in keys.values()} == {"admin", "strategist", "supervisor", "agent"}
        assert all(entry["key"] in first_output for entry in keys.values())  # printed to copy
        started = campaign(up)
        assert started["launch"]["status"] == "done"
        assert started["launch"]["launched"] == started["launch"]["total"] == DEMO_ACCOUNTS
        accounts = launched_accounts(up.data_dir)
        assert len(accounts) == DEMO_ACCOUNTS
        assert all(launched_at for _, _, launched_at in accounts)

        claimed = up.collect("agent_temprana", "tasks", "claim", "--next", "--json")
        assert claimed.returncode == 0, claimed.stderr
        task = json.loads(claimed.stdout)
        note = "volver a llamar a las 18:00"
        outcome = up.collect(
            "agent_temprana", "tasks", "outcome", str(task["id"]), "callback_requested", "--note", note
        )
        assert outcome.returncode == 0, outcome.stderr
        assert f"task {task['id']}: callback_requested recorded" in outcome.stdout
        account_id = task["account_id"]
        shown = up.collect("supervisor", "account", "show", str(account_id))
        assert shown.returncode == 0, shown.stderr
        assert "call outcome callback_requested" in shown.stdout
        with up.api("supervisor") as supervisor:
            timeline = supervisor.get(f"/accounts/{account_id}/timeline").json()["entries"]
        recorded = [e for e in timeline if e["kind"] == "outcome"]
        assert [(e["who"], e["details"]["code"]) for e in recorded] == [("ana", "callback_requested")]
        moved_to = move_to_an_edited_demo(up)  # the tour's last step: strategies/demo.yaml itself is unchanged

        pids = up.state()["processes"]
        assert up.interrupt(signal.SIGINT) == 0
        assert_all_stopped(up, pids)

        up.start("--demo-accounts", str(DEMO_ACCOUNTS * 2), run=2)  # a resume keeps the first start's portfolio
        up.wait_ready()
        assert "API keys  kept" in up.output()
        assert "Demo      resumed (nothing started again)" in up.output()
        assert f"on strategy demo ({moved_to[:12]})" in up.output()  # the version it runs now
        assert "changed since the campaign was created" not in up.output()  # a move is no stale file
        assert up.keys() == keys
        with up.api("supervisor") as supervisor:
            campaigns = supervisor.get("/campaigns").json()["items"]
            timeline = supervisor.get(f"/accounts/{account_id}/timeline").json()["entries"]
        assert [c["id"] for c in campaigns] == ["demo"]
        resumed = campaign(up)
        assert resumed["launch"] == started["launch"]  # same counts, same start and end of the one launch
        assert launched_accounts(up.data_dir) == accounts  # no account launched again
        assert [e["who"] for e in timeline if e["kind"] == "outcome"] == ["ana"]

        pids = up.state()["processes"]
        assert up.interrupt(signal.SIGTERM) == 0
        assert_all_stopped(up, pids)
    finally:
        up.kill_everything()


@pytest.mark.timeout(300)
def test_a_part_that_dies_is_reported_and_the_others_are_stopped(tmp_path: Path) -> None:
    up = Up(tmp_path / "data")
    try:
        up.start("--no-demo")
        up.wait_ready()
        pids = up.state()["processes"]

        os.kill(pids["worker"], signal.SIGKILL)

        assert up.wait_exit() == 1
        output = up.output()
        assert "the worker (worker) exited with code -9. The last lines of" in output
        assert "worker started on" in output  # the tail of the worker's log
        assert "stopping the other parts" in output
        assert_all_stopped(up, pids)
    finally:
        up.kill_everything()
