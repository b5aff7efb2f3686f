"""No test depends on the day it runs (tests/clock.py pins the suite's day). This keeps it so:
no test reads the machine's clock as a date, except the few places listed with their reason,
and the time-skipping server really starts on the suite's day."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from clock import TEST_NOW, TEST_TODAY, skip, skip_to, suite_today
from temporalio.testing import WorkflowEnvironment

TESTS = Path(__file__).resolve().parent
# Calls that answer "what time is it" from the machine. Durations (time.monotonic,
# time.perf_counter) are fine: they measure, they do not date.
FORBIDDEN = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}
ALLOWED = {
    "api/signing.py": "webhook signature timestamps: the API checks their freshness against the machine's clock",
    "api/test_webhooks.py": "stale and future signature timestamps, relative to the machine's clock",
    "fakes/providers.py": "the Date header of the fake providers' HTTP answers",
    "workflows/test_worker_restart.py": "Temporal's dev server runs in real time; its strategy has no calendar rules",
}


def real_clock_calls(source: str) -> list[str]:
    """`module.func(` calls from FORBIDDEN, however `datetime` was imported."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else None
        if (name, node.func.attr) in FORBIDDEN:
            found.append(f"{name}.{node.func.attr}() at line {node.lineno}")
    return found


def test_no_test_reads_the_machines_clock_as_a_date() -> None:
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        if relative in ALLOWED or relative.startswith("strategies/invalid/"):
            continue
        calls = real_clock_calls(path.read_text(encoding="utf-8"))
        if calls:
            offenders[relative] = calls
    assert offenders == {}, (
        "tests must not read the machine's clock: use clock.TEST_TODAY / TEST_NOW or the test "
        "server's time (env.get_current_time()), or list the file in ALLOWED with a reason"
    )


def test_the_guard_sees_every_spelling() -> None:
    source = (
        "import datetime as dt, time\nfrom datetime import date, datetime\n"
        "a = datetime.now(UTC)\nb = dt.datetime.now()\nc = date.today()\nd = time.time()\n"
        "e = time.monotonic()\n"
    )
    assert [c.split("(")[0] for c in real_clock_calls(source)] == [
        "datetime.now",
        "datetime.now",
        "date.today",
        "time.time",
    ]


def test_allowed_files_still_exist() -> None:
    assert [name for name in ALLOWED if not (TESTS / name).is_file()] == []


def test_the_suites_day_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECT_TEST_TODAY", "2027-03-14")
    assert suite_today().isoformat() == "2027-03-14"
    monkeypatch.setenv("COLLECT_TEST_TODAY", "14/03/2027")
    with pytest.raises(ValueError, match="COLLECT_TEST_TODAY"):
        suite_today()


async def test_the_time_skipping_server_starts_on_the_suites_day(env: WorkflowEnvironment) -> None:
    now = await env.get_current_time()
    assert now.date() == TEST_TODAY
    assert TEST_NOW <= now < TEST_NOW.replace(hour=13)


def unbounded_skips(source: str) -> list[str]:
    """Calls of the SDK's `<...>env.sleep(`: it has no deadline and cannot be cancelled."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sleep":
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
            if name.endswith("env"):
                found.append(f"line {node.lineno}")
    return found


def test_virtual_time_is_skipped_with_a_deadline() -> None:
    """The time-skipping server now and then loses a skip and never answers (tests/clock.py):
    every skip goes through clock.skip / clock.skip_to, which ask again."""
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        found = unbounded_skips(path.read_text(encoding="utf-8"))
        if found:
            offenders[path.relative_to(TESTS).as_posix()] = found
    assert offenders == {}, "use clock.skip(env, duration) or clock.skip_to(env, moment)"
    assert unbounded_skips("await env.sleep(d)\nawait self.api.env.sleep(d)\nawait asyncio.sleep(1)\n") == [
        "line 1",
        "line 2",
    ]


async def test_a_skip_lands_on_its_moment(env: WorkflowEnvironment) -> None:
    start = await env.get_current_time()
    await skip(env, timedelta(days=3))
    assert await env.get_current_time() >= start + timedelta(days=3)
    await skip_to(env, start)  # in the past: nothing to do
    assert await env.get_current_time() < start + timedelta(days=3, minutes=1)
