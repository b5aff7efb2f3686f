"""`collect strategy validate|schema|simulate` as a strategist runs them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from config import get_settings
from db.migrate import current_revision

HERE = Path(__file__).parent
BASE = HERE / "strategies" / "valid" / "base.yaml"
INVALID = HERE / "strategies" / "invalid" / "12_unknown_step_in_goto.yaml"
ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")

runner = CliRunner()


@pytest.fixture
def strategy(tmp_path: Path) -> Path:
    path = tmp_path / "t1.yaml"
    shutil.copy(BASE, path)
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    shutil.copy(INVALID, path)
    return path


class TestValidate:
    def test_a_valid_file_exits_0_and_prints_ok(self, strategy: Path) -> None:
        result = runner.invoke(app, ["strategy", "validate", str(strategy)])
        assert result.exit_code == 0, result.output
        assert f"{strategy}: ok" in result.stdout
        assert result.stderr == ""

    def test_an_invalid_file_exits_1_with_file_line_col_messages(self, broken: Path) -> None:
        result = runner.invoke(app, ["strategy", "validate", str(broken)])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert lines
        for line in lines:
            match = ERROR_LINE.match(line)
            assert match, line
            assert match["path"] == str(broken)
        assert f"{broken}:27:15: unknown step 'cal'; did you mean 'call'?" in lines
        assert "ok" not in result.stdout

    def test_one_valid_and_one_invalid_file_reports_only_the_invalid_one(self, strategy: Path, broken: Path) -> None:
        result = runner.invoke(app, ["strategy", "validate", str(strategy), str(broken)])
        assert result.exit_code == 1
        errors = result.stderr.strip().splitlines()
        assert errors
        assert all(line.startswith(f"{broken}:") for line in errors)
        assert not any(str(strategy) in line for line in errors)
        assert f"{strategy}: ok" in result.stdout

    def test_a_missing_file_is_an_error_not_a_crash(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope.yaml"
        result = runner.invoke(app, ["strategy", "validate", str(missing)])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"{missing}:1:1: cannot read file")


class TestSchema:
    def test_prints_a_json_schema_of_the_language(self) -> None:
        result = runner.invoke(app, ["strategy", "schema"])
        assert result.exit_code == 0, result.output
        schema = json.loads(result.stdout)
        assert schema["$schema"].startswith("https://json-schema.org/")
        assert {"steps", "policy", "segments"} <= set(schema["properties"])
        assert {"id", "steps", "policy", "segments"} <= set(schema["required"])


class TestSimulate:
    def test_one_account_timeline(self, strategy: Path) -> None:
        result = runner.invoke(app, ["strategy", "simulate", str(strategy), "--start", "2026-11-02 09:00"])
        assert result.exit_code == 0, result.output
        assert "send" in result.stdout
        assert "email reminder" in result.stdout
        assert "Mon 2026-11-02 09:00" in result.stdout  # debtor's local time

    def test_monte_carlo_summary(self, strategy: Path) -> None:
        result = runner.invoke(app, ["strategy", "simulate", str(strategy), "--accounts", "50"])
        assert result.exit_code == 0, result.output
        assert "50 accounts" in result.stdout
        assert "contacts per account" in result.stdout
        assert "reached legal" in result.stdout
        assert re.search(r"collected \$[\d.]+ of \$[\d.]+ placed", result.stdout)  # money, in es-CL

    def test_an_invalid_strategy_is_not_simulated(self, broken: Path) -> None:
        result = runner.invoke(app, ["strategy", "simulate", str(broken)])
        assert result.exit_code == 1
        assert f"{broken}:27:15: unknown step 'cal'" in result.stderr

    def test_a_scenario_with_a_bad_field_exits_1_naming_the_file_and_the_field(
        self, strategy: Path, tmp_path: Path
    ) -> None:
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text("days: 30\nevents:\n  - {day: 1, paymnt: 50000}\n", encoding="utf-8")
        result = runner.invoke(app, ["strategy", "simulate", str(strategy), "--scenario", str(scenario)])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"{scenario}:3:")
        assert "unknown field 'paymnt'" in result.stderr
        assert "Traceback" not in result.output

    def test_a_scenario_error_reads_like_a_strategy_error(self, strategy: Path, tmp_path: Path) -> None:
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text("days: 30\nevents:\n  - {day: 1, paymnt: 50000}\n", encoding="utf-8")
        result = runner.invoke(app, ["strategy", "simulate", str(strategy), "--scenario", str(scenario)])
        assert "Extra inputs are not permitted" not in result.stderr
        assert "errors.pydantic.dev" not in result.stderr
        assert re.search(rf"^{re.escape(str(scenario))}:3:\d+: ", result.stderr, re.M)


class TestDbUpgrade:
    def test_says_which_database_and_revision_and_is_idempotent(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = f"sqlite:///{tmp_path / 'collect.db'}"
        monkeypatch.setenv("COLLECT_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            first = runner.invoke(app, ["db", "upgrade"])
            again = runner.invoke(app, ["db", "upgrade"])
        finally:
            get_settings.cache_clear()
        head = current_revision(url)
        assert head is not None
        assert first.exit_code == 0, first.output
        assert f"migrated from an empty database to {head}" in first.output
        assert f"already at {head}, nothing to do" in again.output
