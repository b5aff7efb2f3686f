"""The supervisor with small real processes: a part that dies before it answers, or never
answers, is reported with the end of its log; a part that dies later is reported by `watch`;
`stop` sends SIGTERM first, kills what ignores it, and leaves no process of any part's group
behind, grandchildren included."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from up_process import running

from stack.supervisor import Part, PartFailed, Supervisor, group_alive


def shell(tmp_path: Path, name: str, script: str, **options: float) -> Part:
    return Part(
        name=name,
        title=f"the {name} part",
        argv=["sh", "-c", script],
        log=tmp_path / f"{name}.log",
        env=dict(os.environ),
        ready=lambda _pid: (tmp_path / f"{name}.ready").exists(),
        cwd=tmp_path,
        **options,  # type: ignore[arg-type]
    )


def wait_for_file(path: Path) -> str:
    for _ in range(200):
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def test_stop_ends_the_whole_group_grandchildren_included(tmp_path: Path) -> None:
    part = shell(tmp_path, "family", "sleep 300 & echo $! > grandchild; touch family.ready; wait")
    with Supervisor() as supervisor:
        supervisor.start(part)
        leader = supervisor.pids["family"]
        grandchild = int(wait_for_file(tmp_path / "grandchild"))
        assert running(grandchild)
    assert not group_alive(leader)
    assert not running(grandchild)


def test_a_part_that_ignores_sigterm_is_killed_after_its_grace(tmp_path: Path) -> None:
    script = "trap 'echo got TERM' TERM; touch stubborn.ready; while :; do sleep 0.1; done"
    supervisor = Supervisor()
    supervisor.start(shell(tmp_path, "stubborn", script, stop_within_s=1))
    pid = supervisor.pids["stubborn"]

    supervisor.stop()

    assert "got TERM" in (tmp_path / "stubborn.log").read_text()  # asked first
    assert not group_alive(pid)  # then killed


def test_a_part_that_exits_before_it_answers_is_reported_with_its_log(tmp_path: Path) -> None:
    (tmp_path / "early.log").write_text("a line from an earlier run\n")
    part = shell(tmp_path, "early", "echo starting; echo 'cannot bind [port 1]' >&2; exit 3")
    with Supervisor() as supervisor, pytest.raises(PartFailed) as failed:
        supervisor.start(part)
    assert failed.value.what == "exited with code 3 before it answered"
    assert failed.value.tail == ["starting", "cannot bind [port 1]"]  # this run's lines only
    assert "the early part (early) exited with code 3" in str(failed.value)


def test_a_part_that_never_answers_is_reported(tmp_path: Path) -> None:
    with Supervisor() as supervisor, pytest.raises(PartFailed) as failed:
        supervisor.start(shell(tmp_path, "mute", "echo waiting; sleep 300", ready_within_s=0.5))
    assert failed.value.what == "did not answer within 0 s"
    assert failed.value.tail == ["waiting"]
    assert not group_alive(supervisor.pids["mute"])


def test_watch_names_the_part_that_died_and_stop_ends_the_others(tmp_path: Path) -> None:
    supervisor = Supervisor()
    supervisor.start(
        shell(tmp_path, "steady", "touch steady.ready; sleep 300"),
        shell(tmp_path, "fragile", "touch fragile.ready; sleep 0.5; echo 'out of memory'; exit 137"),
    )
    with pytest.raises(PartFailed) as failed:
        supervisor.watch()
    supervisor.stop()
    assert failed.value.part.name == "fragile"
    assert failed.value.what == "exited with code 137"
    assert failed.value.tail == ["out of memory"]
    assert not group_alive(supervisor.pids["steady"])
