"""Synthetic portfolios of overdue accounts that the API's account import takes as they are:
real-looking people from Faker's es_CL, es_CO, es_MX and en_US providers, with national ids (a
Chilean RUT with its check digit, a Colombian cédula, a Mexican CURP; US debtors get a customer
number, never a social security number), mobile numbers that libphonenumber accepts, balances in
the local currency with exactly its minor units (CLP has none), mixed days past due, risk scores,
some debtors without email and a few who gave no consent.

The same seed and day give the same file. A drawn amount becomes integer minor units at once and
is written in major units from them (domain.money.to_major), never through a float. Emails use
the reserved example domains, and `collect up` seeds the demo only while every channel is a
sandbox: the phone numbers are valid, so some may belong to real people.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import phonenumbers
from faker import Faker

from api.account_import import REGIONS, region_zone
from domain.money import minor_digits, to_major

COLUMNS = (
    "account_id",
    "debtor_id",
    "debtor_name",
    "country",
    "region",
    "locale",
    "currency",
    "balance",
    "original_amount",
    "due_date",
    "email",
    "phone",
    "whatsapp",
    "consent",
    "postal_address",
    "tags",
    "risk_score",
    "payments_count",
    "promises_kept",
    "promises_broken",
)
# Days past due: (share, fewest, most); early arrears are the bulk of any portfolio.
ARREARS = ((0.40, 1, 30), (0.25, 31, 60), (0.15, 61, 90), (0.12, 91, 180), (0.08, 181, 720))
WITHOUT_EMAIL = 0.2
WITHOUT_CONSENT = 0.04
WITH_WHATSAPP = 0.4
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")  # RFC 2606: never anyone's mailbox


@dataclass(frozen=True)
class Country:
    """What makes a portfolio of one country look like one."""

    faker_locale: str
    locale: str  # the product's (templates are chosen by it)
    currency: str
    dial_code: str
    mobile: Callable[[random.Random], str]  # a candidate national number; invalid ones are drawn again
    national_id: Callable[[Faker, random.Random], str]
    place: Callable[[Faker], tuple[str, str]]  # (city or commune, region)
    yes: str
    no: str
    products: tuple[str, ...]
    median_balance: int  # major units
    highest_balance: int  # major units
    whole_units: bool  # debts kept in whole units even where the currency has cents (COP)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def rut_check_digit(body: int) -> str:
    """The RUT's verifier: modulo 11 of the digits weighted 2, 3, ... 7 from the right."""
    total, weight = 0, 2
    while body:
        total += (body % 10) * weight
        body //= 10
        weight = 2 if weight == 7 else weight + 1
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def _rut(_fake: Faker, rng: random.Random) -> str:
    body = rng.randint(5_000_000, 26_000_000)  # people's RUTs; companies' start at 50 million
    return f"{body:,}".replace(",", ".") + "-" + rut_check_digit(body)


def _cl_place(fake: Faker) -> tuple[str, str]:
    commune, region = str(fake.commune_and_region()).split(", ", 1)
    return commune, region


def _us_mobile(rng: random.Random) -> str:
    # 555-0100 to 555-0199 are reserved for fiction in every US area code.
    return (
        rng.choice(("212", "312", "415", "617", "713", "305", "206", "404", "602", "303")) + "55501" + _digits(rng, 2)
    )


COUNTRIES: dict[str, Country] = {
    "CL": Country(
        faker_locale="es_CL",
        locale="es-CL",
        currency="CLP",
        dial_code="+56",
        mobile=lambda rng: "9" + _digits(rng, 8),
        national_id=_rut,
        place=_cl_place,
        yes="sí",
        no="no",
        products=("tarjeta", "consumo", "linea_credito", "retail"),
        median_balance=350_000,
        highest_balance=6_000_000,
        whole_units=True,
    ),
    "CO": Country(
        faker_locale="es_CO",
        locale="es-CO",
        currency="COP",
        dial_code="+57",
        mobile=lambda rng: (
            rng.choice(("300", "301", "310", "311", "312", "313", "315", "316", "320", "350")) + _digits(rng, 7)
        ),
        national_id=lambda fake, _rng: str(fake.nuip()),
        place=lambda fake: (str(fake.municipality()), str(fake.department())),
        yes="sí",
        no="no",
        products=("tarjeta", "libre_inversion", "microcredito"),
        median_balance=1_800_000,
        highest_balance=40_000_000,
        whole_units=True,
    ),
    "MX": Country(
        faker_locale="es_MX",
        locale="es-MX",
        currency="MXN",
        dial_code="+52",
        mobile=lambda rng: rng.choice(("55", "33", "81", "222", "442", "477", "614", "999")) + _digits(rng, 8),
        national_id=lambda fake, _rng: str(fake.curp()),
        place=lambda fake: (str(fake.city()), str(fake.administrative_unit())),
        yes="sí",
        no="no",
        products=("tarjeta", "personal", "nomina"),
        median_balance=9_000,
        highest_balance=250_000,
        whole_units=False,
    ),
    "US": Country(
        faker_locale="en_US",
        locale="en-US",
        currency="USD",
        dial_code="+1",
        mobile=_us_mobile,
        national_id=lambda _fake, rng: f"CUST-{_digits(rng, 8)}",
        place=lambda fake: (str(fake.city()), str(fake.state_abbr(include_territories=False))),
        yes="yes",
        no="no",
        products=("credit_card", "personal_loan", "medical", "auto"),
        median_balance=1_200,
        highest_balance=35_000,
        whole_units=False,
    ),
}


def generate(accounts: int, country: str, seed: int, today: date) -> list[dict[str, str]]:
    """`accounts` rows of `country` (CL, CO, MX or US) as the import reads them; `today` dates the
    arrears. The same arguments give the same rows."""
    if country not in COUNTRIES:
        raise ValueError(f"unknown country {country!r}: expected one of {', '.join(COUNTRIES)}")
    if accounts < 1:
        raise ValueError("a portfolio needs at least one account")
    profile = COUNTRIES[country]
    fake = Faker(profile.faker_locale)
    fake.seed_instance(seed)
    rng = random.Random(f"{country}:{seed}")
    account_ids: set[str] = set()
    people: set[str] = set()
    return [_row(profile, country, fake, rng, today, account_ids, people) for _ in range(accounts)]


def _row(
    profile: Country,
    country: str,
    fake: Faker,
    rng: random.Random,
    today: date,
    account_ids: set[str],
    people: set[str],
) -> dict[str, str]:
    account_id = _unique(account_ids, lambda: _digits(rng, 10).lstrip("0").rjust(10, "1"))
    debtor_id = _unique(people, lambda: profile.national_id(fake, rng))
    first = str(fake.first_name())
    last = str(fake.last_name()) if profile.faker_locale == "en_US" else f"{fake.last_name()} {fake.last_name()}"
    days_past_due = _days_past_due(rng)
    balance = _balance(profile, rng)
    paid_before = rng.random() < 0.3
    original = balance + (_partial(profile, rng, balance) if paid_before else 0)
    phone = _mobile(profile, country, rng)
    has_email = rng.random() >= WITHOUT_EMAIL
    consent = profile.no if rng.random() < WITHOUT_CONSENT else profile.yes
    city, region = _place(profile, country, fake)
    risk = min(999, max(0, int(rng.gauss(250 + days_past_due * 1.5, 140))))
    promises_broken = rng.choice((0, 0, 0, 1, 1, 2)) if days_past_due > 30 else 0
    return {
        "account_id": account_id,
        "debtor_id": debtor_id,
        "debtor_name": f"{first} {last}",
        "country": country,
        "region": region,
        "locale": profile.locale,
        "currency": profile.currency,
        "balance": str(to_major(balance, profile.currency)),
        "original_amount": str(to_major(original, profile.currency)),
        "due_date": (today - timedelta(days=days_past_due)).isoformat(),
        "email": _email(first, last, rng) if has_email else "",
        "phone": phone,
        "whatsapp": phone if rng.random() < WITH_WHATSAPP and country != "US" else "",
        "consent": consent,
        "postal_address": f"{fake.street_address()}, {city}, {region}",
        "tags": ";".join(
            rng.sample(profile.products, 1) + (["reprogramado"] if paid_before and rng.random() < 0.3 else [])
        ),
        "risk_score": str(risk),
        "payments_count": str(rng.randint(1, 6) if paid_before else 0),
        "promises_kept": str(rng.choice((0, 0, 1)) if paid_before else 0),
        "promises_broken": str(promises_broken),
    }


def _unique(seen: set[str], draw: Callable[[], str]) -> str:
    for _ in range(1000):
        value = draw()
        if value not in seen:
            seen.add(value)
            return value
    raise RuntimeError("could not draw a unique value in 1000 tries")


def _days_past_due(rng: random.Random) -> int:
    pick = rng.random()
    for share, fewest, most in ARREARS:
        if pick < share:
            return rng.randint(fewest, most)
        pick -= share
    return rng.randint(ARREARS[-1][1], ARREARS[-1][2])


def _balance(profile: Country, rng: random.Random) -> int:
    """A balance in minor units: log-normal around the country's median, within its range."""
    major = min(
        profile.highest_balance,
        max(profile.median_balance // 20, int(rng.lognormvariate(0, 0.9) * profile.median_balance)),
    )
    scale: int = 10 ** minor_digits(profile.currency)
    if profile.whole_units:
        return (major // 10 * 10 or 10) * scale  # whole pesos, rounded to tens as statements show them
    return major * scale + rng.randint(0, scale - 1)


def _partial(profile: Country, rng: random.Random, balance: int) -> int:
    """What was already paid, in minor units; whole units where the debt is kept in them."""
    paid = balance * rng.randint(5, 40) // 100
    if profile.whole_units:
        unit: int = 10 ** minor_digits(profile.currency)
        paid -= paid % unit
    return paid


def _mobile(profile: Country, country: str, rng: random.Random) -> str:
    wanted = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    for _ in range(200):
        number = phonenumbers.parse(profile.dial_code + profile.mobile(rng))
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in wanted:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    raise RuntimeError(f"drew no valid {country} mobile number in 200 tries")


def _place(profile: Country, country: str, fake: Faker) -> tuple[str, str]:
    """A place whose region the import puts in one time zone (Texas or Tamaulipas keep two: drawn
    again). Countries the import has no regions for have one zone."""
    for _ in range(200):
        city, region = profile.place(fake)
        known, zone = region_zone(country, region) if country in REGIONS else (True, "")
        if known and zone is not None:
            return city, region
    raise RuntimeError(f"drew no {country} region with one time zone in 200 tries")


def _email(first: str, last: str, rng: random.Random) -> str:
    def plain(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c for c in folded.lower() if c.isalnum())

    local = rng.choice((f"{plain(first)}.{plain(last.split()[0])}", f"{plain(first)[:1]}{plain(last)}"))
    return f"{local}{rng.randint(1, 99)}@{rng.choice(EXAMPLE_DOMAINS)}"


def to_csv(rows: list[dict[str, str]], columns: Sequence[str] | None = None) -> str:
    """The rows as the CSV file the import reads (header first): the generator's columns, or
    `columns`, or (an empty list) every column the rows name, in the order first named."""
    names = list(COLUMNS if columns is None else columns or dict.fromkeys(name for r in rows for name in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
