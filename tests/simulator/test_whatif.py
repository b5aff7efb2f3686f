"""What-if analysis (issue 13): figures split by variant and segment with a recovery curve and
costs, the self-cure baseline, two strategies on the same accounts and draws with a confidence
interval, a portfolio from YAML or from an import file, and the same report from one process or two."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from services.errors import Invalid
from services.whatif import MAX_API_ACCOUNTS, WhatIf, imported_accounts, read_portfolio, report, run
from simulator import montecarlo
from simulator.montecarlo import Job, analyse
from simulator.portfolio import PortfolioDoc
from simulator.report import recovery_svg
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
COSTS = {"email": 2, "sms": 30, "letter": 900, "whatsapp": 10, "voice": 0}


@pytest.fixture(scope="module")
def cl() -> montecarlo.CompiledStrategy:
    return compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy


@pytest.fixture(scope="module")
def demo() -> montecarlo.CompiledStrategy:
    return compile_file(str(ROOT / "strategies" / "demo.yaml")).strategy


def job(strategy: montecarlo.CompiledStrategy, accounts: int = 120, **changes: object) -> Job:
    base = Job(
        strategy=strategy,
        portfolio=PortfolioDoc(),
        accounts=accounts,
        days=120,
        start=START,
        seed=11,
        unit_costs=COSTS,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_one_process_and_two_give_the_same_report(
    cl: montecarlo.CompiledStrategy, demo: montecarlo.CompiledStrategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small shards, so that both workers get several and finish out of order.
    monkeypatch.setattr(montecarlo, "SHARD", 40)
    work = job(cl, 200, other=demo)
    one = report(analyse(work, processes=1), COSTS)
    two = report(analyse(work, processes=2), COSTS)
    assert asdict(one) == asdict(two)
    assert one.strategy.overall.accounts == 200


def test_split_by_variant_and_segment_adds_up_with_a_rising_curve(cl: montecarlo.CompiledStrategy) -> None:
    found = report(analyse(job(cl)), COSTS)
    overall = found.strategy.overall
    assert {f.name for f in found.strategy.by_variant} == {"champion", "challenger"}
    assert {f.name for f in found.strategy.by_segment} == {"alto_monto", "general"}
    for groups in (found.strategy.by_variant, found.strategy.by_segment):
        assert sum(f.accounts for f in groups) == overall.accounts == 120
        assert sum(f.collected.minor for f in groups) == overall.collected.minor
    assert [p.day for p in overall.recovery_curve] == [7, 30, 60, 90, 120]
    curve = [p.collected.minor for p in overall.recovery_curve]
    assert curve == sorted(curve)
    assert curve[-1] == overall.collected.minor
    assert overall.collected.minor > 0
    # Money for a person (es-CL: $ and dots), integer minor units for a machine.
    assert overall.placed.shown.startswith("$")
    assert "." in overall.placed.shown
    # Costs are the configured channel costs times the messages sent, as the cost KPI counts them.
    lines = {line.channel: line for line in overall.cost_by_channel}
    assert lines["sms"].cost.minor == lines["sms"].messages * 30
    assert overall.cost.minor == sum(line.cost.minor for line in lines.values()) > 0
    assert 0 < overall.reached_legal <= 120
    assert overall.legal_share is not None


def test_the_baseline_makes_no_contact_and_its_self_curers_pay_under_the_strategy_too(
    cl: montecarlo.CompiledStrategy,
) -> None:
    found = report(analyse(job(cl, portfolio=PortfolioDoc.model_validate({"behaviour": {"self_cure": 0.3}}))), COSTS)
    base = found.baseline
    assert base is not None
    assert base.overall.cost.minor == 0
    assert base.overall.reached_legal == 0
    assert base.contacts_per_account.mean == 0
    assert 0 < base.overall.collected.minor < found.strategy.overall.collected.minor
    assert set(base.overall.resolutions) == {"paid", "open"}
    # Grouped by the strategy's groups, so that each group's lift compares the same accounts.
    assert [f.accounts for f in base.by_segment] == [f.accounts for f in found.strategy.by_segment]
    assert found.lift is not None
    assert float(found.lift) > 0


def test_nobody_self_cures_at_zero_and_the_baseline_is_empty(cl: montecarlo.CompiledStrategy) -> None:
    doc = PortfolioDoc.model_validate({"behaviour": {"self_cure": 0}})
    found = report(analyse(job(cl, 60, portfolio=doc)), COSTS)
    assert found.baseline is not None
    assert found.baseline.overall.collected.minor == 0


def test_a_strategy_against_itself_differs_by_exactly_nothing(cl: montecarlo.CompiledStrategy) -> None:
    # The same accounts and the same draws: every per-account difference is zero.
    found = report(analyse(job(cl, 80, other=cl)), COSTS)
    assert found.comparison is not None
    assert asdict(found.comparison.recovery_rate) == {"difference": "0", "low": "0", "high": "0"}
    assert asdict(found.comparison.cost_per_account) == {"difference": "0", "low": "0", "high": "0"}
    assert found.other is not None
    assert asdict(found.other.overall) == asdict(found.strategy.overall)


def test_two_strategies_compare_with_a_confidence_interval_deterministic_for_a_seed(
    cl: montecarlo.CompiledStrategy, demo: montecarlo.CompiledStrategy
) -> None:
    first = report(analyse(job(cl, 150, other=demo)), COSTS)
    again = report(analyse(job(cl, 150, other=demo)), COSTS)
    assert asdict(first) == asdict(again)
    c = first.comparison
    assert c is not None
    assert "paired" in c.method
    assert "normal" in c.method
    for interval in (c.recovery_rate, c.cost_per_account):
        assert float(interval.low) <= float(interval.difference) <= float(interval.high)
        assert float(interval.low) < float(interval.high)
    # The difference is the two arms' own figures apart.
    assert first.other is not None
    d = first.other.overall.collected.minor - first.strategy.overall.collected.minor
    assert c.collected.minor == d
    placed = first.strategy.overall.placed.minor
    assert abs(float(c.recovery_rate.difference) - d / placed) < 1e-6
    # Another seed, other accounts.
    other_seed = report(analyse(job(cl, 150, other=demo, seed=12)), COSTS)
    assert other_seed.strategy.overall.placed != first.strategy.overall.placed


def test_a_portfolio_from_yaml_shapes_the_accounts(cl: montecarlo.CompiledStrategy) -> None:
    doc = read_portfolio(
        """
balance: {min: "200,000", max: "200,000"}
days_past_due: {min: 10, max: 10}
channels: {email: 1.0, sms: 0.0, letter: 0.0}
responses: {email: 0.0}
behaviour: {answer: 0.0, self_cure: 0.0}
"""
    )
    found = report(analyse(job(cl, 50, portfolio=doc)), COSTS)
    overall = found.strategy.overall
    assert overall.placed.minor == 50 * 200_000
    channels = {line.channel for line in overall.cost_by_channel}
    assert channels <= {"email"}  # nobody has a phone or an address
    assert overall.calls == 0  # nobody answers


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("behaviour: {answer: 1.5}\n", (1, 21)),
        ("days_past_due: {min: 9, max: 2}\n", (1, 16)),
        ("chanels: {email: 1}\n", (1, 1)),
        ("behaviour:\n  promise: 0.7\n  plan: 0.5\n", (2, 3)),
    ],
)
def test_a_bad_portfolio_is_refused_at_its_line_and_column(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(Invalid) as caught:
        read_portfolio(text)
    assert "portfolio is not valid" in caught.value.detail
    assert (caught.value.fields[0].line, caught.value.fields[0].column) == where


def test_balances_are_money_in_the_strategys_currency(cl: montecarlo.CompiledStrategy) -> None:
    doc = read_portfolio('balance: {min: "100.50"}\n')  # CLP has no decimals
    with pytest.raises(Invalid) as caught:
        run(job(cl, 10, portfolio=doc), COSTS, max_accounts=MAX_API_ACCOUNTS)
    field = caught.value.fields[0]
    assert field.pointer == "/portfolio/balance/min"
    assert "CLP has no decimals" in field.detail


def test_bounds_are_refused_before_anything_runs(cl: montecarlo.CompiledStrategy) -> None:
    with pytest.raises(Invalid) as caught:
        run(job(cl, MAX_API_ACCOUNTS + 1, days=0), COSTS, max_accounts=MAX_API_ACCOUNTS)
    assert [f.pointer for f in caught.value.fields] == ["/accounts", "/days"]


CSV = """account_id,debtor_name,country,currency,balance,due_date,email,phone,consent
CL-1,Ana Pérez,CL,CLP,150000,2026-10-01,ana@example.com,+56987654321,yes
CL-2,Luis Soto,CL,CLP,2500000,2026-09-15,luis@example.com,+56987654322,yes
CL-3,Eva Ríos,CL,CLP,80000,2026-10-20,,+56987654323,yes
"""


def test_the_accounts_of_an_import_file_run_as_they_are(cl: montecarlo.CompiledStrategy) -> None:
    accounts = imported_accounts(CSV.encode(), cl, START.date())
    assert [a.account_id for a in accounts] == ["CL-1", "CL-2", "CL-3"]
    found: WhatIf = report(analyse(job(cl, accounts=accounts)), COSTS)
    assert found.portfolio == "import file"
    assert found.strategy.overall.placed.minor == 150_000 + 2_500_000 + 80_000


def test_an_import_file_with_bad_rows_is_refused_row_by_row(cl: montecarlo.CompiledStrategy) -> None:
    bad = CSV.replace("2500000", "lots").replace("CL,CLP,80000", "CL,USD,80000")
    with pytest.raises(Invalid) as caught:
        imported_accounts(bad.encode(), cl, START.date())
    pointers = [f.pointer for f in caught.value.fields]
    assert pointers[0] == "/rows/2/balance"
    assert any(p is not None and p.startswith("/rows/3") for p in pointers)


def test_the_recovery_curves_draw_as_an_inline_svg(cl: montecarlo.CompiledStrategy) -> None:
    found = report(analyse(job(cl, 40)), COSTS)
    assert found.baseline is not None
    series = [
        (arm.label, [(p.day, float(p.share or 0)) for p in arm.overall.recovery_curve])
        for arm in (found.strategy, found.baseline)
    ]
    svg = recovery_svg(series, found.days, "Recovery <by day>")
    root = ElementTree.fromstring(svg)  # well-formed, with its labels escaped
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    assert len(lines[0].attrib["points"].split()) == 1 + len(found.checkpoints)
    assert "Recovery &lt;by day&gt;" in svg
    assert "<script" not in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
