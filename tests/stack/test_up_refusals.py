"""What `collect up` refuses before it starts anything: a port another program holds (named, with
how to choose another), a second `collect up` on the same data folder, and a --reset it cannot
ask about (no terminal, no --yes). And what --reset deletes: only a folder that is a data folder."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from up_process import ROOT, Up, environment

from config import Settings
from stack.data_dir import DataDir, DataDirBusy, NotADataDir
from stack.parts import PortTaken, check_ports
from stack.up import Plan, UpOptions, child_environment, demo_payments


def run_up(up: Up, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "up", *up.options, *extra],
        cwd=ROOT,
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    up = Up(tmp_path / "data")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", up.api_port))
        holder.listen()
        done = run_up(up, "--no-demo")
    assert done.returncode == 1
    assert f"port {up.api_port} (the API) on 127.0.0.1 is in use by another program" in done.stdout
    assert "--api-port" in done.stdout
    assert not (up.data_dir / "logs" / "temporal.log").exists()  # nothing was started
    assert "processes" not in up.state()


def test_every_taken_port_is_named_in_one_sentence() -> None:
    with socket.socket() as first, socket.socket() as second:
        for holder in (first, second):
            holder.bind(("127.0.0.1", 0))
            holder.listen()
        api, temporal = first.getsockname()[1], second.getsockname()[1]
        with pytest.raises(PortTaken) as refused:
            check_ports({"the API": api, "Temporal": temporal})
    assert f"ports {api} (the API), {temporal} (Temporal) on 127.0.0.1 are in use by another program" in str(
        refused.value
    )


def test_a_second_collect_up_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    data = DataDir.at(tmp_path / "data")
    with data.locked():
        done = run_up(Up(data.root), "--no-demo")
        with pytest.raises(DataDirBusy), data.locked():
            pass
    assert done.returncode == 1
    assert "another `collect up`" in done.stdout
    assert "is running on" in done.stdout


def test_reset_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    up = Up(tmp_path / "data")
    data = DataDir.at(up.data_dir)
    data.create()
    data.write_keys({"admin": {"key": "ck_x"}})
    done = run_up(up, "--reset", "--no-demo")
    assert done.returncode == 2
    assert "add --yes" in done.stderr
    assert (up.data_dir / "keys.json").exists()


class TestDataDir:
    def test_the_keys_file_is_private(self, tmp_path: Path) -> None:
        data = DataDir.at(tmp_path / "data")
        data.create()
        data.write_keys({"admin": {"key": "ck_secret"}})
        assert (data.keys_file.stat().st_mode & 0o777, data.root.stat().st_mode & 0o777) == (0o600, 0o700)
        assert data.read_keys() == {"admin": {"key": "ck_secret"}}

    def test_state_changes_merge(self, tmp_path: Path) -> None:
        data = DataDir.at(tmp_path / "data")
        data.create()
        data.update_state(demo={"seed": 11})
        assert data.update_state(processes={"api": 1}) == {"demo": {"seed": 11}, "processes": {"api": 1}}

    def test_wipe_deletes_a_data_folder(self, tmp_path: Path) -> None:
        data = DataDir.at(tmp_path / "data")
        data.create()
        data.write_keys({})
        data.log("worker").write_text("a line\n")
        (data.root / "collect.db").write_bytes(b"")
        data.wipe()
        assert not data.root.exists()

    def test_wipe_refuses_a_folder_with_files_of_its_own(self, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("mine")
        (tmp_path / "keys.json").write_text("{}")
        with pytest.raises(NotADataDir, match=r"notes\.txt"):
            DataDir.at(tmp_path).wipe()
        assert (tmp_path / "notes.txt").exists()


@pytest.mark.parametrize(
    ("local_database", "configured", "demo"),
    [(True, {}, True), (False, {}, False), (True, {"khipu": "s"}, False)],
    ids=["local database", "external database", "configured provider"],
)
def test_the_demo_payment_provider_only_where_the_api_takes_it(
    tmp_path: Path, local_database: bool, configured: dict[str, str], demo: bool
) -> None:
    """The ready banner names the data folder's `demo` provider exactly when the API's environment
    carries it (`demo_payments` decides both): an external database keeps its configured providers,
    and the banner must not send a person to a payments.json that was never written."""
    settings = Settings(payment_webhook_secrets=configured)  # type: ignore[arg-type]
    the_plan = Plan(
        local_temporal=True,
        local_database=local_database,
        database_url="sqlite://",
        temporal_address="127.0.0.1:7233",
        demo=False,
        demo_refused=None,
    )
    options = UpOptions(data_dir=tmp_path / "data", strategies=ROOT / "strategies")
    data = DataDir(options.data_dir)
    data.create()
    env = child_environment(settings, options, data, the_plan)
    assert demo_payments(settings, the_plan) is demo
    carried = "COLLECT_PAYMENT_WEBHOOK_SECRETS" in env and "demo" in env["COLLECT_PAYMENT_WEBHOOK_SECRETS"]
    assert carried is demo
