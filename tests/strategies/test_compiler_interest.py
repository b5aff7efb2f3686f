"""Interest as strategists write it: compiled exactly, checked against each country's legal maximum
(the preset's dated figure, or the one in force the policy states), and fees checked over a journey."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.interest import Interest
from strategies.compiler import compile_file, compile_text
from strategies.loader import StrategyInvalid

VALID = Path(__file__).parent / "valid"
BASE = """
id: unit
name: Unit
locale: {locale}
currency: {currency}
timezone: {zone}
policy:
  preset: {preset}
{extra}segments: [{{name: all, start: s1}}]
steps:
  s1:
    stage: outreach
    do:
      - send: {{channel: email, template: t}}
      - wait: 30d
      - end: written_off
templates:
  t:
    {locale}:
      body: "Intereses {{{{ interest.total | money }}}}"
"""
CL = {"locale": "es-CL", "currency": "CLP", "zone": "America/Santiago", "preset": "CL"}
MX = {"locale": "es-MX", "currency": "MXN", "zone": "America/Mexico_City", "preset": "MX"}


def text(country: dict[str, str], extra: str) -> str:
    return BASE.format(extra=extra, **country)


class TestInterest:
    def test_compiles_to_an_exact_rate(self) -> None:
        result = compile_text(text(CL, "interest: {rate: 2.50%, per: month, after_days: 20}\n"), "s.yaml")
        assert result.strategy.interest == Interest(rate="2.5", per="month", after_days=20)

    def test_the_presets_dated_ceiling_asks_for_the_figure_in_force(self) -> None:
        result = compile_text(text(CL, "interest: {rate: 2%, per: month}\n"), "s.yaml")
        (warning,) = [w for w in result.warnings if "interest" in w]
        assert warning.startswith("9:18: interest.rate: interest is checked against Chile's maximum conventional")
        assert "36.2% a year as of 2018-01" in warning
        assert "write the figure in force as policy.interest_ceiling" in warning

    def test_the_ceiling_the_policy_states_replaces_the_presets(self) -> None:
        stated = text(CL, "interest: {rate: 3.5%, per: month}\n").replace(
            "  preset: CL\n", "  preset: CL\n  interest_ceiling: 45%\n"
        )
        result = compile_text(stated, "s.yaml")  # 45% / 12 = 3.75% a month
        assert not [w for w in result.warnings if "interest" in w]
        lower = stated.replace("interest_ceiling: 45%", "interest_ceiling: 30%")
        with pytest.raises(StrategyInvalid, match=r"write at most 2\.5% a month"):
            compile_text(lower, "s.yaml")

    def test_mexico_has_no_single_legal_maximum_to_compare_with(self) -> None:
        result = compile_text(text(MX, "interest: {rate: 10%, per: month}\n"), "s.yaml")
        assert result.strategy.interest is not None
        assert not [w for w in result.warnings if "interest" in w]

    def test_no_interest_leaves_the_hash_as_it_was(self) -> None:
        plain = compile_text(text(CL, ""), "s.yaml").strategy
        assert plain.interest is None
        body = plain.model_dump(mode="json")
        assert body["interest"] is None  # dumped, but left out of the hash (domain.frozen.added)
        from strategies.compiler import content_hash

        assert content_hash(plain) == plain.hash
        assert content_hash(plain.model_copy(update={"interest": Interest(rate="1", per="day")})) != plain.hash

    def test_shipped_strategies_still_compile(self) -> None:
        root = Path(__file__).resolve().parents[2] / "strategies"
        for path in sorted(root.glob("*.yaml")):
            assert compile_file(str(path)).strategy.interest is None


class TestFeesOverAJourney:
    def test_fees_on_exclusive_branches_do_not_add_up(self) -> None:
        branches = """
segments:
  - {name: small, when: 'balance < money("100,000")', start: a}
  - {name: big, start: b}
steps:
  a:
    stage: legal
    fees: [{percent: 6%}]
    do: [{send: {channel: email, template: t}}, {wait: 30d}, {end: written_off}]
  b:
    stage: legal
    fees: [{percent: 6%}]
    do: [{send: {channel: email, template: t}}, {wait: 30d}, {end: written_off}]
"""
        doc = text(CL, "").split("segments:")[0] + branches.lstrip("\n") + text(CL, "").split("written_off\n")[1]
        compile_text(doc, "s.yaml")  # each route charges 6% at most: within the cap
