"""Mistakes that used to pass validation (issue 13): the valid way to say each thing compiles and
means what it says, and the near misses that are not refused outright are warned about, at their
line and column. The refusals themselves are cases of the invalid corpus (tests/strategies/invalid/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.strategy import OfferSettlementAction, WaitAction
from strategies.compiler import Compiled, compile_text
from strategies.jsonschema import strategy_schema
from strategies.loader import StrategyInvalid

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


class TestMoney:
    def test_a_fixed_fee_is_written_as_money_and_compiled_to_minor_units(self) -> None:
        result = compiled("    stage: legal\n    do:", '    stage: legal\n    fees: [{fixed: "5,000 CLP"}]\n    do:')
        (fee,) = result.strategy.steps["legal"].fees
        assert fee.fixed_minor == 5000
        mxn = edit(BASE, "currency: CLP", "currency: MXN")
        fee = '    stage: legal\n    fees: [{fixed: "1,250.50 MXN"}]\n    do:'
        in_pesos = compile_text(edit(mxn, "    stage: legal\n    do:", fee), "s.yaml")
        assert in_pesos.strategy.steps["legal"].fees[0].fixed_minor == 125050

    def test_the_fee_caps_unit_is_money_too(self) -> None:
        result = compiled("  preset: CL\n", '  preset: CL\n  fee_cap_unit_value: "39,850 CLP"\n')
        assert result.strategy.fee_cap is not None
        assert result.strategy.fee_cap.unit_minor == 39850

    def test_money_in_a_condition_runs_as_minor_units(self) -> None:
        """The interpreter sees a plain number (CEL has no money()), so a strategy that writes its
        amounts as money compiles to exactly what it compiled to when they were minor units."""
        segment = "  - name: all\n"
        usd = edit(BASE, "currency: CLP", "currency: USD")
        as_money = compile_text(edit(usd, segment, segment + '    when: balance >= money("1,500.50")\n')).strategy
        assert as_money.segments[0].when == "balance >= 150050"

    def test_a_shipped_strategy_compiles_to_what_it_did_with_minor_units(self) -> None:
        """cl-consumer once wrote `balance >= 1000000`; with money("1,000,000") its version is the same."""
        shipped = Path(__file__).parents[2] / "strategies" / "cl-consumer.yaml"
        text = shipped.read_text(encoding="utf-8")
        assert 'balance >= money("1,000,000")' in text
        before = text.replace('money("1,000,000")', "1000000").replace('money("100,000")', "100000")
        with pytest.raises(StrategyInvalid):  # a bare number beside an amount is refused now
            compile_text(before, "cl.yaml")
        runs = compile_text(text, "cl.yaml").strategy
        assert runs.segments[0].when == "balance >= 1000000"


def with_segment_condition(condition: str) -> str:
    """The base strategy with its one segment (line 11) behind `condition`, double-quoted for YAML."""
    quoted = condition.replace("\\", "\\\\").replace('"', '\\"')
    return edit(BASE, "  - name: all\n", f'  - name: all\n    when: "{quoted}"\n')


class TestConditionsCompareLikeWithLike:
    @pytest.mark.parametrize(
        "condition",
        [
            "'vip' in tags",
            'country == "CL" && currency == "CLP"',
            "days_past_due > 30 && contacts < 3 && risk_score < 0.5",
            "opened * 100 / 3 > contacts",
            'segment == "all" || variant == ""',
            "paid_total * 2 >= original_amount",
        ],
    )
    def test_comparisons_of_the_same_kind_of_thing_compile(self, condition: str) -> None:
        assert compile_text(with_segment_condition(condition), "s.yaml").warnings == ()

    @pytest.mark.parametrize(
        ("condition", "message"),
        [
            ("tags == 'vip'", "compares list(string) with string, which is never equal"),
            ("'vip' == tags", "compares string with list(string), which is never equal"),
            ("tags != 'vip'", "compares list(string) with string, which is never equal"),
            ("has_email == 1", "compares bool with int, which is never equal"),
            ("size(tags) == '2'", "compares int with string, which is never equal"),
            ("1 in tags", "looks for an int in a list(string), which never holds one"),
            ("risk_score > days_past_due", "compares a risk score with a number of days"),
            ("contacts + days_past_due > 3", "adds a count to a number of days"),
            ("balance > paid_total + 10", "adds an amount of money (minor units) to a bare number"),
            ('variant == "challenger"', "variant is never 'challenger'; the strategy's variants: none"),
            ('segment != "al"', "is always true: segment is never 'al'; did you mean 'all'?"),
            ('currency == "USD"', "every account this strategy runs is in CLP"),
        ],
    )
    def test_the_class_of_never_equal_comparisons_is_refused(self, condition: str, message: str) -> None:
        with pytest.raises(StrategyInvalid) as caught:
            compile_text(with_segment_condition(condition), "s.yaml")
        assert any(message in e.message and e.line == 11 for e in caught.value.errors), caught.value.errors


class TestWhatRunsIsWhatIsWritten:
    def test_a_catch_all_segment_placed_last_compiles(self) -> None:
        segments = "segments:\n  - name: all\n    start: email1\n"
        big = '  - name: big\n    when: balance > money("1,000,000")\n    start: call\n'
        result = compiled(segments, "segments:\n" + big + "  - name: all\n    start: email1\n")
        assert [s.name for s in result.strategy.segments] == ["big", "all"]

    @pytest.mark.parametrize(
        ("until", "then"),
        [
            ("sat 10:00", "send: {channel: sms"),  # CL allows Monday to Saturday, 08:00-20:00
            ("19:59", "send: {channel: sms"),
            ("sun 10:00", "send: {channel: letter"),  # letters are no communication at a time
        ],
    )
    def test_a_wait_until_a_time_the_policy_allows_for_what_follows_compiles(self, until: str, then: str) -> None:
        result = compiled(
            "      - wait: 3d\n      - send: {channel: sms", f'      - wait: {{until: "{until}"}}\n      - {then}'
        )
        assert result.warnings == ()

    def test_the_window_check_follows_the_strategys_own_tightening(self) -> None:
        """Saturday is in the preset, but not in a strategy that narrowed its window to weekdays."""
        text = edit(
            BASE,
            "  preset: CL\n",
            '  preset: CL\n  windows: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}]\n',
        )
        text = edit(
            text,
            "      - wait: 3d\n      - send: {channel: sms",
            '      - wait: {until: "sat 10:00"}\n      - send: {channel: sms',
        )
        with pytest.raises(StrategyInvalid) as caught:
            compile_text(text, "s.yaml")
        (error,) = caught.value.errors
        assert (
            "can never go out at sat 10:00: policy CL allows sms only mon, tue, wed, thu, fri 09:00-18:00"
            in error.message
        )

    def test_a_fee_within_the_cap_compiles_without_a_word(self) -> None:
        result = compiled("    stage: legal\n    do:", "    stage: legal\n    fees: [{percent: 3%}]\n    do:")
        assert result.warnings == ()

    def test_a_fee_the_cap_cuts_on_larger_debts_is_a_warning_saying_from_which(self) -> None:
        text = edit(BASE, "    stage: legal\n    do:", "    stage: legal\n    fees: [{percent: 9%}]\n    do:")
        (warning,) = compile_text(text, "s.yaml").warnings
        line = line_of(text, "fees: [{percent: 9%}]")
        assert warning.startswith(f"{line}:22: steps.legal.fees[0].percent: a fee of 9% of the balance")
        assert "on debts from $397.017; there it is cut to the cap at run time" in warning
        assert "9% of the debt up to $397.000, 6% of the part up to $1.985.000, 3% above" in warning

    def test_a_fixed_fee_is_a_warning_naming_the_debts_too_small_for_it(self) -> None:
        text = edit(BASE, "    stage: legal\n    do:", '    stage: legal\n    fees: [{fixed: "5,000 CLP"}]\n    do:')
        (warning,) = compile_text(text, "s.yaml").warnings
        assert "a fixed fee of $5.000 is above the legal cap CL-$1" in warning
        assert "on debts below $55.550" in warning

    def test_the_cap_is_valued_with_the_strategys_unit_value(self) -> None:
        text = edit(BASE, "    stage: legal\n    do:", "    stage: legal\n    fees: [{percent: 9%}]\n    do:")
        text = edit(text, "  preset: CL\n", '  preset: CL\n  fee_cap_unit_value: "40,000 CLP"\n')
        (warning,) = compile_text(text, "s.yaml").warnings
        assert "9% of the debt up to $400.000" in warning

    def test_presets_without_a_fee_cap_say_nothing(self) -> None:
        text = edit(BASE, "  preset: CL\n", "  preset: MX\n")
        text = edit(text, "    stage: legal\n    do:", "    stage: legal\n    fees: [{percent: 12%}]\n    do:")
        assert compile_text(text, "s.yaml").warnings == ()


class TestEditorSchema:
    """`collect strategy schema` teaches editors the same one way to write each thing."""

    def test_units_percentages_and_amounts(self) -> None:
        defs = strategy_schema()["$defs"]
        wait = re.compile(defs["WaitSpec"]["properties"]["for"]["anyOf"][0]["pattern"])
        other = re.compile(defs["AgentTaskSpec"]["properties"]["due_within"]["pattern"])
        percent = re.compile(defs["FeeDoc"]["properties"]["percent"]["anyOf"][0]["pattern"])
        amount = re.compile(defs["FeeDoc"]["properties"]["fixed"]["anyOf"][0]["pattern"])
        assert [bool(wait.match(t)) for t in ("1mo2d", "90min", "1m")] == [True, True, False]
        assert [bool(other.match(t)) for t in ("90min", "1mo", "1m")] == [True, False, False]
        assert [bool(percent.match(t)) for t in ("2.5%", "0.15")] == [True, False]
        assert [bool(amount.match(t)) for t in ("5,000.00 MXN", "5000 CLP", "5000")] == [True, True, False]
