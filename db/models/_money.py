"""The minor-unit exponent stored beside every amount's currency.

An amount is an integer of minor units; what it means depends on the exponent (150000 COP is
1,500.00 with 2, 150,000 with 0). Each row records the exponent it was written with, from the
product's ISO 4217 table (`domain.money`), so a later change of that table never changes old rows.
"""

from __future__ import annotations

from sqlalchemy import SmallInteger
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from domain.money import minor_digits


def _from_table(context: DefaultExecutionContext) -> int:
    parameters: dict[str, object] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return minor_digits(str(parameters["currency"]))


def currency_digits() -> Mapped[int]:
    """A NOT NULL exponent column that an insert fills from the row's `currency` unless given."""
    return mapped_column(SmallInteger, default=_from_table)
