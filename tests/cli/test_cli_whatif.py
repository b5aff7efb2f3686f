"""`collect strategy simulate --accounts` and `collect strategy compare` (issue 13): the what-if
analysis on this machine, as tables and as JSON, refusals naming the file, line and column."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CL = str(ROOT / "strategies" / "cl-consumer.yaml")
DEMO = str(ROOT / "strategies" / "demo.yaml")
START = "2026-11-02 09:00"

runner = CliRunner()


def test_simulate_prints_groups_curves_costs_and_the_baseline() -> None:
    result = runner.invoke(app, ["strategy", "simulate", CL, "--accounts", "40", "--days", "60", "--start", START])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "40 accounts over 60 days (synthetic portfolio, seed 1)" in out
    for text in ("variant champion", "segment alto_monto", "day 7", "day 30", "day 60", "per amount collected"):
        assert text in out, text
    assert "no contact (self-cure baseline)" in out
    assert "lift over no contact:" in out


def test_compare_gives_the_difference_with_its_interval_as_json_the_same_for_a_seed(tmp_path: Path) -> None:
    args = ["strategy", "compare", CL, DEMO, "--accounts", "30", "--days", "30", "--start", START, "--seed", "4"]
    chart = tmp_path / "curves.svg"
    first = runner.invoke(app, [*args, "--json", "--chart", str(chart)])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["other"]["strategy_id"] == "demo"
    interval = report["comparison"]["recovery_rate"]
    assert float(interval["low"]) <= float(interval["difference"]) <= float(interval["high"])
    assert "paired" in report["comparison"]["method"]
    again = runner.invoke(app, [*args, "--json"])
    assert json.loads(again.stdout) == report
    assert len(ElementTree.parse(chart).getroot().findall("{http://www.w3.org/2000/svg}polyline")) == 3
    table = runner.invoke(app, args)
    assert "demo (" in table.stdout
    assert "95% CI" in table.stdout


def test_a_bad_portfolio_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_text("balance: {min: '1,000'}\nbehaviour:\n  keep: 3\n", encoding="utf-8")
    result = runner.invoke(app, ["strategy", "simulate", CL, "--accounts", "5", "--portfolio", str(portfolio)])
    assert result.exit_code == 1
    assert "The portfolio is not valid (1 error)." in result.stderr
    assert f"{portfolio}:3:9:" in result.stderr


def test_a_portfolio_balance_not_in_the_strategys_currency_is_refused_naming_it(tmp_path: Path) -> None:
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_text("balance: {max: '10.50 USD'}\n", encoding="utf-8")
    result = runner.invoke(app, ["strategy", "simulate", CL, "--accounts", "5", "--portfolio", str(portfolio)])
    assert result.exit_code == 1
    assert "portfolio/balance/max: '10.50 USD' is in USD, but the strategy's currency is CLP" in result.stderr


def test_custom_outcome_chances_draw_the_strategys_own_codes(tmp_path: Path) -> None:
    from tests.simulator.test_whatif_outcomes import STRATEGY

    strategy = tmp_path / "unit.yaml"
    strategy.write_text(STRATEGY, encoding="utf-8")
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_text("behaviour: {answer: 1.0, wrong_party: 0, outcomes: {deceased: 0.4}}\n", encoding="utf-8")
    args = ["strategy", "simulate", str(strategy), "--accounts", "40", "--days", "30", "--start", START]
    result = runner.invoke(app, [*args, "--portfolio", str(portfolio)])
    assert result.exit_code == 0, result.output
    assert "calls by outcome: deceased " in result.stdout
    portfolio.write_text("behaviour: {outcomes: {deceasd: 0.1}}\n", encoding="utf-8")
    refused = runner.invoke(app, [*args, "--portfolio", str(portfolio)])
    assert refused.exit_code == 1
    assert "portfolio/behaviour/outcomes/deceasd: no agent task of the strategy allows outcome 'deceasd'" in (
        refused.stderr
    )


def test_the_accounts_of_an_import_file(tmp_path: Path) -> None:
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "account_id,country,currency,balance,due_date,email,timezone,consent\n"
        "CL-1,CL,CLP,150000,2026-10-01,ana@example.com,America/Santiago,yes\n"
        "CL-2,CL,CLP,9O000,2026-10-11,luis@example.com,America/Santiago,yes\n",
        encoding="utf-8",
    )
    args = ["strategy", "simulate", CL, "--accounts-csv", str(csv), "--start", START, "--days", "30", "--json"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "rows/2/balance" in refused.stderr
    csv.write_text(csv.read_text(encoding="utf-8").replace("9O000", "90000"), encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["portfolio"], report["accounts"]) == ("import file", 2)
    assert report["strategy"]["overall"]["placed"] == {"minor": 240000, "shown": "$240.000"}
