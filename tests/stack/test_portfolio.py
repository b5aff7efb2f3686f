"""The demo portfolio generator: every file it writes is taken whole by the account import, the
same seed gives the same file, the ids and numbers are valid ones (RUT check digits, mobile numbers
libphonenumber accepts), amounts have exactly the currency's decimals, and the portfolio is mixed
as real ones are (arrears of every age, some debtors without email, a few without consent)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import phonenumbers
import pytest
from clock import TEST_TODAY

from api.account_import import parse_csv
from stack import portfolio

COUNTRIES = {"CL": ("CLP", 56), "CO": ("COP", 57), "MX": ("MXN", 52), "US": ("USD", 1)}
N = 400


def rows(country: str, seed: int = 3, n: int = N) -> list[dict[str, str]]:
    return portfolio.generate(n, country, seed, TEST_TODAY)


def rut_is_valid(rut: str) -> bool:
    """An independent oracle: digits times 2, 3, 4, 5, 6, 7, 2, 3, ... from the right; 11 minus
    the sum modulo 11 is the verifier, 10 written K and 11 written 0."""
    body, verifier = rut.replace(".", "").split("-")
    weights = [2, 3, 4, 5, 6, 7] * 3
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=False))
    expected = "0123456789K0"[11 - total % 11]
    return verifier == expected


class TestImport:
    @pytest.mark.parametrize("country", COUNTRIES)
    def test_the_import_takes_every_row_as_it_is(self, country: str) -> None:
        currency = COUNTRIES[country][0]
        parsed = parse_csv(portfolio.to_csv(rows(country)).encode(), currency, today=TEST_TODAY)
        assert parsed.problems == []
        assert parsed.ignored_columns == []
        assert len(parsed.accounts) == parsed.rows == N
        assert len({a.external_id for a in parsed.accounts}) == N
        assert {a.record.snapshot.country for a in parsed.accounts} == {country}

    def test_the_csv_has_the_import_columns_in_order(self) -> None:
        header = next(csv.reader(io.StringIO(portfolio.to_csv(rows("CL", n=1)))))
        assert tuple(header) == portfolio.COLUMNS


class TestReproducible:
    @pytest.mark.parametrize("country", COUNTRIES)
    def test_the_same_seed_gives_the_same_file(self, country: str) -> None:
        assert portfolio.to_csv(rows(country, seed=5)) == portfolio.to_csv(rows(country, seed=5))

    def test_another_seed_gives_other_people(self) -> None:
        first, second = rows("CL", seed=5, n=50), rows("CL", seed=6, n=50)
        assert {r["debtor_id"] for r in first}.isdisjoint({r["debtor_id"] for r in second})
        assert [r["debtor_name"] for r in first] != [r["debtor_name"] for r in second]


class TestIds:
    def test_every_chilean_debtor_has_a_rut_with_its_check_digit(self) -> None:
        ruts = [r["debtor_id"] for r in rows("CL")]
        assert all(re.fullmatch(r"\d{1,2}\.\d{3}\.\d{3}-[0-9K]", rut) for rut in ruts), ruts[:5]
        assert all(rut_is_valid(rut) for rut in ruts)
        assert len(set(ruts)) == N

    @pytest.mark.parametrize(("body", "verifier"), [(12_345_678, "5"), (11_111_111, "1"), (76_086_428, "5")])
    def test_the_check_digit_of_known_ruts(self, body: int, verifier: str) -> None:
        assert portfolio.rut_check_digit(body) == verifier

    def test_the_check_digit_takes_every_value(self) -> None:
        verifiers = {portfolio.rut_check_digit(body) for body in range(10_000_000, 10_000_200)}
        assert verifiers == set("0123456789K")

    def test_us_debtors_get_customer_numbers_not_social_security_numbers(self) -> None:
        assert all(re.fullmatch(r"CUST-\d{8}", r["debtor_id"]) for r in rows("US"))


class TestPhones:
    @pytest.mark.parametrize("country", COUNTRIES)
    def test_every_number_is_a_valid_mobile_of_the_country(self, country: str) -> None:
        dial = COUNTRIES[country][1]
        mobile = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
        for row in rows(country):
            number = phonenumbers.parse(row["phone"])
            assert phonenumbers.is_valid_number(number), row["phone"]
            assert number.country_code == dial
            assert phonenumbers.number_type(number) in mobile, row["phone"]

    def test_chilean_numbers_are_mobiles(self) -> None:
        assert all(row["phone"].startswith("+56 9 ") for row in rows("CL"))

    def test_us_numbers_are_in_the_range_reserved_for_fiction(self) -> None:
        assert all(re.fullmatch(r"\+1 \d{3}-555-01\d{2}", row["phone"]) for row in rows("US"))


class TestMoney:
    def test_clp_amounts_have_no_decimals(self) -> None:
        for row in rows("CL"):
            assert re.fullmatch(r"[1-9]\d*", row["balance"]), row["balance"]
            assert re.fullmatch(r"[1-9]\d*", row["original_amount"])

    @pytest.mark.parametrize("country", ["MX", "US", "CO"])
    def test_two_decimal_currencies_have_exactly_two(self, country: str) -> None:
        for row in rows(country):
            assert re.fullmatch(r"[1-9]\d*\.\d\d", row["balance"]), row["balance"]

    @pytest.mark.parametrize("country", COUNTRIES)
    def test_the_original_amount_is_never_below_the_balance(self, country: str) -> None:
        generated = rows(country)
        assert all(Decimal(r["original_amount"]) >= Decimal(r["balance"]) > 0 for r in generated)
        assert any(Decimal(r["original_amount"]) > Decimal(r["balance"]) for r in generated)


class TestMixed:
    def test_arrears_of_every_age(self) -> None:
        ages = [(TEST_TODAY - date.fromisoformat(r["due_date"])).days for r in rows("CL")]
        buckets = {next(i for i, (_, low, high) in enumerate(portfolio.ARREARS) if low <= age <= high) for age in ages}
        assert buckets == set(range(len(portfolio.ARREARS)))

    @pytest.mark.parametrize("country", COUNTRIES)
    def test_some_without_email_and_a_few_without_consent(self, country: str) -> None:
        generated = rows(country)
        without_email = sum(1 for r in generated if not r["email"])
        refused = sum(1 for r in generated if r["consent"] == "no")
        assert 0.1 * N < without_email < 0.3 * N
        assert 0 < refused < 0.1 * N
        assert all(
            r["email"].endswith(("@example.com", "@example.org", "@example.net")) for r in generated if r["email"]
        )

    def test_risk_scores_spread_over_the_range(self) -> None:
        scores = [int(r["risk_score"]) for r in rows("CL")]
        assert min(scores) < 200
        assert max(scores) > 700
