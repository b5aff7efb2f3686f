"""Interest that accrues over time on an account's principal, and each country's legal ceiling.

A strategy may declare a rate per day or per month (`Interest`). The interpreter counts it at each
turn (`accrue`), in the debtor's local calendar, and charges it to the balance:

- **Simple interest on the principal.** The principal is what the account owes apart from the fees
  and the interest the campaign charged (`principal`): interest never bears interest and fees never
  bear interest. Payments count against the principal first, the reading that favours the debtor;
  a creditor whose contracts impute payments to interest first (Chile's Código Civil art. 1595)
  charges a little more than this computes, never less.
- **Days in the debtor's calendar.** A daily rate is charged once per local day that has ended; a
  monthly rate once per calendar month, on each monthly anniversary of the day counting began
  (Jan 31 -> Feb 28 or 29 -> Mar 31, as waits count months). A day is a calendar day whatever its
  length (23 or 25 hours across a DST change count as one day), so DST never moves an amount.
- **Exact, then rounded down.** A rate has at most four decimals of a percent, so the interest of
  one day or month on a whole number of minor units is an exact number of millionths of a minor unit
  (`MICRO`). The state keeps that exact sum (`interest_accrued`) and the balance is charged its whole
  minor units, rounded down; the fraction stays accrued and is charged once it makes a whole unit.
  So the total charged is never more than the exact interest and never a whole unit less, and it
  does not depend on how often the account had a turn.
- **From when.** Counting starts `after_days` days past the due date, and never before the account
  entered the campaign (or first met a strategy with interest): the imported balance is what the
  creditor says is owed that day, interest already included. While a dispute holds the account,
  nothing accrues; days in dispute are never charged.

Pure: standard library and pydantic only; no float anywhere.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Literal

from pydantic import Field

from domain.frozen import Frozen

# The exact interest is kept in millionths of a minor unit: a rate of at most RATE_DECIMALS decimals
# of a percent times a whole number of minor units is a whole number of them.
MICRO = 10**6
RATE_DECIMALS = 4
DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12

Per = Literal["day", "month"]


class Interest(Frozen):
    """A strategy's interest: `rate` percent of the principal per `per`, from `after_days` past due."""

    rate: str  # percent per period, a decimal string with at most RATE_DECIMALS decimals
    per: Per
    after_days: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class Ceiling:
    """A country's legal maximum interest rate, as a yearly rate: `basis` says how a year's rate
    relates to a month's or a day's (a nominal rate divides; an effective one compounds)."""

    rule: str
    name: str
    annual_pct: str
    basis: Literal["nominal", "effective"]
    as_of: str  # when the figure was in force, as its source gives it
    source: str


# Chile, Ley 18.010 arts. 6 and 8: no interest may exceed the maximum conventional rate (tasa máxima
# convencional, TMC), which the CMF certifies each month (Diario Oficial, first fortnight) and which
# also bounds default interest. Segment: non-adjustable operations in pesos, 90 days or more, up to
# 50 UF (consumer debts in collection mostly sit there); its annual figure is nominal (the CMF's
# monthly figure is the annual one divided by 12). 36.2% a year was the figure in force in January
# 2018 (La Tercera, "TMC tocó menor nivel en 2017 desde ajuste legal",
# https://latercera.com/negocios/noticia/tmc-toco-menor-nivel-2017-desde-ajuste-legal/51041; SERNAC's
# table, https://www.sernac.cl/portal/619/w3-article-7105.html, has the series). It is the latest
# dated figure this project could source and it is certainly out of date: the TMC moves every month.
# A strategy states the figure in force with `policy.interest_ceiling` (validate warns until it does).
CHILE_TMC = Ceiling(
    rule="CL-I1",
    name="Chile's maximum conventional rate (TMC)",
    annual_pct="36.2",
    basis="nominal",
    as_of="2018-01",
    source="https://latercera.com/negocios/noticia/tmc-toco-menor-nivel-2017-desde-ajuste-legal/51041",
)

# Colombia, Código de Comercio art. 884 and Código Penal art. 305: remunerative and default interest
# may not exceed the usury rate, 1.5 times the interés bancario corriente the Superintendencia
# Financiera certifies each month. Consumer and ordinary credit, December 2025: 25.02% effective
# annual (Resolución 2134 de 2025, in force 1-31 Dec 2025; infobae, 2025-11-29,
# https://www.infobae.com/colombia/2025/11/29/si-piensa-usar-su-tarjeta-de-credito-en-diciembre-tenga-en-cuenta-que-la-superintendencia-financiera-aumento-la-tasa-de-usura/).
# It changes monthly: a strategy states the current one with `policy.interest_ceiling`.
COLOMBIA_USURY = Ceiling(
    rule="CO-I1",
    name="Colombia's usury rate (tasa de usura)",
    annual_pct="25.02",
    basis="effective",
    as_of="2025-12",
    source="https://www.infobae.com/colombia/2025/11/29/si-piensa-usar-su-tarjeta-de-credito-en-diciembre-tenga-en-cuenta-que-la-superintendencia-financiera-aumento-la-tasa-de-usura/",
)

# Presets with no single legal maximum encoded, on purpose:
# - Mexico: no statutory cap on agreed interest; the Supreme Court (jurisprudencia 1a./J. 46/2014)
#   lets a judge reduce interest that is usurious case by case. Nothing here to compare with.
# - United States: usury limits are state law and differ by state, lender type and loan; Reg F sets
#   none. A strategy that knows its state's figure states it with `policy.interest_ceiling`.
# - Peru, Argentina, Brazil: not sourced for this product (Peru's BCRP publishes caps for consumer
#   credit and for operations outside the financial system; Brazil's Código Civil art. 406 ties
#   default interest to the Selic). Until they are, a strategy states its ceiling itself.
CEILINGS: dict[str, Ceiling] = {"CL": CHILE_TMC, "CO": COLOMBIA_USURY}


def rate_units(rate: str) -> int:
    """The rate in ten-thousandths of a percent ('0.0657' -> 657); ValueError past RATE_DECIMALS."""
    scaled = Decimal(rate) * 10**RATE_DECIMALS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{rate}% has more than {RATE_DECIMALS} decimals")
    return int(scaled)


def period_ceiling(annual_pct: str, basis: Literal["nominal", "effective"], per: Per) -> Decimal:
    """The most a period may bear, in percent, under a yearly ceiling: a nominal yearly rate divided
    by the periods in a year; an effective one compounded down ((1 + y)^(1/n) - 1), which is lower,
    so a simple rate within it is within the ceiling however the authority compares. Computed at a
    fixed precision (only the compiler calls it), so the same ceiling gives the same answer."""
    periods = DAYS_PER_YEAR if per == "day" else MONTHS_PER_YEAR
    with localcontext() as ctx:
        ctx.prec = 28
        yearly = Decimal(annual_pct) / 100
        if basis == "nominal":
            return yearly / periods * 100
        return ((1 + yearly) ** (Decimal(1) / periods) - 1) * 100


def principal(balance: int, fees_total: int, interest_total: int) -> int:
    """What bears interest: the balance without the campaign's fees and interest (never negative)."""
    return max(0, balance - fees_total - interest_total)


def months_between(anchor: date, day: date) -> int:
    """Monthly anniversaries of `anchor` on or before `day` (Jan 31 -> Feb 28 is one)."""
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    if months > 0 and _anniversary(anchor, months) > day:
        months -= 1
    return max(0, months)


def _anniversary(anchor: date, months: int) -> date:
    month = anchor.month - 1 + months
    year, month = anchor.year + month // 12, month % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Accrual:
    """The account's interest after a turn: the exact sum in millionths, what is charged in whole
    minor units, and the local days counting began and has reached."""

    accrued: int
    charged: int
    start: date
    counted: date

    @property
    def charge(self) -> int:
        """Whole minor units now due beyond what was charged before."""
        return self.accrued // MICRO - self.charged


def accrue(
    rule: Interest,
    *,
    principal_minor: int,
    accrued: int,
    charged: int,
    start: date | None,
    counted: date | None,
    due_date: date,
    today: date,
    suspended: bool = False,
) -> Accrual:
    """Interest from `counted` to `today` (local days) on `principal_minor`, which stood still since
    the last turn. `start`/`counted` None: counting begins today. `suspended` (a dispute): the
    days pass uncharged."""
    first = date.fromordinal(due_date.toordinal() + rule.after_days)
    if start is None or counted is None:
        begin = max(first, today)
        return Accrual(accrued, charged, begin, begin)
    if suspended or today <= counted:
        return Accrual(accrued, charged, start, max(counted, today))
    begin = max(start, first)
    if rule.per == "day":
        periods = max(0, (today - max(counted, begin)).days)
    else:
        periods = months_between(begin, today) - months_between(begin, max(counted, begin))
    added = principal_minor * rate_units(rule.rate) * periods
    return Accrual(accrued + added, charged, start, today)
