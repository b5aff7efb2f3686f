"""Amounts people type into the console's forms (major units, as they read money) as exact minor
units: the agents' promise and plan forms and the supervisors' refund form read them alike."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.money import to_minor
from services.errors import Field, Invalid


def minor_of(text: str, currency: str, pointer: str) -> int:
    """An amount typed in major units ("150000", "1500.50") as exact minor units; Invalid (naming
    the form field at `pointer`) when it is not one or not more than zero."""
    try:
        amount = Decimal(text.strip())
        minor = to_minor(amount, currency)
    except (InvalidOperation, ValueError):
        raise Invalid(
            f"{text!r} is not an amount in {currency}.", fields=[Field(pointer, "an amount like 1500")]
        ) from None
    if minor <= 0:
        raise Invalid("Amounts are more than zero.", fields=[Field(pointer, "more than zero")])
    return minor
