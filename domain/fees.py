"""Late fees and interest: exact arithmetic in minor units, and legal caps per country."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from domain.strategy import Fee, FeeCap

# Chile, Ley 19.496 art. 37 (as amended by Ley 20.715): collection fees capped progressively at
# 9% of the debt up to 10 UF, 6% of the part from 10 to 50 UF and 3% above 50 UF, and no fee in
# the first 20 days of delay. The UF moves daily; 39,700 CLP is its late-2026 order of magnitude
# and a strategy sets the current value with `fees_cap.unit_value`.
CHILE_FEE_CAP = FeeCap(
    rule="CL-$1",
    unit_minor=39_700,
    tiers=((10, "9"), (50, "6"), (None, "3")),
    min_days_past_due=20,
)

FEE_CAPS: dict[str, FeeCap] = {"CL": CHILE_FEE_CAP}


def percent_of(amount: int, percent: str) -> int:
    """`percent`% of `amount` minor units, rounded half up to a whole minor unit."""
    return int((Decimal(amount) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def requested_fee(fee: Fee, balance: int) -> int:
    return (fee.fixed_minor or 0) + (percent_of(balance, fee.percent) if fee.percent else 0)


def cap_total(cap: FeeCap, debt: int) -> int:
    """Largest total fee the cap allows on a debt of `debt` minor units (marginal tiers)."""
    total = Decimal(0)
    lower = 0
    for upper_units, percent in cap.tiers:
        upper = debt if upper_units is None else min(debt, upper_units * cap.unit_minor)
        if upper > lower:
            total += Decimal(upper - lower) * Decimal(percent) / 100
        if upper_units is not None and debt <= upper_units * cap.unit_minor:
            break
        lower = upper
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
