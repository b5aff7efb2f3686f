"""Amounts a person types on the command line, read exactly into integer minor units.

An amount is in major units with a point for decimals ("50000", "1500.50"), optionally with its
currency code before or after it ("50000 CLP", "USD1500.50"). Grouping separators are refused:
"50.000" means fifty thousand pesos to a Chilean and fifty to Python, so for a currency without
decimals (CLP) a point is refused too, rather than guessed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from domain.money import UnknownCurrency, minor_digits, to_minor

AMOUNT = re.compile(r"\s*(?:(?P<before>[A-Za-z]{3})\s*)?(?P<number>[0-9][0-9.,_]*)\s*(?P<after>[A-Za-z]{3})?\s*")


class BadAmount(ValueError):
    """The text is not an amount in the currency; the message says why and how to write it."""


def currency_of(text: str) -> str | None:
    """The currency code written with the amount, if any."""
    match = AMOUNT.fullmatch(text)
    code = (match["before"] or match["after"]) if match else None
    return code.upper() if code else None


def to_minor_units(text: str, currency: str) -> int:
    """`text` in minor units of `currency`: '1500.50' USD -> 150050, '50000 CLP' -> 50000."""
    match = AMOUNT.fullmatch(text)
    if match is None:
        raise BadAmount(f"{text!r} is not an amount; write it like 50000 or 1500.50, optionally with its currency")
    written = currency_of(text)
    if written is not None and written != currency:
        raise BadAmount(f"{text!r} is in {written}, but the account is in {currency}")
    number = match["number"]
    try:
        digits = minor_digits(currency)
    except UnknownCurrency as exc:
        raise BadAmount(str(exc)) from None
    if "," in number or "_" in number or number.count(".") > 1 or (digits == 0 and "." in number):
        example = "50000" if digits == 0 else "1500." + "5" * digits
        raise BadAmount(f"{text!r}: write {currency} amounts without thousands separators, like {example}")
    try:
        minor = to_minor(Decimal(number), currency)
    except (InvalidOperation, ValueError) as exc:
        raise BadAmount(f"{text!r}: {exc}") from None
    if minor <= 0:
        raise BadAmount(f"{text!r}: the amount must be more than zero")
    return minor
