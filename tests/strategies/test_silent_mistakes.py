"""Mistakes that used to pass validation (issue 13): the valid way to say each thing compiles and
means what it says, and the near misses that are not refused outright are warned about, at their
line and column. The refusals themselves are cases of the invalid corpus (tests/strategies/invalid/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.strategy import OfferSettlementAction, WaitAction
from strategies.compiler import Compiled, compile_text

BASE = (Path(__file__).parent / "valid" / "base.yaml").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def compiled(old: str, new: str) -> Compiled:
    return compile_text(edit(BASE, old, new), "s.yaml")


def line_of(text: str, needle: str) -> int:
    (number,) = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return number


class TestUnits:
    @pytest.mark.parametrize(
        ("written", "months", "seconds"), [("1mo", 1, 0), ("1min", 0, 60), ("2mo1d", 2, 86400), ("1h30min", 0, 5400)]
    )
    def test_minutes_and_months_each_have_their_own_unit(self, written: str, months: int, seconds: int) -> None:
        sms = "\n      - send: {channel: sms"
        result = compiled("      - wait: 3d" + sms, f"      - wait: {written}" + sms)
        wait = result.strategy.steps["email1"].actions[1]
        assert isinstance(wait, WaitAction)
        assert (wait.months, wait.seconds) == (months, seconds)
        assert result.warnings == ()


SETTLEMENT = "      - escalate_legal: {approval: true, on_rejected: call}"


def settlement(discount: str) -> str:
    spec = f"channel: email, template: reminder, max_discount: {discount}, expires_in: 7d"
    return f"      - offer_settlement: {{{spec}}}\n"


class TestPercentages:
    def test_a_percentage_with_its_sign_means_what_it_says(self) -> None:
        result = compiled(SETTLEMENT, settlement("15%") + SETTLEMENT)
        offer = result.strategy.steps["legal"].actions[0]
        assert isinstance(offer, OfferSettlementAction)
        assert offer.max_discount_pct == "15"
        assert result.warnings == ()

    def test_less_than_one_percent_is_warned_about_where_it_is_written(self) -> None:
        text = edit(BASE, SETTLEMENT, settlement("0.15%") + SETTLEMENT)
        result = compile_text(text, "s.yaml")
        line = line_of(text, "max_discount: 0.15%")
        (warning,) = result.warnings
        assert warning.startswith(f"{line}:78: steps.legal.do[0].offer_settlement.max_discount: ")
        assert "0.15% is less than one percent; if 15% was meant (0.15 as a fraction), write 15%" in warning

    def test_zero_and_whole_percentages_are_not_warned_about(self) -> None:
        assert compiled(SETTLEMENT, settlement("0%") + SETTLEMENT).warnings == ()
        assert compiled(SETTLEMENT, settlement("1%") + SETTLEMENT).warnings == ()
