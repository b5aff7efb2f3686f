"""Currencies and their minor units: the one table the product owns.

Amounts are stored and carried as integers of minor units, so the exponent that turns 150000 into
1,500.00 COP decides what a stored number means. It must never come from a library's data: CLDR
(which Babel ships) changed COP from 2 to 0 decimals between releases, and would have turned every
stored COP amount into a hundred times more money. The exponents here are ISO 4217's "minor unit"
column (List One, current codes), written out by hand; a change to them is a product decision that
needs a migration, never an upgrade. Rows and compiled strategies record the exponent they were
made with, so even a deliberate change here leaves old amounts meaning what they meant.

Deliberate deviations from ISO 4217: none. (Should one be needed, put it in DEVIATIONS with the
reason; tests/domain/test_money.py compares the table with ISO's figures and DEVIATIONS.)

Pure: standard library only.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Final

# ISO 4217 List One: alphabetic code -> minor unit (decimal places). Codes whose minor unit is
# "N.A." (precious metals, SDR and other units of account, test and "no currency" codes) are not
# money a debt can be kept in and are left out on purpose; see NOT_MONEY.
_ISO_4217: Final[dict[str, int]] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
    "BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2,
    "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2,
    "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2,
    "COU": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2,
    "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
    "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2,
    "FJD": 2, "FKP": 2,
    "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2,
    "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
    "JMD": 2, "JOD": 3, "JPY": 0,
    "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
    "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3,
    "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
    "MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2,
    "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
    "OMR": 3,
    "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0,
    "QAR": 2,
    "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0,
    "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2,
    "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2,
    "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2,
    "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2,
    "VED": 2, "VES": 2, "VND": 0, "VUV": 0,
    "WST": 2,
    "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0,
    "YER": 2,
    "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip

# Where the product knowingly differs from ISO 4217, and why. Empty: it follows ISO everywhere.
DEVIATIONS: Final[MappingProxyType[str, int]] = MappingProxyType({})

MINOR_UNITS: Final[MappingProxyType[str, int]] = MappingProxyType({**_ISO_4217, **DEVIATIONS})

# ISO 4217 codes with no minor unit ("N.A."): metals, units of account, testing and "no currency".
NOT_MONEY: Final = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)

# Codes withdrawn from ISO 4217 in recent years that a file or a library may still name; refused
# with the code that replaced them. (Older withdrawn codes are refused as unknown.)
WITHDRAWN: Final = MappingProxyType(
    {
        "ANG": "XCG",  # Netherlands Antillean guilder, replaced by the Caribbean guilder in 2025
        "BGN": "EUR",  # Bulgaria adopted the euro on 2026-01-01
        "CUC": "CUP",  # Cuba's convertible peso, out of circulation since 2021
        "HRK": "EUR",  # Croatia adopted the euro on 2023-01-01
        "MRO": "MRU",
        "SLL": "SLE",  # the redenominated leone (1,000 old = 1 new)
        "STD": "STN",
        "VEF": "VES",
        "ZWL": "ZWG",  # Zimbabwe Gold, 2024
    }
)


# Other codes currency libraries (CLDR) still list: currencies withdrawn long ago, ISO's former
# codes, and non-ISO codes such as CNH (offshore yuan). All refused as not current.
OBSOLETE: Final = frozenset(
    """
    ADP AFA ALK AOK AON AOR ARA ARL ARM ARP ATS AZM BAD BAN BEC BEF BEL BGL BGM BGO BOL BOP BRB BRC
    BRE BRN BRR BRZ BUK BYB BYR CLE CNH CSD CSK CYP DDM DEM ECS ECV EEK ESA ESB ESP FIM FRF GEK GHC
    GNS GQE GRD GWE GWP HRD IEP ILP ILR ISJ ITL KRH KRO LTL LTT LUC LUF LUL LVL LVR MAF MCF MDC MGF
    MKN MLF MTL MTP MVP MXP MZE MZM NIC NLG PEI PES PLZ PTE RHD ROL RUR SDD SDP SIT SKK SRG SUR TJR
    TMM TPE TRL UAK UGS USS UYP VEB VNN XAD XEU XFO XFU XRE YDD YUD YUM YUN YUR ZAL ZMK ZRN ZRZ ZWD ZWR
    """.split()  # noqa: SIM905 - a table to read, not a list to scan
)


class UnknownCurrency(ValueError):
    """Not a current ISO 4217 code the product keeps money in; the message says why."""


def refusal(code: str) -> str | None:
    """None when `code` is a currency the product accepts, else why not (for a person to read)."""
    if code in MINOR_UNITS:
        return None
    if code in WITHDRAWN:
        return f"{code!r} was withdrawn from ISO 4217; amounts in it are now kept in {WITHDRAWN[code]}"
    if code in NOT_MONEY:
        return f"{code!r} is an ISO 4217 metal, fund or testing code with no minor unit, not a currency for debts"
    return f"{code!r} is not an ISO 4217 currency code"


def minor_digits(code: str) -> int:
    """Decimal places of `code`'s minor unit: CLP 0, USD 2, KWD 3, CLF 4."""
    try:
        digits: int = MINOR_UNITS[code]
    except KeyError:
        raise UnknownCurrency(refusal(code)) from None
    return digits


def to_minor(amount: Decimal, code: str, digits: int | None = None) -> int:
    """Exact integer minor units of a major-unit amount (Decimal("1500.5") USD -> 150050).

    `digits` overrides the table (an amount recorded with its own exponent). ValueError when the
    amount has more decimals than the currency has or is not a finite number."""
    places = minor_digits(code) if digits is None else digits
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    sign, numerals, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    shifted = exponent + places
    if shifted < 0:
        # Trailing zeros beyond the minor unit are harmless ("1500.000" USD); other figures are not.
        dropped = numerals[shifted:]
        if any(dropped):
            allowed = "no decimals" if places == 0 else f"at most {places} decimals"
            raise ValueError(f"{amount} has more decimals than {code} allows ({allowed})")
        numerals, shifted = numerals[:shifted] or (0,), 0
    value: int = int("".join(map(str, numerals))) * 10**shifted
    return -value if sign else value


def to_major(minor: int, code: str, digits: int | None = None) -> Decimal:
    """The exact major-unit amount of integer minor units (150050 USD -> Decimal("1500.50")),
    with as many decimal places as the currency's minor unit. No rounding context is involved."""
    places = minor_digits(code) if digits is None else digits
    sign = 1 if minor < 0 else 0
    return Decimal((sign, tuple(int(c) for c in str(abs(minor))), -places))
