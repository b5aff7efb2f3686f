"""How the agents' and strategists' pages read what a person typed, without a browser: amounts in
major units become exact minor units of the account's currency, and a YAML source's errors are
placed beside the lines they name."""

from __future__ import annotations

import pytest

from console.amounts import minor_of
from console.pages.strategists import _lines
from services.errors import Field, Invalid


class TestAmounts:
    @pytest.mark.parametrize(
        ("typed", "currency", "minor"),
        [
            ("150000", "CLP", 150_000),
            ("1500.5", "USD", 150_050),
            (" 12.345 ", "KWD", 12_345),
            ("1500.00", "USD", 150_000),
        ],
    )
    def test_major_units_become_minor_units(self, typed: str, currency: str, minor: int) -> None:
        assert minor_of(typed, currency, "/body/amount") == minor

    @pytest.mark.parametrize(("typed", "currency"), [("1500.5", "CLP"), ("0", "CLP"), ("-5", "USD"), ("mucho", "CLP")])
    def test_what_is_not_an_amount_of_the_currency_is_refused_with_its_field(self, typed: str, currency: str) -> None:
        with pytest.raises(Invalid) as refused:
            minor_of(typed, currency, "/body/amount")
        assert [f.pointer for f in refused.value.fields] == ["/body/amount"]


class TestSourceLines:
    def test_each_error_sits_beside_its_line_in_column_order(self) -> None:
        source = "id: x\nname: y\nsteps: {}\n"
        errors = [Field(None, "b", line=2, column=9), Field(None, "a", line=2, column=1), Field(None, "c", line=3)]
        lines = _lines(source, errors)
        assert [(line.number, line.text) for line in lines] == [(1, "id: x"), (2, "name: y"), (3, "steps: {}")]
        assert [[e.detail for e in line.errors] for line in lines] == [[], ["a", "b"], ["c"]]

    def test_an_error_past_the_end_goes_on_the_last_line_and_one_without_a_line_on_the_first(self) -> None:
        lines = _lines("a: 1\nb: 2", [Field(None, "late", line=9), Field("/x", "nowhere")])
        assert [[e.detail for e in line.errors] for line in lines] == [["nowhere"], ["late"]]

    def test_an_empty_source_still_has_a_line_to_show_its_error(self) -> None:
        assert [line.errors[0].detail for line in _lines("", [Field(None, "empty", line=1, column=1)])] == ["empty"]
