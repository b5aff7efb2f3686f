"""Money as strategists write it: `"5,000.00 MXN"` in a strategy's amounts, `money("5,000.00")` in
its conditions; both in major units, read exactly into integer minor units with the product's own
ISO 4217 exponents (`domain.money`), never through a float.

One way to write a number: a comma between thousands (optional) and a point before the decimals,
at most as many decimals as the currency has. "5.000" is five thousand to a Chilean and five to
everyone else, so a point is refused in a currency without decimals (CLP), and so are more decimals
than the currency has even when they are zeros, rather than guessed. An amount is refused in a
currency other than the strategy's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from domain.money import MINOR_UNITS, minor_digits, to_major, to_minor
from strategies.rendering import check_locale, money

_AMOUNT = re.compile(
    r"^(?:(?P<before>[A-Za-z]{3})\s*)?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?"
    r"(?:\s*(?P<after>[A-Za-z]{3}))?$"
)
_EUROPEAN = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$|^\d+,\d{1,2}$")


class BadAmount(ValueError):
    """The text is not an amount; the message says why and how to write it."""


@dataclass(frozen=True)
class WrittenAmount:
    """An amount as written: its figure in major units and the currency written with it, if any."""

    text: str
    number: Decimal
    decimals: int
    currency: str | None


def read(text: str) -> WrittenAmount:
    """The shape of an amount, without its currency's rules (those need the strategy: `to_minor_units`)."""
    stripped = text.strip()
    match = _AMOUNT.fullmatch(stripped)
    if match is None:
        bare = re.sub(r"\s*[A-Za-z]{3}\s*", "", stripped)
        if _EUROPEAN.fullmatch(bare):
            raise BadAmount(
                f"cannot read {text!r} as an amount: write a comma between thousands and a point before the "
                "decimals, such as 5,000.00"
            )
        raise BadAmount(f"cannot read {text!r} as an amount; write it like 5,000.00 with its currency code")
    code = match["before"] or match["after"]
    if match["before"] and match["after"]:
        raise BadAmount(f"{text!r} names a currency twice; write it once, after the amount")
    decimals = match["decimals"] or ""
    number = Decimal(match["whole"].replace(",", "") + ("." + decimals if decimals else ""))
    return WrittenAmount(stripped, number, len(decimals), code.upper() if code else None)


def to_minor_units(written: WrittenAmount, currency: str) -> int:
    """`written` in minor units of the strategy's `currency`; BadAmount when the currency differs
    or the figure has more decimals than the currency has."""
    if written.currency is not None and written.currency != currency:
        raise BadAmount(f"{written.text!r} is in {written.currency}, but the strategy's currency is {currency}")
    digits = minor_digits(currency)
    if written.decimals > digits:
        allowed = "no decimals" if digits == 0 else f"{digits} decimals"
        whole = f"{int(written.number * 10**written.decimals):,}"
        hint = (
            f"; if {whole} {currency} was meant, write {whole} (a comma between thousands)"
            if digits == 0 and written.decimals == 3
            else ""
        )
        raise BadAmount(f"{written.text!r} has {written.decimals} decimals, but {currency} has {allowed}{hint}")
    return to_minor(written.number, currency)


def plain(minor: int, currency: str) -> str:
    """Minor units as a strategist writes them: 500000 MXN -> '5,000.00'."""
    return f"{to_major(minor, currency):,}"


@dataclass(frozen=True)
class Currency:
    """A strategy's currency, and the locale its strategists read amounts in."""

    code: str
    locale: str
    digits: int | None = None  # the exponent recorded with the amounts shown, else the product's table

    @property
    def known(self) -> bool:
        return self.code in MINOR_UNITS

    def minor(self, written: WrittenAmount) -> int:
        return to_minor_units(written, self.code)

    def shown(self, minor: int) -> str:
        """`minor` formatted for the locale ('$5.000' for CLP in es-CL), else written plainly."""
        if not self.known and self.digits is None:
            return f"{minor} {self.code} (minor units)"
        if check_locale(self.locale) is None:
            return money(minor, self.code, self.locale, self.digits)
        return f"{to_major(minor, self.code, self.digits):,} {self.code}"  # the locale is the strategy's error
