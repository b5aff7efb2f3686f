"""Zone rules come from the locked `tzdata` package in every process that evaluates local time
(tests, API, CLI, worker and replayer), never from the operating system's zoneinfo files."""

from __future__ import annotations

import sys
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from api.app import create_app
from cli.main import main as cli_main
from config import Settings
from domain.zone_rules import use_pinned_zone_rules, zone_rules_version
from workflows.sandbox import workflow_runner

ROOT = Path(__file__).resolve().parents[1]
# 2026-11-30 12:00 UTC: Chile is on summer time (UTC-3).
NOON = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture
def os_zone_files(tmp_path: Path) -> Iterator[Path]:
    """An operating-system zoneinfo directory whose America/Santiago says UTC, on the search
    path, as an `apt upgrade` with different rules would leave it."""
    utc = resources.files("tzdata").joinpath("zoneinfo", "UTC").read_bytes()
    (tmp_path / "America").mkdir()
    (tmp_path / "America" / "Santiago").write_bytes(utc)
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    zoneinfo.ZoneInfo.clear_cache()
    yield tmp_path
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()


def santiago_offset() -> timedelta | None:
    return NOON.astimezone(zoneinfo.ZoneInfo("America/Santiago")).utcoffset()


def test_the_tests_read_the_locked_tzdata() -> None:
    assert zoneinfo.TZPATH == ()
    assert santiago_offset() == timedelta(hours=-3)
    assert zone_rules_version()[:2] == "20"


def test_os_zone_files_on_the_path_would_change_local_time(os_zone_files: Path) -> None:
    assert santiago_offset() == timedelta(0)  # the control: the fake OS file is what would be read


def _api() -> None:
    create_app(Settings(database_url="sqlite://"))


def _cli() -> None:
    argv = sys.argv
    sys.argv = ["collect", "strategy", "validate", str(ROOT / "strategies" / "cl-consumer.yaml")]
    try:
        with pytest.raises(SystemExit) as exited:
            cli_main()
    finally:
        sys.argv = argv
    assert not exited.value.code


@pytest.mark.parametrize(
    "entry_point",
    [use_pinned_zone_rules, workflow_runner, _api, _cli],
    ids=["process-start", "worker-and-replayer", "api", "cli"],
)
def test_every_entry_point_reads_the_locked_tzdata(os_zone_files: Path, entry_point: Callable[[], object]) -> None:
    entry_point()
    assert zoneinfo.TZPATH == ()
    assert santiago_offset() == timedelta(hours=-3)
