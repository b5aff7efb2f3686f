"""The compiler's output and its all-at-once error reporting, on the small base strategy that the
invalid corpus is made from (tests/strategies/valid/base.yaml)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domain.strategy import CompiledStrategy
from strategies.compiler import DEFAULT_SPREAD_S, compile_file, compile_text, content_hash
from strategies.jsonschema import strategy_schema
from strategies.loader import StrategyError, StrategyInvalid

BASE_PATH = Path(__file__).parent / "valid" / "base.yaml"
BASE = BASE_PATH.read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def with_policy(rules: str) -> str:
    """The base strategy with `rules` (indented YAML lines) added under `policy:`."""
    return edit(BASE, "  preset: CL\n", "  preset: CL\n" + rules)


def errors_of(text: str) -> list[StrategyError]:
    with pytest.raises(StrategyInvalid) as caught:
        compile_text(text, "s.yaml")
    return caught.value.errors


class TestOutput:
    def test_base_compiles_without_warnings(self) -> None:
        compiled = compile_file(str(BASE_PATH))
        assert compiled.warnings == ()
        assert list(compiled.strategy.steps) == ["email1", "call", "promise_wait", "legal", "thanks"]

    def test_is_json_serializable_and_round_trips(self) -> None:
        s = compile_file(str(BASE_PATH)).strategy
        text = s.model_dump_json()
        assert json.loads(text)["id"] == "test"
        assert CompiledStrategy.model_validate_json(text) == s
        assert json.dumps(s.model_dump(mode="json"))  # plain JSON types all the way down

    def test_hash_is_a_sha256_of_the_content(self) -> None:
        s = compile_file(str(BASE_PATH)).strategy
        assert re.fullmatch(r"[0-9a-f]{64}", s.hash)
        assert s.hash == content_hash(s)

    def test_hash_is_stable_across_compilations(self) -> None:
        first = compile_file(str(BASE_PATH)).strategy.hash
        second = compile_text(BASE, "elsewhere.yaml").strategy.hash
        assert first == second

    def test_hash_changes_when_one_template_word_changes(self) -> None:
        before = compile_text(BASE).strategy.hash
        after = compile_text(edit(BASE, "subject: Recordatorio", "subject: Aviso")).strategy.hash
        assert after != before

    def test_percentages_stay_plain_decimals(self) -> None:
        text = edit(
            BASE, "promises:\n", "plans:\n  min_down_payment: 10%\n  step: call\n  on_broken: legal\npromises:\n"
        )
        s = compile_text(text).strategy
        assert s.plans is not None
        assert s.plans.min_down_payment_pct == "10"


class TestPolicy:
    def test_override_with_a_reason_compiles_and_is_reported(self) -> None:
        text = with_policy(
            "  override:\n"
            "    reason: legal opinion LEG-42 allows weekday calls until 21:00\n"
            "    windows:\n"
            '      - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "21:00"}\n'
        )
        compiled = compile_text(text)
        policy = compiled.strategy.policy
        assert policy.name == "CL+override"
        assert len(policy.overrides) == 1
        assert "20:00-21:00" in policy.overrides[0]
        assert "LEG-42" in policy.overrides[0]
        assert any("policy override" in w and "20:00-21:00" in w for w in compiled.warnings)

    def test_tightening_the_preset_compiles_without_warnings(self) -> None:
        text = with_policy('  windows:\n    - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}\n')
        compiled = compile_text(text)
        assert compiled.warnings == ()
        assert compiled.strategy.policy.overrides == ()
        (window,) = compiled.strategy.policy.windows
        assert (window.start, window.end) == (9 * 60, 18 * 60)

    def test_loosening_without_override_points_at_the_rule(self) -> None:
        text = with_policy('  windows:\n    - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "22:00"}\n')
        (error,) = errors_of(text)
        assert (error.line, error.col) == (9, 60)
        assert "loosens preset CL" in error.message
        assert "policy.override" in error.message


class TestSpread:
    def test_a_new_strategy_spreads_moved_contacts_by_the_default(self) -> None:
        assert compile_text(BASE).strategy.policy.spread_s == DEFAULT_SPREAD_S == 30 * 60

    @pytest.mark.parametrize(("written", "seconds"), [("45min", 2700), ("2h", 7200), ("1d", 86400), ("0min", 0)])
    def test_the_policy_sets_it(self, written: str, seconds: int) -> None:
        compiled = compile_text(with_policy(f"  spread: {written}\n"))
        assert compiled.strategy.policy.spread_s == seconds
        assert compiled.warnings == ()  # later within allowed time is never a loosening

    def test_it_is_part_of_the_version(self) -> None:
        hashes = {compile_text(with_policy(f"  spread: {w}\n")).strategy.hash for w in ("0min", "30min", "1h")}
        assert len(hashes) == 3
        assert compile_text(with_policy("  spread: 30min\n")).strategy.hash == compile_text(BASE).strategy.hash

    def test_the_editor_schema_offers_it(self) -> None:
        policy = strategy_schema()["$defs"]["PolicyDoc"]["properties"]
        assert "spread" in policy
        assert "30min" in policy["spread"]["description"]


class TestAllErrorsAtOnce:
    def test_semantic_mistakes_are_all_reported_sorted_by_line(self) -> None:
        text = edit(BASE, "currency: CLP", "currency: XYZ")
        text = edit(text, "      - goto: call\n  call:", "      - goto: cal\n  call:")
        text = edit(text, "queue: calls", "queue: cals")
        text = edit(text, "{{ debtor.first_name }}", "{{ debtr.first_name }}")
        errors = errors_of(text)
        assert [(e.line, e.col) for e in errors] == [(4, 11), (26, 15), (31, 18), (55, 17)]
        assert errors == sorted(errors, key=lambda e: (e.line, e.col))
        assert "unknown currency 'XYZ'" in errors[0].message
        assert "unknown step 'cal'; did you mean 'call'?" in errors[1].message
        assert "unknown queue 'cals'; did you mean 'calls'?" in errors[2].message
        assert "unknown template variable 'debtr'" in errors[3].message

    def test_shape_mistakes_are_all_reported_sorted_by_line(self) -> None:
        # An unknown field must not hide the mistakes next to it.
        text = edit(BASE, "name: Test\n", "name: Test\nowner: ana\n")
        text = edit(text, "stage: outreach", "stage: outrech")
        text = edit(text, "- wait: 3d\n      - send: {channel: sms", "- wait: 3 days\n      - send: {channel: sms")
        text = edit(text, "stage: commitment\n", "stage: commitment\n    retries: 2\n")
        errors = errors_of(text)
        assert [e.line for e in errors] == [3, 21, 24, 38]
        assert "unknown field 'owner'" in errors[0].message
        assert "unknown stage 'outrech'; did you mean 'outreach'?" in errors[1].message
        assert "cannot parse duration '3 days'" in errors[2].message
        assert "steps.promise_wait: unknown field 'retries'" in errors[3].message

    def test_a_misspelt_field_is_not_also_reported_missing(self) -> None:
        (error,) = errors_of(edit(BASE, "steps:", "stpes:"))
        assert "unknown field 'stpes'; did you mean 'steps'?" in error.message

    def test_a_misspelt_step_does_not_make_its_target_unreachable(self) -> None:
        (error,) = errors_of(edit(BASE, "payment_in_full: thanks", "payment_in_full: thank"))
        assert error.message == "unknown step 'thank'; did you mean 'thanks'?"

    def test_errors_read_as_file_line_col_message(self) -> None:
        (error,) = errors_of(edit(BASE, "currency: CLP", "currency: XYZ"))
        assert str(error).startswith("s.yaml:4:11: unknown currency 'XYZ'")
