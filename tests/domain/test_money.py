"""Money means the same whatever Babel says: the product's ISO 4217 table decides every exponent.

The class of defect: an amount stored as integer minor units whose exponent comes from library
data (CLDR, through Babel) changes meaning when the library is upgraded (Babel 2.19 gave COP 0
decimals where the suite was written with 2). These tests pin the table to ISO 4217, account for
every code the installed Babel knows, and prove import, rendering and simulation give the same
amounts and text when Babel's precision data is replaced by nonsense.
"""

from __future__ import annotations

import importlib.util
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import babel.core
import babel.numbers
import pytest
from babel.numbers import list_currencies
from hypothesis import given
from hypothesis import strategies as hs

from api.account_import import parse_csv
from domain.money import (
    DEVIATIONS,
    MINOR_UNITS,
    NOT_MONEY,
    OBSOLETE,
    WITHDRAWN,
    UnknownCurrency,
    minor_digits,
    refusal,
    to_major,
    to_minor,
)
from simulator.montecarlo import synthetic_account
from strategies import rendering
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]

# Copied by hand from ISO 4217 List One (minor unit column), for the markets the product serves and
# the codes whose minor unit is not 2. Not generated from any library.
ISO_4217_EXCERPT = {
    "CLP": 0, "CLF": 4, "COP": 2, "COU": 2, "MXN": 2, "MXV": 2, "USD": 2, "PEN": 2, "ARS": 2,
    "BRL": 2, "UYU": 2, "UYI": 0, "UYW": 4, "BOB": 2, "PYG": 0, "EUR": 2, "GBP": 2, "CAD": 2,
    "JPY": 0, "KRW": 0, "VND": 0, "ISK": 0, "HUF": 2, "IDR": 2, "IQD": 3, "KWD": 3, "BHD": 3,
    "JOD": 3, "LYD": 3, "OMR": 3, "TND": 3, "XAF": 0, "XOF": 0, "XPF": 0, "BIF": 0, "DJF": 0,
    "GNF": 0, "KMF": 0, "RWF": 0, "UGX": 0, "VUV": 0, "AFN": 2, "ALL": 2, "IRR": 2, "LAK": 2,
    "LBP": 2, "MGA": 2, "MMK": 2, "RSD": 2, "SOS": 2, "SYP": 2, "YER": 2, "KPW": 2, "MRU": 2,
}  # fmt: skip


class TestTable:
    def test_every_currency_babel_knows_is_in_the_table_or_refused_with_a_reason(self) -> None:
        unaccounted = set(list_currencies()) - set(MINOR_UNITS) - NOT_MONEY - set(WITHDRAWN) - OBSOLETE
        # A new code in a Babel upgrade lands here: decide its minor unit (ISO 4217) or refuse it.
        assert unaccounted == set()
        for code in set(list_currencies()) - set(MINOR_UNITS):
            assert refusal(code), code
            with pytest.raises(UnknownCurrency):
                minor_digits(code)

    def test_the_table_is_iso_4217_apart_from_written_deviations(self) -> None:
        for code, digits in ISO_4217_EXCERPT.items():
            assert minor_digits(code) == DEVIATIONS.get(code, digits), code
        assert dict(DEVIATIONS) == {}  # none today; a deviation needs its reason in domain/money.py
        assert all(d in (0, 2, 3, 4) for d in MINOR_UNITS.values())
        assert not (set(MINOR_UNITS) & (NOT_MONEY | set(WITHDRAWN) | OBSOLETE))
        assert all(code.isalpha() and code.isupper() and len(code) == 3 for code in MINOR_UNITS)

    def test_withdrawn_codes_name_a_replacement_in_the_table(self) -> None:
        assert all(new in MINOR_UNITS for new in WITHDRAWN.values())
        assert "EUR" in str(refusal("BGN"))

    def test_the_migration_backfills_what_the_table_says(self) -> None:
        path = ROOT / "migrations" / "versions" / "0003_currency_exponent.py"
        spec = importlib.util.spec_from_file_location("m0003", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        from_migration = {c: d for d, codes in module.NOT_TWO.items() for c in codes}
        assert {c: d for c, d in MINOR_UNITS.items() if d != 2} == from_migration


class TestConversions:
    @given(hs.integers(min_value=-(10**18), max_value=10**18), hs.sampled_from(sorted(MINOR_UNITS)))
    def test_minor_to_major_and_back_is_exact(self, minor: int, code: str) -> None:
        major = to_major(minor, code)
        assert to_minor(major, code) == minor
        assert -major.as_tuple().exponent == minor_digits(code)  # type: ignore[operator]

    def test_examples(self) -> None:
        assert to_minor(Decimal("1500.00"), "COP") == 150000
        assert to_minor(Decimal("150000"), "CLP") == 150000
        assert to_minor(Decimal("1500.5"), "USD") == 150050
        assert to_minor(Decimal("1.0001"), "CLF") == 10001
        assert to_minor(Decimal("1500.000"), "USD") == 150000  # trailing zeros are harmless
        assert to_minor(Decimal("1E+3"), "CLP") == 1000
        assert to_major(150050, "USD") == Decimal("1500.50")
        assert str(to_major(1, "KWD")) == "0.001"
        assert to_major(150000, "COP", digits=0) == Decimal("150000")  # an amount's own exponent wins

    @pytest.mark.parametrize(("text", "code"), [("1.5", "CLP"), ("1.005", "USD"), ("0.00001", "CLF")])
    def test_more_decimals_than_the_currency_has_are_refused(self, text: str, code: str) -> None:
        with pytest.raises(ValueError, match="more decimals"):
            to_minor(Decimal(text), code)

    def test_not_a_number_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not an amount"):
            to_minor(Decimal("NaN"), "USD")


# ---- the product does not depend on Babel's precision data ---------------------------------------

CSV = (
    "account_id,country,currency,balance,due_date,timezone\n"
    "A1,CO,COP,1500.00,2026-10-01,America/Bogota\n"
    "A2,CL,CLP,150000,2026-10-01,America/Santiago\n"
    "A3,KW,KWD,12.345,2026-10-01,Asia/Kuwait\n"
    "A4,US,USD,1500.5,2026-10-01,America/New_York\n"
    "A5,CO,COP,1500.001,2026-10-01,America/Bogota\n"
)
RENDERED = [
    ("COP", "es-CO", 150000),
    ("CLP", "es-CL", 150000),
    ("USD", "en-US", 150050),
    ("KWD", "en-US", 12345),
    ("CLF", "es-CL", 10001),
    ("MXN", "es-MX", 150000),
    ("JPY", "ja-JP", 1500),
]
STRATEGIES = ["co-consumer.yaml", "cl-consumer.yaml", "us-regf-consumer.yaml"]


def observe() -> dict[str, Any]:
    """Everything that depends on a currency's exponent: imported amounts and problems, money as
    text, a CO template, and the simulator's synthetic balances (recorded and table exponents)."""
    rendering.environment.cache_clear()
    rendering._pattern.cache_clear()
    parsed = parse_csv(CSV.encode(), today=date(2026, 11, 30))
    out: dict[str, Any] = {
        "imported": [(a.external_id, a.record.snapshot.balance) for a in parsed.accounts],
        "problems": [(p.row, p.field, p.detail) for p in parsed.problems],
        "money": [rendering.money(amount, code, locale) for code, locale, amount in RENDERED],
        "template": rendering.render(
            "Debe {{ account.balance | money }}", "es-CO", "COP", {"account": {"balance": 150000}}
        ),
    }
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    for name in STRATEGIES:
        strategy = compile_file(str(ROOT / "strategies" / name)).strategy
        out[name] = (strategy.currency_digits, strategy.hash)
        for s in (strategy, strategy.model_copy(update={"currency_digits": None})):
            rng = random.Random(7)
            out[f"{name}:{s.currency_digits}"] = [synthetic_account(s, i, rng, start).balance for i in range(20)]
    return out


def test_import_rendering_and_simulation_ignore_babels_precision_data(monkeypatch: pytest.MonkeyPatch) -> None:
    before = observe()
    assert before["imported"] == [("A1", 150000), ("A2", 150000), ("A3", 12345), ("A4", 150050)]
    assert [p[:2] for p in before["problems"]] == [(5, "balance")]
    assert before["money"][:3] == ["$1.500,00", "$150.000", "$1,500.50"]
    assert before["template"] == "Debe $1.500,00"

    # What another CLDR release could say: every currency with other decimals than today.
    babel.core.get_global("currency_fractions")  # loads the data, so the patch below sticks
    fractions = babel.core._global_data["currency_fractions"]
    for code in list(fractions):
        monkeypatch.setitem(fractions, code, (5, 0, 5, 0))
    monkeypatch.setattr(babel.numbers, "get_currency_precision", lambda currency: 1)
    assert babel.numbers.format_currency(1, "COP", locale="es_CO") != "$1,00"  # the patch is in force
    try:
        assert observe() == before
    finally:
        monkeypatch.undo()
        rendering.environment.cache_clear()
        rendering._pattern.cache_clear()
