"""Message templates: Jinja2's immutable sandbox, strict about unknown variables, with Babel
filters that format money and dates for the debtor's locale (es-CL: $150.000; en-US: $1,500.00).

Money shows as many decimals as the product's own ISO 4217 table gives the currency
(`domain.money`), never CLDR's idea of them: Babel lends only the locale's symbols and separators.

The compiler renders every template once against an example context, so an unknown variable,
attribute or filter is a compile error, not a failed send weeks later. Rendering is bounded in
work, loops and size (`strategies.sandbox`), at compile time and at send time alike; at send time
a wall-clock safety net stands behind those bounds.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern
from jinja2 import StrictUndefined, Template

from domain.money import minor_digits, to_major
from strategies.limits import SEND_RENDER_SAFETY_SECONDS
from strategies.sandbox import BoundedSandbox, render_bounded

# The variables a template may use; the example values double as compile-time checks.
EXAMPLE_CONTEXT: dict[str, Any] = {
    "debtor": {"name": "Ana Pérez", "first_name": "Ana"},
    "account": {
        "id": "ACC-1",
        "balance": 150000,
        "original_amount": 200000,
        "currency": "CLP",
        "due_date": date(2026, 11, 1),
        "days_past_due": 21,
        "unpaid_dues": 1,
        "oldest_unpaid_due": date(2026, 11, 1),
    },
    # The account's dues, oldest first (`domain.dues`): the debt summary's table. `amount` and
    # `paid_amount` are minor units, shown with `| money` like every amount.
    "dues": [
        {"number": 1, "due_date": date(2026, 10, 1), "amount": 100000, "paid_amount": 100000, "paid": True},
        {"number": 2, "due_date": date(2026, 11, 1), "amount": 100000, "paid_amount": 50000, "paid": False},
    ],
    "creditor": {"name": "Acme", "phone": "+56 2 2123 4567", "email": "cobranza@acme.example"},
    "payment_link": "https://pay.example/ACC-1",
    "opt_out_link": "https://pay.example/ACC-1/stop",
    "promise": {"amount": 50000, "due": date(2026, 12, 1)},
    "offer": {
        "max_installments": "6",
        "min_down_payment_pct": "10",
        "frequencies": "monthly",
        "discount_pct": "20",
        "amount_due": "120000",
        "expires_at": "2026-12-01T12:00:00+00:00",
    },
    "fees": {"total": 5000},
    "interest": {"total": 1200},
    "today": date(2026, 11, 22),
}


def babel_locale(locale: str) -> str:
    return locale.replace("-", "_")


def money(amount_minor: int | str, currency: str, locale: str, digits: int | None = None) -> str:
    """Integer minor units -> '$150.000' (es-CL, CLP) or '$1,500.00' (en-US, USD).

    `digits`: the exponent recorded with the amount; by default the product's table."""
    places = minor_digits(currency) if digits is None else digits
    value = to_major(int(amount_minor), currency, places)
    return str(
        _pattern(babel_locale(locale), places).apply(value, babel_locale(locale), currency, currency_digits=False)
    )


@lru_cache(maxsize=256)
def _pattern(locale: str, places: int) -> NumberPattern:
    """The locale's currency pattern with exactly `places` decimals (the table's, not CLDR's)."""
    shared = Locale.parse(locale).currency_formats["standard"]  # Babel's own object: copy, never change
    return NumberPattern(
        shared.pattern,
        shared.prefix,
        shared.suffix,
        shared.grouping,
        shared.int_prec,
        (places, places),
        shared.exp_prec,
        shared.exp_plus,
        shared.number_pattern,
    )


@lru_cache(maxsize=64)
def environment(locale: str, currency: str, digits: int | None = None) -> BoundedSandbox:
    env = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    loc = babel_locale(locale)

    def _money(amount: int | str) -> str:
        return money(amount, currency, locale, digits)

    def _date(value: date | datetime | str, fmt: str = "long") -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return str(format_datetime(value, fmt, locale=loc))
        return str(format_date(value, fmt, locale=loc))

    env.filters["money"] = _money
    env.filters["date"] = _date
    env.finalize_filters()
    return env


def check_locale(locale: str) -> str | None:
    """None when Babel knows the locale, else the reason."""
    try:
        Locale.parse(babel_locale(locale))
    except (ValueError, TypeError) as exc:  # babel's UnknownLocaleError is an Exception subclass only
        return str(exc)
    except Exception as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1024)
def compile_template(source: str, locale: str, currency: str, digits: int | None = None) -> Template:
    """The compiled template, kept: every send of a strategy renders the same few templates, and
    compiling one cost more than rendering it (5% of a worker's time on first turns). A compiled
    template is immutable; each render keeps its own budget (`strategies.sandbox`)."""
    return environment(locale, currency, digits).from_string(source)


def render(source: str, locale: str, currency: str, context: dict[str, Any], digits: int | None = None) -> str:
    """Render one message; raises sandbox.TemplateTooCostly past the work or size limits, and
    sandbox.RenderTookTooLong past the SEND_RENDER_SAFETY_SECONDS safety net."""
    template = compile_template(source, locale, currency, digits)
    return render_bounded(template, context, seconds=SEND_RENDER_SAFETY_SECONDS)
